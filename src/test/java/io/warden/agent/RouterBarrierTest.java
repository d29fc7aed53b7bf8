package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.RouterStatus;
import io.warden.postgres.FakePostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The router barrier: a new leader promotes only once every live router has stopped routing writes to any other
 * node; a router that neither acknowledges nor goes away within its own lease fails the barrier closed.
 */
class RouterBarrierTest {
    private final AgentHarness harness;
    private final FakePostgres postgres = AgentHarness.replicaOfNode2();
    private final Agent agent;

    /** node-1, a replica of node-2, whose lease has run out: its next cycle races for the key. */
    RouterBarrierTest(@TempDir Path dir) {
        harness = new AgentHarness(dir);
        agent = harness.replicaOfALostLeader(postgres);
        harness.keepLeaseAlive(agent);
    }

    /** A router that renews its lease (ttl 3 s) and keeps saying it routes writes to {@code primary}. */
    private void router(String id, String primary) {
        long lease = harness.dcs.grantLease(Duration.ofSeconds(3600));
        harness.dcs.publishRouter(
                new RouterStatus(id, "127.0.0.1", 5432, 5433, "http://127.0.0.1:6051", 1, Map.of(), primary, 3000),
                lease);
    }

    @Test
    void promotesOnceEveryLiveRouterAcknowledged() {
        router("router-1", "");

        agent.cycle();
        assertThat(harness.dcs.read().leader().map(l -> l.name()))
                .as("the key, taken")
                .contains("node-1");
        agent.cycle();

        assertThat(postgres.actions()).contains("promote");
    }

    /** The wait is a state across cycles, not a loop inside one: each cycle decides again from what the routers say. */
    @Test
    void aRouterThatAcknowledgesLateIsWaitedForAcrossCyclesAndThenThePromotionGoesOn() {
        router("router-1", "node-2");
        agent.cycle();
        harness.secondsPass(agent, 1);
        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.WAIT);
        assertThat(postgres.actions()).doesNotContain("promote");

        router("router-1", "");
        agent.cycle();

        assertThat(postgres.actions()).contains("promote");
    }

    @Test
    void aRouterThatKeepsRoutingToTheOldPrimaryFailsTheBarrierClosed() {
        router("router-1", "");
        router("router-2", "node-2");

        agent.cycle();
        assertThat(harness.dcs.read().leader().map(l -> l.name()))
                .as("the key, taken")
                .contains("node-1");
        // router-2's own lease and margin: 3 s + 0.5 s; the barrier holds until then, and fails closed after.
        harness.secondsPass(agent, 3);
        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.WAIT);
        harness.secondsPass(agent, 1);
        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.RELEASE_LEADERSHIP);
        assertThat(postgres.actions()).as("no promotion").doesNotContain("promote");
        assertThat(harness.dcs.read().leader())
                .as("the key is released for the next race")
                .isEmpty();
    }

    /**
     * A member whose record appeared just before the cycle that promotes is written into pg_hba.conf by the
     * promotion's config write; the promoted postgres must load it (a reload), or it refuses that member's
     * replication until some other change reloads it: its clone fails for as long as nothing else changes.
     */
    @Test
    void aMemberThatJoinedJustBeforeThePromotionMayReplicateFromThePromotedPrimary() {
        router("router-1", "");
        agent.cycle();
        assertThat(harness.dcs.read().leader().map(l -> l.name())).contains("node-1");
        io.warden.cluster.Member joined = new io.warden.cluster.Member(
                "node-3",
                io.warden.cluster.Role.UNKNOWN,
                io.warden.cluster.MemberState.WAITING,
                "10.0.0.3",
                5432,
                "http://10.0.0.3:8008",
                0,
                "0/0",
                0,
                io.warden.cluster.NodeTags.NONE,
                1,
                0,
                "i-3",
                "/data",
                false);
        harness.dcs.publishMember(joined, harness.dcs.grantLease(Duration.ofSeconds(3600)));

        agent.cycle();
        assertThat(postgres.actions()).contains("promote");
        agent.cycle();
        agent.cycle();

        assertThat(postgres.loadedMemberHosts()).contains("10.0.0.3");
    }
}
