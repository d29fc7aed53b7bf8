package io.warden.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.postgres.PostgresCtl.LocalServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link PostgresCtl#writeConfig} puts into warden.conf: Warden's defaults, and the cluster's parameters over them. */
class PostgresCtlConfigTest {
    private static final LocalServer NODE = new LocalServer("node-1", "127.0.0.1", 5601, false);

    @TempDir
    Path dir;

    @Test
    void aStuckReplicasSlotMayHoldBackOnlyBoundedWal() throws IOException {
        assertThat(written(Map.of())).contains("max_slot_wal_keep_size = '10GB'\n");
    }

    @Test
    void theClustersParametersOverrideTheSlotWalLimit() throws IOException {
        assertThat(written(Map.of("max_slot_wal_keep_size", "-1")))
                .contains("max_slot_wal_keep_size = '-1'\n")
                .doesNotContain("10GB");
    }

    private String written(Map<String, String> parameters) throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        PostgresCtl ctl = new PostgresCtl(dir.resolve("bin"), data, dir.resolve("work"), null);
        ctl.writeConfig(NODE, parameters, Optional.empty(), java.util.Set.of("127.0.0.1"));
        return Files.readString(data.resolve(PostgresCtl.NODE_CONF));
    }

    @Test
    void pgHbaLetsReplicationInOnlyFromTheMembersAndEverythingElseOnlyByScram() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        PostgresCtl ctl = new PostgresCtl(dir.resolve("bin"), data, dir.resolve("work"), null);

        boolean first = ctl.writeConfig(
                NODE, Map.of(), Optional.empty(), java.util.Set.of("10.1.1.2", "10.1.2.2", "fd00::3", "db-3"));
        String hba = Files.readString(data.resolve("pg_hba.conf"));

        assertThat(first).isTrue();
        assertThat(hba.lines().filter(l -> l.startsWith("host    replication")))
                .containsExactly(
                        "host    replication  replicator  10.1.1.2/32        scram-sha-256",
                        "host    replication  replicator  10.1.2.2/32        scram-sha-256",
                        "host    replication  replicator  db-3               scram-sha-256",
                        "host    replication  replicator  fd00::3/128        scram-sha-256");
        assertThat(hba.lines().filter(l -> !l.startsWith("#") && !l.isBlank()))
                .allSatisfy(l -> assertThat(l).endsWith(l.startsWith("local") ? "peer" : "scram-sha-256"));
        assertThat(hba).doesNotContain("trust").doesNotContain("md5");
        assertThat(Files.readString(data.resolve(PostgresCtl.NODE_CONF)))
                .contains("password_encryption = 'scram-sha-256'\n");
    }

    @Test
    void aChangeOfMembersAloneRewritesPgHbaAndAsksForAReload() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        PostgresCtl ctl = new PostgresCtl(dir.resolve("bin"), data, dir.resolve("work"), null);
        ctl.writeConfig(NODE, Map.of(), Optional.empty(), java.util.Set.of("10.1.1.2"));

        assertThat(ctl.writeConfig(NODE, Map.of(), Optional.empty(), java.util.Set.of("10.1.1.2")))
                .as("nothing changed")
                .isFalse();
        assertThat(ctl.writeConfig(NODE, Map.of(), Optional.empty(), java.util.Set.of("10.1.1.2", "10.1.3.2")))
                .as("a member joined")
                .isTrue();
        assertThat(Files.readString(data.resolve("pg_hba.conf"))).contains("10.1.3.2/32");
    }

    @Test
    void withPgextwlistInstalledItLoadsFirstAtServerStartWithTheAllowlistAndItsScripts() throws IOException {
        Files.createDirectories(dir.resolve("lib"));
        Files.writeString(dir.resolve("lib/pgextwlist.so"), "");

        String conf = written(Map.of(
                "shared_preload_libraries", "pg_stat_statements, pg_cron",
                "extwlist.extensions", "hypopg,pg_cron"));

        assertThat(conf)
                .contains("shared_preload_libraries = 'pgextwlist,pg_stat_statements,pg_cron'\n")
                .contains("extwlist.extensions = 'hypopg,pg_cron'\n")
                .contains("extwlist.custom_path = '" + dir.resolve("work/extensions") + "'\n");
        assertThat(dir.resolve("work/extensions/pg_cron/before-create.sql")).exists();
        assertThat(dir.resolve("work/extensions/hypopg/before-update.sql")).exists();

        written(Map.of("extwlist.extensions", "hypopg"));
        assertThat(dir.resolve("work/extensions/pg_cron"))
                .as("no longer allowlisted")
                .doesNotExist();
    }

    @Test
    void withoutPgextwlistTheAllowlistIsLeftOutSoPostgresStillStarts() throws IOException {
        String conf =
                written(Map.of("shared_preload_libraries", "pg_stat_statements", "extwlist.extensions", "hypopg"));

        assertThat(conf)
                .contains("shared_preload_libraries = 'pg_stat_statements'\n")
                .doesNotContain("extwlist");
    }
}
