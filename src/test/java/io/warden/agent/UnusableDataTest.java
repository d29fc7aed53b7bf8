package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.Member;
import io.warden.postgres.FakePostgres;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica whose stopped data directory cannot start however often it is tried (a corrupt control file, a volume
 * that cannot be written) is not started again and again: its agent says why in its member record, where the repair
 * controller reads it (DATA_UNUSABLE), and starts it once the trouble is gone.
 */
class UnusableDataTest {
    private static final String CORRUPT = "its control file global/pg_control is corrupt: its checksum does not match";

    private final AgentHarness harness;
    private final FakePostgres postgres = AgentHarness.replicaOfNode2();
    private final Agent agent;

    UnusableDataTest(@TempDir Path dir) {
        harness = new AgentHarness(dir);
        harness.otherLeader("node-2", "0/3000000");
        agent = harness.agent("node-1", postgres);
        agent.cycle();
    }

    private Member published() {
        return harness.dcs.read().members().get("node-1");
    }

    @Test
    void aCrashedReplicaWhoseDataIsUnusableIsNotStartedAndSaysWhyInItsRecordUntilTheTroubleIsGone() {
        assertThat(published().dataUnusable()).isEmpty();
        postgres.dataProblem(Optional.of(CORRUPT));
        postgres.crash();

        agent.cycle();
        agent.cycle();

        assertThat(postgres.actions()).last().isEqualTo("crash");
        assertThat(published().dataUnusable()).isEqualTo(CORRUPT);

        postgres.dataProblem(Optional.empty());
        agent.cycle();
        agent.cycle();

        assertThat(postgres.actions()).last().isEqualTo("start replica");
        assertThat(published().dataUnusable()).isEmpty();
    }
}
