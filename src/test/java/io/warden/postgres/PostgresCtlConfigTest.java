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
        ctl.writeConfig(NODE, parameters, Optional.empty());
        return Files.readString(data.resolve(PostgresCtl.NODE_CONF));
    }
}
