package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.postgres.FakePostgres;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A failed pg_rewind does not delete the data directory at once: the cycle that ran it leaves the node stopped with
 * its data, and the next one decides. The old data is kept aside when the disk has room for a second copy;
 * otherwise it is deleted first only while another healthy replica exists; otherwise the node stays stopped (and
 * repair replaces it).
 */
class FailedRewindTest {
    private static final long GIB = 1L << 30;

    private final AgentHarness harness;
    private final FakePostgres postgres = FakePostgres.stoppedPrimary(1, "0/6000000");
    private final Agent agent;

    /** node-1, a former primary on timeline 1, finds node-2 leading and running on timeline 2. */
    FailedRewindTest(@TempDir Path dir) {
        harness = new AgentHarness(dir);
        harness.otherLeader("node-2", "0/5000000");
        long lease = harness.dcs.read().leader().orElseThrow().leaseId();
        harness.dcs.publishMember(
                new io.warden.cluster.Member(
                        "node-2",
                        Role.PRIMARY,
                        MemberState.RUNNING,
                        "127.0.0.1",
                        5602,
                        "http://127.0.0.1:1",
                        2,
                        "0/5000000",
                        0,
                        io.warden.cluster.NodeTags.NONE,
                        1,
                        1,
                        "i-2",
                        "/data/node-2",
                        false),
                lease);
        postgres.failRewinds();
        agent = harness.agent("node-1", postgres);
    }

    private void anotherHealthyReplica() {
        harness.dcs.publishMember(
                AgentHarness.member("node-3", Role.REPLICA, MemberState.STREAMING, "0/5000000", 5603),
                harness.dcs.grantLease(AgentHarness.TTL));
    }

    @Test
    void withRoomForASecondCopyTheOldDataIsKeptAsideAndTheNodeReCloned() {
        postgres.disk(GIB, 10 * GIB);

        agent.cycle();
        agent.cycle();

        assertThat(postgres.actions())
                .containsSubsequence("rewind from 127.0.0.1:5602", "set data aside", "base backup from 127.0.0.1:5602");
        assertThat(postgres.actions()).doesNotContain("remove data");
    }

    @Test
    void aRewindAndAReCloneThatBothFailAreCountedInTheMemberRecordUntilTheNodeStreamsAgain() {
        postgres.disk(GIB, 10 * GIB);
        postgres.failBaseBackups();

        agent.cycle();
        assertThat(published().rejoinFailures()).isEqualTo(1);
        assertThat(published().rejoinFailure())
                .isEqualTo("pg_rewind from node-2 failed: pg_rewind: fatal: could not find previous WAL record");
        agent.cycle();
        assertThat(published().rejoinFailures()).isEqualTo(2);
        assertThat(published().rejoinFailure())
                .isEqualTo("re-cloning from node-2 failed: pg_basebackup: error: connection to server failed:"
                        + " certificate does not match private key");

        postgres.mendBaseBackups();
        for (int i = 0; i < 5 && published().rejoinFailures() != 0; i++) {
            agent.cycle();
            postgres.streaming(true);
        }
        assertThat(published().rejoinFailures()).isZero();
        assertThat(published().rejoinFailure()).isEmpty();
    }

    @Test
    void aCloneRefusedWhileTheLeadersPgHbaLacksTheMemberIsRetriedWithinTheCycleAndCountsNoFailure() {
        postgres.disk(GIB, 10 * GIB);
        agent.cycle();
        assertThat(published().rejoinFailures()).as("the failed rewind").isEqualTo(1);
        postgres.refuseBaseBackups(3);

        agent.cycle();

        assertThat(postgres.actions().stream().filter(a -> a.startsWith("base backup")))
                .hasSize(4);
        assertThat(published().rejoinFailures())
                .as("the clone succeeded: nothing held against it")
                .isZero();
    }

    private io.warden.cluster.Member published() {
        return harness.dcs.read().members().get("node-1");
    }

    @Test
    void withoutRoomTheOldDataIsDeletedFirstWhileAnotherHealthyReplicaExists() {
        postgres.disk(8 * GIB, 2 * GIB);
        anotherHealthyReplica();

        agent.cycle();
        agent.cycle();

        assertThat(postgres.actions())
                .containsSubsequence("rewind from 127.0.0.1:5602", "remove data", "base backup from 127.0.0.1:5602");
    }

    @Test
    void withoutRoomAndWithoutAnotherHealthyReplicaTheNodeStaysStoppedWithItsData() {
        postgres.disk(8 * GIB, 2 * GIB);

        agent.cycle();
        agent.cycle();

        assertThat(postgres.actions())
                .contains("rewind from 127.0.0.1:5602")
                .doesNotContain("remove data", "set data aside")
                .noneMatch(a -> a.startsWith("base backup"));
    }
}
