package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.cluster.SyncMode;
import io.warden.postgres.DataState;
import io.warden.postgres.FakePostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Values another program (or a person, by hand) wrote into the DCS, or a peer's answer, that this agent cannot
 * read: the agent goes on serving and never turns them into defaults. See the table in docs/dcs.md.
 */
class AgentBadValuesTest {
    private static final String SYNC_CONFIG = AgentHarness.config("on", "");

    private final AgentHarness harness;

    AgentBadValuesTest(@TempDir Path dir) {
        harness = new AgentHarness(dir);
    }

    /** node-3, a replica streaming at 0/3000000, is published under a lease of {@code ttl} that nobody renews. */
    private void node3Streams(Duration ttl) {
        harness.dcs.publishMember(
                AgentHarness.member("node-3", Role.REPLICA, MemberState.STREAMING, "0/3000000", 5603),
                harness.dcs.grantLease(ttl));
    }

    /**
     * As {@link AgentHarness#replicaOfALostLeader}, but {@code text} stands raw in {@code key} before node-1's first
     * cycle: node-1 has never read a good value of it.
     */
    private Agent replicaOfALostLeaderWithRaw(FakePostgres postgres, String key, String text) {
        harness.otherLeader("node-2", "0/3000000");
        harness.dcs.putRaw(key, text);
        Agent agent = harness.agent("node-1", postgres);
        agent.cycle();
        harness.secondsPass(agent, 7);
        return agent;
    }

    @Test
    void aSwitchoverWhoseScheduledAtIsNotADateIsIgnoredAndThePrimaryKeepsLeading() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = harness.leadingPrimary(postgres);
        harness.dcs.putRaw(
                "switchover",
                "{\"leader\":\"node-1\",\"candidate\":\"node-2\",\"requested_at\":\"2026-12-01T12:00:00Z\",\"scheduled_at\":\"tomorrow\",\"failover\":false}");

        assertThatCode(agent::cycle).doesNotThrowAnyException();

        assertThat(agent.view().decision().action()).isEqualTo(Action.LEAD);
        assertThat(postgres.data()).isEqualTo(DataState.RUNNING_PRIMARY);
        assertThat(agent.view().cluster().switchover()).isEmpty();
    }

    @Test
    void theLastGoodConfigSurvivesARestartOfTheAgent() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = harness.leadingPrimary(postgres);
        harness.dcs.putRaw("config", SYNC_CONFIG);
        agent.cycle();
        harness.dcs.putRaw("config", "garbage");

        Agent restarted = harness.agent("node-1", postgres);
        restarted.cycle();

        assertThat(restarted.view().cluster().config().synchronousMode()).isEqualTo(SyncMode.ON);
    }

    @Test
    void aReplicaThatHasNeverReadTheConfigDoesNotRaceWhileItIsUnreadable() {
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        Agent agent = replicaOfALostLeaderWithRaw(postgres, "config", "not json at all");

        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.WAIT);
        assertThat(agent.view().decision().reason()).contains("config");
        assertThat(postgres.actions()).doesNotContain("promote");
        assertThat(harness.dcs.read().leader()).isEmpty();
    }

    @Test
    void anUnreadableHistoryIsNeverOverwritten() {
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        Agent agent = replicaOfALostLeaderWithRaw(postgres, "history", "[{\"timeline\": \"one\"}");

        agent.cycle();
        agent.cycle();

        assertThat(postgres.actions()).contains("promote");
        assertThat(harness.dcs.rawValue("history")).contains("[{\"timeline\": \"one\"}");
    }

    @Test
    void aDeletedInitializeKeyWhileMembersHoldDataNeverCausesABootstrap() {
        long lease = harness.otherLeader("node-2", "0/3000000");
        harness.dcs.revokeFromOutside(lease);
        node3Streams(AgentHarness.TTL);
        // As a person with etcdctl would.
        harness.dcs.deleteRaw("initialize");
        FakePostgres postgres = new FakePostgres();
        Agent agent = harness.agent("node-1", postgres);

        agent.cycle();

        assertThat(postgres.actions()).doesNotContain("initdb");
        assertThat(agent.view().decision().action()).isEqualTo(Action.WAIT);
        assertThat(agent.view().decision().reason()).contains("initialize");
    }

    @Test
    void aLeaderKeyWrittenByHandWithoutALeaseIsRemovedAndTheRaceRuns() {
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        Agent agent = harness.replicaOfALostLeader(postgres);
        harness.dcs.putRaw("leader", "node-2");

        agent.cycle();
        agent.cycle();

        assertThat(harness.dcs.read().leader()).hasValueSatisfying(l -> {
            assertThat(l.name()).isEqualTo("node-1");
            assertThat(l.leaseId()).isEqualTo(agent.lease().term().id());
        });
        assertThat(postgres.actions()).contains("promote");
    }

    @Test
    void aPeerThatAnsweredSomethingUnreadableMayBeAheadSoThisReplicaDoesNotRace() {
        harness.otherLeader("node-2", "0/3000000");
        node3Streams(Duration.ofSeconds(60));
        Peers garbled = new Peers() {
            @Override
            public Map<String, PeerStatus> statuses(Collection<Member> members) {
                return Map.of("node-3", new PeerStatus.Unreadable("Unexpected character ('<')"));
            }

            @Override
            public Optional<Member> status(Member member) {
                return Optional.empty();
            }

            @Override
            public OptionalInt liveness(Member member) {
                return OptionalInt.of(200);
            }
        };
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        Agent agent = harness.agent("node-1", postgres, garbled);
        agent.cycle();
        harness.secondsPass(agent, 7);

        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.WAIT);
        assertThat(agent.view().decision().reason()).contains("node-3");
        assertThat(postgres.actions()).doesNotContain("promote");
    }

    @Test
    void aCycleWhosePostgresFacadeThrowsIsLoggedAndTheNextCycleRuns() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = harness.leadingPrimary(postgres);
        postgres.failNextObserve(new IllegalStateException("the control file is unreadable"));

        assertThatCode(agent::cycle).doesNotThrowAnyException();
        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.LEAD);
        assertThat(agent.loopErrors()).isEqualTo(1);
    }

    @Test
    void aPrimaryThatNeverReadAConfigTakesItsKeyBackWhileTheConfigIsUnreadable() {
        // A cluster whose config was never written (every cluster until its first edit-config): no copy to fall back
        // on.
        FakePostgres postgres = new FakePostgres();
        Agent agent = harness.leadingPrimary(postgres);
        harness.dcs.putRaw("config", "{\"synchronous_mode\": ");
        harness.dcs.deleteRaw("leader");

        agent.cycle();

        assertThat(harness.dcs.read().leader())
                .hasValueSatisfying(l -> assertThat(l.name()).isEqualTo("node-1"));
        assertThat(postgres.data()).isEqualTo(DataState.RUNNING_PRIMARY);
    }
}
