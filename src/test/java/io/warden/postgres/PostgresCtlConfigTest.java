package io.warden.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.postgres.PostgresCtl.LocalServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
        PostgresCtl ctl =
                new PostgresCtl(dir.resolve("bin"), data, dir.resolve("work"), null, java.util.Optional.empty());
        ctl.writeConfig(NODE, parameters, Optional.empty(), java.util.Set.of("127.0.0.1"));
        return Files.readString(data.resolve(PostgresCtl.NODE_CONF));
    }

    @Test
    void pgHbaLetsReplicationInOnlyFromTheMembersAndEverythingElseOnlyByScram() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        PostgresCtl ctl =
                new PostgresCtl(dir.resolve("bin"), data, dir.resolve("work"), null, java.util.Optional.empty());

        boolean first = ctl.writeConfig(
                NODE, Map.of(), Optional.empty(), java.util.Set.of("10.1.1.2", "10.1.2.2", "fd00::3", "db-3"));
        List<List<String>> rules = rules(data);

        assertThat(first).isTrue();
        assertThat(rules.stream().filter(r -> r.get(1).equals("replication")))
                .containsExactly(
                        List.of("host", "replication", "replicator", "10.1.1.2/32", "scram-sha-256"),
                        List.of("host", "replication", "replicator", "10.1.2.2/32", "scram-sha-256"),
                        List.of("host", "replication", "replicator", "db-3", "scram-sha-256"),
                        List.of("host", "replication", "replicator", "fd00::3/128", "scram-sha-256"));
        assertThat(rules)
                .filteredOn(r -> r.getFirst().equals("host") && r.get(2).equals("all"))
                .extracting(List::getLast)
                .containsOnly("scram-sha-256");
        assertThat(rules)
                .filteredOn(r -> r.getFirst().equals("host") && r.get(2).equals("warden_peer"))
                .as("without TLS the agents' peer role is not let in at all")
                .extracting(List::getLast)
                .containsOnly("reject");
        assertThat(rules)
                .filteredOn(r -> r.getFirst().equals("host")
                        && r.get(1).equals("all")
                        && r.get(2).equals("replicator"))
                .as("replicator may replicate and nothing else")
                .extracting(List::getLast)
                .containsExactly("reject", "reject");
        assertThat(Files.readString(data.resolve("pg_hba.conf")))
                .doesNotContain("trust")
                .doesNotContain("md5");
        assertThat(Files.readString(data.resolve(PostgresCtl.NODE_CONF)))
                .contains("password_encryption = 'scram-sha-256'\n")
                .doesNotContain("ssl = ");
    }

    @Test
    void withTheNodesCertificatesEveryNetworkRuleNeedsTlsAndAConnectionWithoutItIsRejected() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path tls = tlsDir();
        PostgresCtl ctl = new PostgresCtl(dir.resolve("bin"), data, dir.resolve("work"), null, Optional.of(tls));

        ctl.writeConfig(
                NODE, Map.of(), Optional.of(new PostgresCtl.Upstream("10.1.2.2", 5432)), java.util.Set.of("10.1.1.2"));
        List<List<String>> rules = rules(data);

        assertThat(rules.stream().filter(r -> !r.getFirst().equals("local")))
                .allSatisfy(r -> assertThat(r.getFirst()).isIn("hostssl", "hostnossl"))
                .filteredOn(r -> r.getFirst().equals("hostnossl"))
                .extracting(List::getLast)
                .containsOnly("reject")
                .hasSize(4);
        assertThat(rules)
                .as("replicator logs in by its certificate")
                .contains(List.of("hostssl", "replication", "replicator", "10.1.1.2/32", "cert"));
        assertThat(rules)
                .as("the other members' agents log in as warden_peer by its certificate, to postgres only")
                .contains(List.of("hostssl", "postgres", "warden_peer", "10.1.1.2/32", "cert"))
                .contains(List.of("hostssl", "all", "warden_peer", "0.0.0.0/0", "reject"))
                .contains(List.of("hostssl", "all", "postgres", "127.0.0.1/32", "cert"))
                .doesNotContain(List.of("hostssl", "all", "postgres", "0.0.0.0/0", "cert"));
        assertThat(rules)
                .filteredOn(r -> r.getFirst().equals("hostssl"))
                .extracting(List::getLast)
                .containsOnly("cert", "reject", "scram-sha-256");
        assertThat(Files.readString(data.resolve(PostgresCtl.NODE_CONF)))
                .contains("ssl = 'on'\n")
                .contains("ssl_cert_file = '" + tls.resolve("server.crt") + "'\n")
                .contains("ssl_key_file = '" + tls.resolve("server.key") + "'\n")
                .contains("sslmode=verify-full sslrootcert=" + tls.resolve("ca.crt") + " sslcert="
                        + tls.resolve("replicator.crt") + " sslkey=" + tls.resolve("replicator.key"));
    }

    @Test
    void aRenewedCertificateAsksForAReloadSoPostgresServesIt() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        Path tls = tlsDir();
        PostgresCtl ctl = new PostgresCtl(dir.resolve("bin"), data, dir.resolve("work"), null, Optional.of(tls));
        ctl.writeConfig(NODE, Map.of(), Optional.empty(), java.util.Set.of("10.1.1.2"));
        assertThat(ctl.writeConfig(NODE, Map.of(), Optional.empty(), java.util.Set.of("10.1.1.2")))
                .isFalse();

        Files.writeString(tls.resolve("server.crt"), "renewed");

        assertThat(ctl.writeConfig(NODE, Map.of(), Optional.empty(), java.util.Set.of("10.1.1.2")))
                .isTrue();
        assertThat(ctl.writeConfig(NODE, Map.of(), Optional.empty(), java.util.Set.of("10.1.1.2")))
                .isFalse();
    }

    private Path tlsDir() throws IOException {
        Path tls = Files.createDirectories(dir.resolve("tls"));
        for (String file : PostgresCtl.TLS_FILES) {
            Files.writeString(tls.resolve(file), file);
        }
        return tls;
    }

    /** pg_hba.conf's rules, each as its fields. */
    private static List<List<String>> rules(Path data) throws IOException {
        return Files.readString(data.resolve("pg_hba.conf"))
                .lines()
                .filter(l -> !l.startsWith("#") && !l.isBlank())
                .map(l -> List.of(l.strip().split("\\s+")))
                .toList();
    }

    @Test
    void aChangeOfMembersAloneRewritesPgHbaAndAsksForAReload() throws IOException {
        Path data = Files.createDirectories(dir.resolve("data"));
        PostgresCtl ctl =
                new PostgresCtl(dir.resolve("bin"), data, dir.resolve("work"), null, java.util.Optional.empty());
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
