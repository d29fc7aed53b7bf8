package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.NodeTags;
import io.warden.cluster.Optime;
import io.warden.cluster.Role;
import io.warden.cluster.Switchover;
import io.warden.common.FakeClock;
import io.warden.dcs.FakeDcs;
import io.warden.postgres.FakePostgres;
import io.warden.postgres.Postgres;
import io.warden.postgres.PostgresCtl.Upstream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Agents on a fake DCS and a fake clock, for unit tests of the whole cycle: each agent has a config file in
 * {@code dir} (ttl 6 s, loop_wait 1 s, no watchdog) and has granted its first lease.
 */
final class AgentHarness {
    static final Duration TTL = Duration.ofSeconds(6);
    /** A sixth of the ttl. */
    static final Duration MARGIN = Duration.ofSeconds(1);

    /** Peers that never answer: the failover race then compares with nobody. */
    static final Peers SILENT_PEERS = FakePeers.SILENT;

    final FakeClock clock = new FakeClock();
    final FakeDcs dcs = new FakeDcs(clock);
    private final Path dir;

    AgentHarness(Path dir) {
        this.dir = dir;
    }

    Agent agent(String name, Postgres postgres) {
        return agent(name, postgres, SILENT_PEERS);
    }

    Agent agent(String name, Postgres postgres, Peers peers) {
        return agent(name, postgres, peers, Optional.empty());
    }

    Agent agent(String name, Postgres postgres, Peers peers, Optional<io.warden.watchdog.WatchdogClient> watchdog) {
        Path file = dir.resolve(name + ".yaml");
        try {
            Files.writeString(file, """
                    name: %s
                    cluster: fake
                    port: 5601
                    api_port: 5701
                    etcd: [http://127.0.0.1:1]
                    data_dir: %s
                    work_dir: %s
                    ttl: 6s
                    loop_wait: 1s
                    watchdog: "off"
                    """.formatted(name, dir.resolve(name + "-data"), dir.resolve(name + "-work")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Agent agent = new Agent(AgentConfig.load(file), dcs, postgres, peers, watchdog, clock);
        agent.connect();
        return agent;
    }

    /**
     * Another node, {@code name}, bootstrapped the cluster and leads it at {@code lsn} on timeline 1, under a lease
     * of its own that nobody renews: it expires {@link #TTL} from now. Returns that lease.
     */
    long otherLeader(String name, String lsn) {
        long lease = dcs.grantLease(TTL);
        assertThat(dcs.claimBootstrap(name, lease)).isTrue();
        dcs.completeBootstrap("7300000000000000001");
        dcs.publishMember(member(name, Role.PRIMARY, MemberState.RUNNING, lsn, 5602), lease);
        dcs.publishOptime(name, new Optime(lsn, 1));
        return lease;
    }

    /** A config with every field set and {@code synchronous_mode} as given, plus {@code extra} fields (",\"f\":1"). */
    static String config(String synchronousMode, String extra) {
        return "{\"maximum_lag_on_failover\":1048576,\"synchronous_mode\":\"" + synchronousMode
                + "\",\"synchronous_node_count\":1,\"pause\":false,\"parameters\":{}" + extra + "}";
    }

    /** node-1 bootstraps the cluster on {@code postgres} and leads it (two cycles). */
    Agent leadingPrimary(Postgres postgres) {
        Agent agent = agent("node-1", postgres);
        agent.cycle();
        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.LEAD);
        return agent;
    }

    /**
     * node-1 bootstraps the cluster on {@code primary} and leads it, its lease renewed whenever the clock moves;
     * node-2 streams from it (under a lease of 600 s nobody renews); a switchover from node-1 to node-2 is due.
     */
    Agent switchoverDue(Postgres primary, Peers peers) {
        Agent agent = agent("node-1", primary, peers);
        agent.cycle();
        agent.cycle();
        dcs.publishMember(
                member("node-2", Role.REPLICA, MemberState.STREAMING, "0/3000000", 5602),
                dcs.grantLease(Duration.ofSeconds(600)));
        keepLeaseAlive(agent);
        assertThat(dcs.requestSwitchover(new Switchover("node-1", "node-2", "2026-12-01T12:00:02Z"), null))
                .isTrue();
        return agent;
    }

    /**
     * node-1's postgres as a replica of the leader {@link #otherLeader} publishes as node-2: on timeline 1 at
     * 0/3000000, streaming from 127.0.0.1:5602.
     */
    static FakePostgres replicaOfNode2() {
        return FakePostgres.streamingReplica(1, "0/3000000", new Upstream("127.0.0.1", 5602));
    }

    /** node-1, a replica of node-2 on {@code postgres}; node-2's lease has run out, so node-1's next cycle races unless told not to. */
    Agent replicaOfALostLeader(Postgres postgres) {
        otherLeader("node-2", "0/3000000");
        Agent agent = agent("node-1", postgres);
        agent.cycle();
        secondsPass(agent, 7);
        return agent;
    }

    /** Time passes in whole seconds; {@code agent}'s lease is renewed each second, nobody else's. */
    void secondsPass(Agent agent, int seconds) {
        for (int second = 1; second <= seconds; second++) {
            clock.advanceMillis(1000);
            agent.lease().step(clock.nanoTime());
        }
    }

    /**
     * From now on {@code agent}'s lease is renewed whenever the clock moves, as its keeper thread would: for actions
     * that wait (and so move a fake clock) inside a cycle.
     */
    void keepLeaseAlive(Agent agent) {
        clock.onAdvance(() -> agent.lease().step(clock.nanoTime()));
    }

    static Member member(String name, Role role, MemberState state, String lsn, int port) {
        return new Member(
                name,
                role,
                state,
                "127.0.0.1",
                port,
                "http://127.0.0.1:1",
                1,
                lsn,
                0,
                NodeTags.NONE,
                1,
                1,
                name + "-instance",
                "/data/" + name,
                false);
    }
}
