package io.warden.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.postgres.PostgresCtl.Upstream;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class BaseBackupCommandTest {
    @Test
    void aCloneConnectsUnderAnApplicationNameOfItsOwnSoItCanNeverSatisfyTheSynchronousStandbyList() {
        PostgresCtl ctl = new PostgresCtl(
                Path.of("/usr/lib/postgresql/15/bin"),
                Path.of("/data/node-2"),
                Path.of("/work/node-2"),
                null,
                java.util.Optional.empty());

        String command = String.join(" ", ctl.baseBackupCommand(new Upstream("10.0.0.1", 5432), "node-2"));

        // synchronous_standby_names lists member names: 'FIRST 1 ("node-2")' must not count a copy in progress.
        assertThat(command).contains("application_name=").doesNotContain("application_name=node-2 ");
    }
}
