package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.Role;
import io.warden.common.FakeClock;
import io.warden.dcs.FakeDcs;
import io.warden.postgres.DataState;
import io.warden.postgres.FakePostgres;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's whole cycle (read, observe, decide, act, publish) on a fake DCS, a fake postgres and a fake clock: the
 * behaviour that lives outside the pure decision, driven with literal times.
 */
class AgentCycleTest {
    private static final Duration TTL = AgentHarness.TTL;

    @TempDir
    Path dir;

    private AgentHarness harness;
    private FakeClock clock;
    private FakeDcs dcs;

    @BeforeEach
    void harness() {
        harness = new AgentHarness(dir);
        clock = harness.clock;
        dcs = harness.dcs;
    }

    @Test
    void anEmptyNodeOfANewClusterBootstrapsAndThenLeads() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = agent("node-1", postgres);

        agent.cycle();

        assertThat(postgres.actions()).containsSubsequence("initdb", "start primary", "create replication role");
        assertThat(dcs.read().leader())
                .hasValueSatisfying(l -> assertThat(l.name()).isEqualTo("node-1"));
        assertThat(dcs.read().initialize()).contains(postgres.systemIdentifier());
        assertThat(dcs.read().history())
                .singleElement()
                .satisfies(h -> assertThat(h.reason()).isEqualTo("bootstrap"));

        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.LEAD);
        assertThat(dcs.read().members().get("node-1").role()).isEqualTo(Role.PRIMARY);
    }

    @Test
    void aLeaderWhoseRenewalsFailIsKilledByTheLeaseKeeperAtSentPlusTtlMinusMarginAndNotBefore() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = agent("node-1", postgres);
        agent.cycle();
        agent.cycle();
        clock.advanceMillis(1000);
        long sent = clock.nanoTime();
        agent.lease().step(sent);
        long deadline = sent + TTL.toNanos() - Duration.ofSeconds(1).toNanos();
        assertThat(agent.lease().term().validUntilNanos()).isEqualTo(deadline);

        dcs.failRenewals(true);
        for (long at = sent + Duration.ofMillis(50).toNanos();
                at < deadline;
                at += Duration.ofMillis(50).toNanos()) {
            clock.advance(Duration.ofNanos(at - clock.nanoTime()));
            agent.lease().step(at);
        }
        clock.advance(Duration.ofNanos(deadline - 1 - clock.nanoTime()));
        agent.lease().step(clock.nanoTime());
        assertThat(postgres.data()).isEqualTo(DataState.RUNNING_PRIMARY);

        clock.advance(Duration.ofNanos(1));
        agent.lease().step(clock.nanoTime());

        assertThat(postgres.data()).isEqualTo(DataState.STOPPED_PRIMARY);
        assertThat(postgres.actions()).last().isEqualTo("kill");
    }

    @Test
    void aStreamingReplicaTakesTheKeyAndPromotesOnceTheLeadersLeaseHasExpired() {
        harness.otherLeader("node-2", "0/3000000");
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        Agent agent = agent("node-1", postgres);

        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.KEEP_FOLLOWING);

        // node-2's host is gone: its lease is not renewed, ours is, once a second.
        harness.secondsPass(agent, 7);
        assertThat(dcs.read().leader()).isEmpty();

        agent.cycle();
        assertThat(dcs.read().leader())
                .hasValueSatisfying(l -> assertThat(l.name()).isEqualTo("node-1"));
        // The next cycle passes the router barrier (no router here) and promotes.
        agent.cycle();

        assertThat(postgres.actions()).contains("promote");
        assertThat(postgres.data()).isEqualTo(DataState.RUNNING_PRIMARY);
        assertThat(postgres.timeline()).isEqualTo(2);
        assertThat(dcs.read().history()).last().satisfies(h -> {
            assertThat(h.timeline()).isEqualTo(2);
            assertThat(h.member()).isEqualTo("node-1");
            assertThat(h.at()).isEqualTo(clock.instant().toString());
        });
    }

    @Test
    void getPrimaryAnswersYesOnlyWhileTheLastCycleIsRecent() {
        Agent agent = agent("node-1", new FakePostgres());
        agent.cycle();
        agent.cycle();
        assertThat(agent.writablePrimaryNow()).isTrue();

        // The loop is stuck: no cycle for more than 2 x loop_wait (the keeper still renews the lease).
        harness.secondsPass(agent, 2);
        clock.advanceMillis(100);

        assertThat(agent.lease().valid(clock.nanoTime())).isTrue();
        assertThat(agent.writablePrimaryNow()).isFalse();
    }

    @Test
    void getPrimaryAnswersNoOnceTheLeaseDeadlineHasPassedEvenRightAfterACycle() {
        Agent agent = agent("node-1", new FakePostgres());
        agent.cycle();
        agent.cycle();
        dcs.failRenewals(true);
        long deadline = agent.lease().term().validUntilNanos();
        clock.advance(Duration.ofNanos(
                deadline - clock.nanoTime() - Duration.ofMillis(100).toNanos()));
        agent.cycle();
        assertThat(agent.writablePrimaryNow()).isTrue();

        clock.advanceMillis(200);

        assertThat(agent.writablePrimaryNow()).isFalse();
    }

    @Test
    void aReplicaThatJustFollowedANewLeaderGetsAFreshGraceBeforeItCountsAsStranded() {
        harness.otherLeader("node-2", "0/3000000");
        // Synchronous mode, and node-1 is not a synchronous standby: it may not race when node-2 dies.
        dcs.putRaw("config", AgentHarness.config("on", ""));
        dcs.putRaw("sync", "{\"leader\":\"node-2\",\"standbys\":[]}");
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        Agent agent = harness.agent("node-1", postgres);
        agent.cycle();
        // node-2 dies: 15 s without streaming, and without a leader.
        postgres.streaming(false);
        for (int second = 0; second < 15; second++) {
            harness.secondsPass(agent, 1);
            agent.cycle();
        }
        // node-3 was promoted (timeline 2) and publishes itself; node-1 follows it, and its receiver takes a moment.
        postgres.streamsOnReload(false);
        long lease = dcs.grantLease(TTL.multipliedBy(10));
        dcs.acquireLeader("node-3", lease);
        dcs.publishMember(
                new io.warden.cluster.Member(
                        "node-3",
                        io.warden.cluster.Role.PRIMARY,
                        io.warden.cluster.MemberState.RUNNING,
                        "127.0.0.1",
                        5603,
                        "http://127.0.0.1:1",
                        2,
                        "0/3100000",
                        0,
                        io.warden.cluster.NodeTags.NONE,
                        1,
                        1,
                        "i-3",
                        "/data/node-3",
                        false),
                lease);
        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.REPOINT);

        harness.secondsPass(agent, 1);
        agent.cycle();

        assertThat(agent.view().decision().action())
                .as("not rewound a second after following")
                .isNotEqualTo(Action.REWIND);
        assertThat(postgres.actions()).noneMatch(a -> a.startsWith("rewind"));
    }

    @Test
    void aNodeThatCannotReachTheDcsWaitsAndChangesNothing() {
        FakePostgres postgres = FakePostgres.stoppedPrimary(1, "0/3000000");
        Agent agent = agent("node-1", postgres);
        dcs.setUnreachable(true);

        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.WAIT);
        assertThat(postgres.actions()).isEmpty();
    }

    @Test
    void everyPostmasterThatComesUpIsCountedInTheMemberRecordWithWhenTheCurrentOneDid() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = agent("node-1", postgres);
        agent.cycle();
        agent.cycle();
        var first = dcs.read().members().get("node-1");
        assertThat(first.postgresStarts()).isEqualTo(1);
        assertThat(first.postgresStartedAt()).isEqualTo(clock.instant().toString());

        clock.advanceMillis(200);
        postgres.crash();
        agent.cycle();
        agent.cycle();

        var after = dcs.read().members().get("node-1");
        assertThat(postgres.actions())
                .containsExactly("initdb", "start primary", "create replication role", "crash", "start primary");
        assertThat(after.postgresStarts()).isEqualTo(2);
        assertThat(after.postgresStartedAt()).isNotEqualTo(first.postgresStartedAt());
        // No supervisor started this agent (none wrote supervisor.json): how often it was started is not known.
        assertThat(after.agentStarts()).isZero();
    }

    private Agent agent(String name, FakePostgres postgres) {
        return harness.agent(name, postgres);
    }
}
