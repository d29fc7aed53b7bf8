package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.cluster.SyncState;
import io.warden.postgres.FakePostgres;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A standby joins the published synchronous set only once commits provably wait for it: pg_stat_replication may
 * already say 'sync' while commits return without waiting (the flag only the checkpointer sets after a reload), so
 * the primary runs a probe commit and accepts the standby only if it had flushed the probe when the COMMIT returned.
 */
class SyncProbeTest {
    private final AgentHarness harness;
    private final FakePostgres postgres = new FakePostgres();
    private final Agent agent;

    /** node-1 leads in synchronous mode; node-2 streams from it. */
    SyncProbeTest(@TempDir Path dir) {
        harness = new AgentHarness(dir);
        agent = harness.leadingPrimary(postgres);
        harness.dcs.putRaw("config", AgentHarness.config("on", ""));
        harness.dcs.publishMember(
                AgentHarness.member("node-2", Role.REPLICA, MemberState.STREAMING, "0/1000000", 5602),
                harness.dcs.grantLease(java.time.Duration.ofSeconds(600)));
        // Caught up, and already shown as synchronous by pg_stat_replication.
        postgres.standby("node-2", "sync", "0/1000000");
    }

    /** The standbys the DCS shows synchronous once the primary has run six more cycles. */
    private List<String> publishedAfterSixCycles() {
        for (int cycle = 0; cycle < 6; cycle++) {
            agent.cycle();
        }
        return harness.dcs.read().sync().map(SyncState::standbys).orElse(List.of());
    }

    @Test
    void aStandbyShownSyncIsNotPublishedWhileCommitsReturnWithoutWaitingForIt() {
        postgres.commitsWait(false);

        assertThat(publishedAfterSixCycles()).doesNotContain("node-2");
    }

    /**
     * The standby flushes the probe a moment after its COMMIT returned without waiting: what pg_stat_replication says
     * then proves nothing, so the flush positions must be read together with the COMMIT, not by a later query.
     */
    @Test
    void aStandbyThatFlushedTheProbeOnlyAfterItsCommitReturnedIsNotPublished() {
        postgres.commitsWait(false);
        postgres.standbysFlushJustAfterTheCommit(true);

        assertThat(publishedAfterSixCycles()).doesNotContain("node-2");
    }

    /**
     * The standby is so fast that it flushed the probe before the COMMIT's own round trip read its position, although
     * the commit never waited: only proof that the checkpointer has applied the reload may count it.
     */
    @Test
    void aStandbyThatFlushedTheProbeWithinItsRoundTripIsNotPublishedWhileTheCheckpointerHasNotAppliedTheReload() {
        postgres.commitsWait(false);
        postgres.standbysFlushWithinTheCommitsRoundTrip(true);

        assertThat(publishedAfterSixCycles()).doesNotContain("node-2");
    }

    @Test
    void aStandbyThatHeldTheProbeCommitWhenItReturnedIsPublished() {
        postgres.commitsWait(true);

        assertThat(publishedAfterSixCycles()).contains("node-2");
        assertThat(postgres.actions()).contains("probe commit");
    }

    @Test
    void aNewPrimaryInStrictModeIsNotRoutableUntilAProbeCommitWaitedForAStandby(@TempDir Path strictDir) {
        AgentHarness other = new AgentHarness(strictDir);
        other.dcs.putRaw("config", AgentHarness.config("strict", ""));
        other.dcs.putRaw("sync", "{\"leader\":\"node-2\",\"standbys\":[\"node-1\"]}");
        FakePostgres replica = AgentHarness.replicaOfNode2();
        replica.standby("node-3", "sync", "0/3000000");
        replica.commitsWait(false);
        Agent promoted = other.replicaOfALostLeader(replica);

        promoted.cycle();
        promoted.cycle();

        assertThat(replica.actions()).contains("promote");
        assertThat(other.dcs.read().members().get("node-1").state())
                .as("not routable yet")
                .isNotEqualTo(MemberState.RUNNING);

        replica.commitsWait(true);
        promoted.cycle();

        assertThat(other.dcs.read().members().get("node-1").state()).isEqualTo(MemberState.RUNNING);
    }
}
