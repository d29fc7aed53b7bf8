package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.HistoryEntry;
import io.warden.cluster.Member;
import io.warden.cluster.Optime;
import io.warden.postgres.DataState;
import io.warden.postgres.FakePostgres;
import io.warden.postgres.PostgresCtl.Upstream;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The double failure that used to lose acknowledged rows: primary A had an unreplicated tail; A's host died; B was
 * promoted (timeline 2) and acknowledged writes; B's host died before A had rewound; A came back, "further ahead" in
 * raw LSN, and won the race, discarding everything B acknowledged. Two agents on one fake DCS, each asking the other
 * through in-process peers.
 */
class DoubleFailureTest {
    @TempDir
    Path dir;

    @Test
    void theReplicaOnTheNewestTimelineIsPromotedNotTheFormerPrimaryFurtherAheadOnAnOlderOne() {
        AgentHarness harness = publishedBeforeBDied();

        InProcessPeers peers = new InProcessPeers();
        // A's tail on timeline 1 goes further than anything B wrote: 0/6000000.
        FakePostgres a = FakePostgres.stoppedPrimary(1, "0/6000000");
        FakePostgres c = FakePostgres.streamingReplica(2, "0/5000000", new Upstream("127.0.0.1", 5602));
        Agent agentA = peers.add(harness.agent("node-a", a, peers));
        Agent agentC = peers.add(harness.agent("node-c", c, peers));

        // Until C runs as primary: it takes the key in one cycle and promotes in the next (the router barrier).
        for (int second = 0; second < 10 && c.data() != DataState.RUNNING_PRIMARY; second++) {
            agentA.cycle();
            agentC.cycle();
            harness.clock.advanceMillis(1000);
            agentA.lease().step(harness.clock.nanoTime());
            agentC.lease().step(harness.clock.nanoTime());
        }

        assertThat(harness.dcs.read().leader())
                .hasValueSatisfying(l -> assertThat(l.name()).isEqualTo("node-c"));
        assertThat(a.actions()).doesNotContain("promote");
        assertThat(c.data()).isEqualTo(DataState.RUNNING_PRIMARY);
        assertThat(c.timeline()).isEqualTo(3);
        assertThat(harness.dcs.read().optime()).map(Optime::timeline).contains(3L);
    }

    @Test
    void withNoNodeOfTheNewestTimelineLeftNobodyIsPromotedUntilAnOperatorAcceptsTheLoss() {
        AgentHarness harness = publishedBeforeBDied();
        FakePostgres a = FakePostgres.stoppedPrimary(1, "0/6000000");
        Agent agentA = harness.agent("node-a", a);

        for (int second = 0; second < 10; second++) {
            agentA.cycle();
            harness.secondsPass(agentA, 1);
        }
        assertThat(a.actions())
                .as("B and C are both gone: nobody on timeline 2 is left")
                .doesNotContain("promote");
        assertThat(agentA.view().decision().reason()).contains("timeline 1").contains("accept-data-loss");

        assertThat(harness.dcs.requestSwitchover(
                        new io.warden.cluster.Switchover("", "node-a", "2026-12-01T12:00:00Z", "", true, true), null))
                .isTrue();
        agentA.cycle();
        agentA.cycle();

        assertThat(a.actions()).contains("promote");
        assertThat(harness.dcs.read().history()).last().satisfies(entry -> {
            assertThat(entry.member()).isEqualTo("node-a");
            assertThat(entry.reason())
                    .contains("accept-data-loss")
                    .contains("timeline 2")
                    .contains("discarded");
        });
    }

    /**
     * What the cluster published before B died: A bootstrapped timeline 1, B was promoted to timeline 2 at 0/4000000
     * and then wrote up to 0/5000000 (which C, its replica, has). Nobody leads now.
     */
    private AgentHarness publishedBeforeBDied() {
        AgentHarness harness = new AgentHarness(dir);
        long bootstrap = harness.dcs.grantLease(AgentHarness.TTL);
        harness.dcs.claimBootstrap("node-a", bootstrap);
        harness.dcs.completeBootstrap("7300000000000000001");
        harness.dcs.revokeLease(bootstrap);
        harness.dcs.appendHistory(new HistoryEntry(1, "0/0", "node-a", "2026-12-01T10:00:00Z", "bootstrap"));
        harness.dcs.appendHistory(new HistoryEntry(2, "0/4000000", "node-b", "2026-12-01T11:00:00Z", "promoted"));
        harness.dcs.putRaw("optime", "{\"lsn\":\"0/5000000\",\"timeline\":2}");
        return harness;
    }

    /** Each agent's REST answer, asked in-process: {@code GET /status} is {@link Agent#liveStatus}. */
    private static final class InProcessPeers implements Peers {
        private final Map<String, Agent> agents = new HashMap<>();

        Agent add(Agent agent) {
            agents.put(agent.config().name(), agent);
            return agent;
        }

        @Override
        public Map<String, PeerStatus> statuses(Collection<Member> members) {
            Map<String, PeerStatus> answers = new HashMap<>();
            for (Member member : members) {
                status(member).ifPresent(m -> answers.put(member.name(), new PeerStatus.Reported(m)));
            }
            return answers;
        }

        @Override
        public Optional<Member> status(Member member) {
            return Optional.ofNullable(agents.get(member.name())).map(Agent::liveStatus);
        }

        @Override
        public OptionalInt liveness(Member member) {
            return agents.containsKey(member.name()) ? OptionalInt.of(200) : OptionalInt.empty();
        }
    }
}
