package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.WardenException;
import io.warden.dcs.Lease;
import io.warden.postgres.FakePostgres;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent's start-up checks against a busy etcd: what a late answer does, and what etcd gone for good does. */
class StartUpTest {
    private final AgentHarness harness;

    StartUpTest(@TempDir Path dir) {
        this.harness = new AgentHarness(dir);
    }

    @Test
    void aReadThatEtcdAnswersTooLateRightAfterTheFirstLeaseIsTriedAgainInsteadOfEndingTheAgent() {
        Agent agent = harness.agent("node-1", new FakePostgres());
        long before = harness.clock.nanoTime();
        harness.dcs.failNextReads(3);

        agent.refuseDuplicateName();

        assertThat(harness.clock.nanoTime() - before)
                .as("it waited between the tries, on the agent's clock")
                .isPositive()
                .isLessThan(Lease.STARTUP_WAIT.toNanos());
    }

    @Test
    void readsThatFailForTheWholeStartUpWaitEndTheStartWithWhatToCheck() {
        Agent agent = harness.agent("node-1", new FakePostgres());
        harness.dcs.failNextReads(Integer.MAX_VALUE);

        assertThatThrownBy(agent::refuseDuplicateName)
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("cannot read the cluster from etcd")
                .hasMessageContaining(Lease.STARTUP_WAIT.toSeconds() + " s");
    }
}
