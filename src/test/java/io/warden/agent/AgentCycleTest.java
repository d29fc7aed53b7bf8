package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.common.FakeClock;
import io.warden.dcs.FakeDcs;
import io.warden.dcs.Member;
import io.warden.dcs.MemberState;
import io.warden.dcs.NodeTags;
import io.warden.dcs.Optime;
import io.warden.dcs.Role;
import io.warden.postgres.DataState;
import io.warden.postgres.FakePostgres;
import io.warden.postgres.PostgresCtl.Upstream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's whole cycle (read, observe, decide, act, publish) on a fake DCS, a fake postgres and a fake clock: the
 * behaviour that lives outside the pure decision, driven with literal times.
 */
class AgentCycleTest {
    private static final Duration TTL = Duration.ofSeconds(6);

    @TempDir
    Path dir;

    private final FakeClock clock = new FakeClock();
    private final FakeDcs dcs = new FakeDcs(clock);

    /** Peers that never answer: the failover race then compares with nobody. */
    private static final Peers SILENT_PEERS = new Peers() {
        @Override
        public Map<String, Member> statuses(Collection<Member> members) {
            return Map.of();
        }

        @Override
        public Optional<Member> status(Member member) {
            return Optional.empty();
        }

        @Override
        public OptionalInt liveness(Member member) {
            return OptionalInt.empty();
        }
    };

    @Test
    void anEmptyNodeOfANewClusterBootstrapsAndThenLeads() throws IOException {
        FakePostgres postgres = new FakePostgres();
        Agent agent = agent("node-1", postgres);

        agent.cycle();

        assertThat(postgres.actions()).containsSubsequence("initdb", "start primary", "create replication role");
        assertThat(dcs.read().leader()).hasValueSatisfying(l -> assertThat(l.name()).isEqualTo("node-1"));
        assertThat(dcs.read().initialize()).contains(postgres.systemIdentifier());
        assertThat(dcs.read().history()).singleElement().satisfies(h -> assertThat(h.reason()).isEqualTo("bootstrap"));

        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.LEAD);
        assertThat(dcs.read().members().get("node-1").role()).isEqualTo(Role.PRIMARY);
    }

    @Test
    void aLeaderWhoseRenewalsFailIsKilledByTheLeaseKeeperAtSentPlusTtlMinusMarginAndNotBefore() throws IOException {
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
        for (long at = sent + Duration.ofMillis(50).toNanos(); at < deadline; at += Duration.ofMillis(50).toNanos()) {
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
    void aStreamingReplicaTakesTheKeyAndPromotesOnceTheLeadersLeaseHasExpired() throws IOException {
        long otherLease = dcs.grantLease(TTL);
        assertThat(dcs.claimBootstrap("node-2", otherLease)).isTrue();
        dcs.completeBootstrap("7300000000000000001");
        dcs.publishMember(member("node-2", Role.PRIMARY, MemberState.RUNNING, "0/3000000", 5602), otherLease);
        dcs.publishOptime("node-2", new Optime("0/3000000", 1));
        FakePostgres postgres = FakePostgres.streamingReplica(1, "0/3000000", new Upstream("127.0.0.1", 5602));
        Agent agent = agent("node-1", postgres);

        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.FOLLOWING);

        // node-2's host is gone: its lease is not renewed, ours is, once a second.
        for (int second = 1; second <= 7; second++) {
            clock.advanceMillis(1000);
            agent.lease().step(clock.nanoTime());
        }
        assertThat(dcs.read().leader()).isEmpty();

        agent.cycle();

        assertThat(dcs.read().leader()).hasValueSatisfying(l -> assertThat(l.name()).isEqualTo("node-1"));
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
    void aNodeThatCannotReachTheDcsWaitsAndChangesNothing() throws IOException {
        FakePostgres postgres = FakePostgres.stoppedPrimary(1, "0/3000000");
        Agent agent = agent("node-1", postgres);
        dcs.setUnreachable(true);

        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.WAIT);
        assertThat(postgres.actions()).isEmpty();
    }

    private Agent agent(String name, FakePostgres postgres) throws IOException {
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, """
                name: %s
                cluster: fake
                port: 5601
                api_port: 5701
                etcd: [http://127.0.0.1:1]
                data_dir: %s
                ttl: 6s
                loop_wait: 1s
                watchdog: "off"
                """.formatted(name, dir.resolve(name + "-data")));
        Agent agent = new Agent(NodeConfig.load(file), dcs, postgres, SILENT_PEERS, Optional.empty(), clock);
        agent.connect();
        return agent;
    }

    private static Member member(String name, Role role, MemberState state, String lsn, int port) {
        return new Member(name, role, state, "127.0.0.1", port, "http://127.0.0.1:1", 1, lsn, 0, NodeTags.NONE, 1, 1,
                name + "-instance", "/data/" + name, false);
    }
}
