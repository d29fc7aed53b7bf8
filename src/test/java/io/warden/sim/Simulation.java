package io.warden.sim;

import io.warden.agent.Agent;
import io.warden.agent.AgentConfig;
import io.warden.agent.AgentDriver;
import io.warden.agent.Peers;
import io.warden.cluster.Member;
import io.warden.cluster.SyncMode;
import io.warden.common.FakeClock;
import io.warden.dcs.FakeDcs;
import io.warden.postgres.DataState;
import io.warden.postgres.Standby;
import io.warden.router.Router;
import io.warden.router.RouterDriver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * A whole cluster in one thread, from one seed: three agents (node-1..3) and two routers on one {@link FakeDcs}, one
 * {@link FakeClock}, a {@link SimPostgres} and a {@link SimWatchdog} per node, with faults injected at random. The
 * same seed gives the same run, step for step: every choice comes from {@code new Random(seed)}, and nothing runs on
 * a thread of its own.
 *
 * <h2>How it runs</h2>
 *
 * Each step the clock moves 100-250 ms. Whenever it moves (also inside a component: the router barrier's polling, a
 * slow renewal, a probe commit's wait, a peer that does not answer) the world ticks: watchdogs past their deadline
 * kill their postgres, replicas stream from their upstream, waiting commits are settled, the invariants are checked,
 * and every component that is due and not already on the stack runs once, in a seeded random order: an agent's HA
 * cycle (every loop_wait, or at once when the leader key changed), its lease keeper (as often as the lease asks),
 * a router's round (as often as it asks, or at once on a watch event). Invariants are checked again after each of
 * them. So an agent blocked in the router barrier sees the routers and its own lease keeper go on, as its threads
 * would.
 *
 * <h2>Faults</h2>
 *
 * After {@link #FAULTS_FROM} of calm (bootstrap and the first clones), with small probabilities per step, at most
 * one node and one router faulty at a time, so that a majority path always exists: an agent frozen (no cycle, no
 * renewal, no answer to its peers; its postgres and watchdog run on), a node cut off from etcd, its peers and its
 * replication, an agent crashed and restarted later (a new Agent on the same postgres and watchdog, under a new
 * lease), renewals failing or slow (up to 2.5 s, past the lease margin), answers lost after etcd applied the
 * request; a router frozen, cut off from etcd, or with its renewals failing or slow; and a postgres crash on any
 * node. Faults begin and end between components' calls only: a crash or freeze in the middle of an action is not
 * modelled.
 *
 * <h2>What is checked</h2>
 *
 * Clients write through the routers: each step, through each router that is not frozen, one commit goes to the node
 * the router routes writes to ({@link RouterDriver#writesGoTo}), if that node's postgres runs as primary. It is
 * appended to that node's {@link Wal} and is acknowledged once postgres would return it: at once when the
 * {@code synchronous_standby_names} in effect names nobody, otherwise once every named standby connected to it has
 * flushed it ({@code *}: any one), and only while the router still holds the session open (a fence or a change of
 * primary closes it and the client hears nothing).
 *
 * <ol>
 *   <li><b>Never two primaries routable at once.</b> At no check do two different nodes each both run postgres as
 *       primary and have some router that routes writes to them.
 *   <li><b>No acknowledged commit lost</b> (synchronous_mode on or strict only). Every node routable for writes (as in
 *       1) holds every acknowledged commit: the very record, on the same history, not merely a position as far.
 * </ol>
 *
 * Not checked: liveness (only counted: {@link Outcome#promotions}), reads, switchovers, pause, the checkpointer's
 * delay in applying a reload (see {@link SimPostgres}), and commits made on a node's port directly, bypassing the
 * routers (the docs' "unreplicated tail").
 */
public final class Simulation {
    static final Duration FAULTS_FROM = Duration.ofSeconds(8);
    private static final Duration LOOP_WAIT = Duration.ofSeconds(1);
    /** HttpPeers' timeout: a race that asks a peer that does not answer waits this long. */
    private static final Duration PEER_TIMEOUT = Duration.ofMillis(700);

    private static final int TRACE_LINES = Integer.getInteger("sim.trace", 80);
    private static final List<String> NODES = List.of("node-1", "node-2", "node-3");
    private static final List<String> ROUTERS = List.of("router-1", "router-2");

    /**
     * Which safety mechanisms the world has: all of them, or fewer, to show that the checks can fail.
     *
     * @param watchdogs the watchdogs kill their postgres past the deadline
     * @param routersCheckTheirLease a router forwards writes only while its lease holds; without, while it has not
     *     fenced itself (a frozen router never does)
     * @param commitsWaitForStandbys a commit is acknowledged only once the standbys named have flushed it
     */
    public record Options(boolean watchdogs, boolean routersCheckTheirLease, boolean commitsWaitForStandbys) {
        public static final Options ALL_SAFETY = new Options(true, true, true);
    }

    /** What one run came to; {@code violation} is empty when every check held. */
    public record Outcome(
            long seed,
            int steps,
            Optional<String> violation,
            int promotions,
            int acknowledged,
            int faults,
            int watchdogKills,
            String trace) {}

    private final long seed;
    private final int steps;
    private final Options options;
    private final Random random;
    private final FakeClock clock = new FakeClock();
    private final FakeDcs store = new FakeDcs(clock);
    private final Path dir;
    private final SyncMode mode;
    private final List<Node> nodes = new ArrayList<>();
    private final List<RouterSim> routers = new ArrayList<>();
    private final List<Pending> pending = new ArrayList<>();
    /** Acknowledged commits, only the newest of each chain: every earlier one is a prefix of one of these. */
    private final List<Acknowledged> acknowledged = new ArrayList<>();

    private final List<Fault> faults = new ArrayList<>();
    private final Deque<String> trace = new ArrayDeque<>();
    private final long start = clock.nanoTime();
    private String acting = "world";
    private String violation;
    private int step;
    private int commits;
    private int acknowledgedCount;
    private int promotions;
    private int faultCount;
    private int watchdogKills;
    private boolean started;

    private record Pending(String id, SimPostgres on, Wal record, long pid, RouterSim via) {}

    private record Acknowledged(Wal record, String on, long atNanos) {}

    private record Fault(String what, long endsAt, Runnable end, Object owner) {}

    public Simulation(long seed, int steps, Options options) {
        this.seed = seed;
        this.steps = steps;
        this.options = options;
        this.random = new Random(seed);
        double roll = random.nextDouble();
        this.mode = roll < 0.6 ? SyncMode.ON : roll < 0.8 ? SyncMode.STRICT : SyncMode.OFF;
        try {
            this.dir = Files.createTempDirectory("warden-sim-" + seed + "-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs every step, or until a check fails; never throws for a failed check (see {@link Outcome#violation}). */
    public Outcome run() {
        SimLog.attach(this);
        try {
            setUp();
            for (step = 1; step <= steps && violation == null; step++) {
                endFaults();
                if (clock.nanoTime() - start >= FAULTS_FROM.toNanos()) {
                    injectFaults();
                }
                restartAgents();
                clientsWrite();
                clock.advanceMillis(100 + random.nextInt(151));
            }
            return new Outcome(
                    seed,
                    step - 1,
                    Optional.ofNullable(violation),
                    promotions,
                    acknowledgedCount,
                    faultCount,
                    watchdogKills,
                    String.join("\n", trace));
        } finally {
            routers.forEach(r -> r.router.close());
            SimLog.detach();
            deleteQuietly(dir);
        }
    }

    private void setUp() {
        store.putRaw(
                "config",
                "{\"maximum_lag_on_failover\":1048576,\"synchronous_mode\":\"" + mode.label()
                        + "\",\"synchronous_node_count\":" + (1 + random.nextInt(2))
                        + ",\"pause\":false,\"parameters\":{}}");
        event("seed " + seed + ": synchronous_mode " + mode.label() + ", " + options);
        for (int i = 0; i < NODES.size(); i++) {
            nodes.add(new Node(NODES.get(i), 5601 + i));
        }
        for (String id : ROUTERS) {
            routers.add(new RouterSim(id));
        }
        nodes.forEach(Node::startAgent);
        clock.onAdvance(this::tick);
        started = true;
    }

    // ---- time

    /** Time passes inside a component's call (a wait, a slow request): the world goes on meanwhile. */
    void pass(Duration duration) {
        // Until the clock reads the end, not a sum of chunks: what runs meanwhile may move the clock itself.
        long until = clock.nanoTime() + duration.toNanos();
        for (long left = duration.toNanos(); left > 0; left = until - clock.nanoTime()) {
            clock.advance(Duration.ofNanos(Math.min(left, Duration.ofMillis(50).toNanos())));
        }
    }

    private void tick() {
        if (!started || violation != null) {
            return;
        }
        fireWatchdogs();
        replicate();
        settleCommits();
        check();
        runDue();
    }

    private void runDue() {
        long now = clock.nanoTime();
        List<Runnable> due = new ArrayList<>();
        for (Node node : nodes) {
            if (node.cycleDue(now)) {
                due.add(node::cycle);
            }
            if (node.keeperDue(now)) {
                due.add(node::stepLease);
            }
        }
        for (RouterSim router : routers) {
            if (router.due(now)) {
                due.add(router::step);
            }
        }
        Collections.shuffle(due, random);
        for (Runnable task : due) {
            if (violation != null) {
                return;
            }
            task.run();
            check();
        }
    }

    // ---- postgres among the nodes

    Optional<SimPostgres> postgresAt(int port) {
        return nodes.stream().filter(n -> n.port == port).map(n -> n.postgres).findFirst();
    }

    private Node nodeOf(SimPostgres postgres) {
        return nodes.stream().filter(n -> n.postgres == postgres).findFirst().orElseThrow();
    }

    private Node node(String name) {
        return nodes.stream().filter(n -> n.name.equals(name)).findFirst().orElseThrow();
    }

    /** Whether two nodes' postgres can reach each other: neither is cut off. */
    boolean connected(SimPostgres a, SimPostgres b) {
        return !nodeOf(a).partitioned && !nodeOf(b).partitioned;
    }

    void promoted(SimPostgres postgres) {
        promotions++;
        event(postgres.name + " promoted to timeline " + postgres.timeline + " at " + postgres.wal.lsn());
    }

    /** Replicas connected to their upstream stream from it; most catch up within a tick, some lag behind. */
    private void replicate() {
        for (Node node : nodes) {
            SimPostgres replica = node.postgres;
            if (replica.data() != DataState.RUNNING_REPLICA) {
                replica.streaming = false;
                continue;
            }
            Optional<SimPostgres> upstream =
                    replica.upstream.flatMap(u -> postgresAt(u.port())).filter(u -> u != replica);
            boolean streams = upstream.isPresent()
                    && upstream.get().pid() != 0
                    && connected(replica, upstream.get())
                    && upstream.get().timeline >= replica.timeline
                    && upstream.get().wal.holds(replica.wal);
            replica.streaming = streams;
            if (streams) {
                replica.timeline = upstream.get().timeline;
                if (random.nextDouble() < 0.7) {
                    replica.wal = upstream.get().wal;
                }
            }
        }
    }

    /** The standbys connected to {@code primary}, as its pg_stat_replication shows them. */
    private List<SimPostgres> standbysConnectedTo(SimPostgres primary) {
        return nodes.stream()
                .map(n -> n.postgres)
                .filter(s -> s != primary
                        && s.streaming
                        && s.data() == DataState.RUNNING_REPLICA
                        && s.upstream.map(u -> u.port() == primary.port).orElse(false)
                        && connected(s, primary))
                .sorted(Comparator.comparing(s -> s.name))
                .toList();
    }

    List<Standby> standbysOf(SimPostgres primary) {
        List<SimPostgres> connected = standbysConnectedTo(primary);
        List<Standby> rows = new ArrayList<>();
        for (SimPostgres standby : connected) {
            String state = primary.waitsFor.wildcard()
                    ? (rows.isEmpty() ? "sync" : "potential")
                    : primary.waitsFor.names().contains(standby.name) ? "sync" : "async";
            rows.add(new Standby(standby.name, "streaming", state, standby.wal.lsn()));
        }
        return rows;
    }

    /** The standbys connected to {@code primary} flush everything it has (within a commit's wait). */
    void replicateFrom(SimPostgres primary) {
        for (SimPostgres standby : standbysConnectedTo(primary)) {
            standby.wal = primary.wal;
            standby.timeline = primary.timeline;
        }
    }

    /** Would a commit of {@code record} on {@code primary} have returned by now? */
    boolean acknowledged(SimPostgres primary, Wal record) {
        if (!options.commitsWaitForStandbys()) {
            return true;
        }
        List<String> names = primary.waitsFor.names();
        if (names.isEmpty() && !primary.waitsFor.wildcard()) {
            return true;
        }
        List<SimPostgres> connected = standbysConnectedTo(primary);
        if (primary.waitsFor.wildcard()) {
            return connected.stream().anyMatch(s -> s.wal.holds(record));
        }
        return names.stream()
                .allMatch(name -> connected.stream().anyMatch(s -> s.name.equals(name) && s.wal.holds(record)));
    }

    // ---- clients

    private void clientsWrite() {
        for (RouterSim router : routers) {
            if (router.frozen) {
                continue;
            }
            Optional<Node> target = router.writesGoTo().map(this::node).filter(n -> n.postgres.runningPrimary());
            if (target.isPresent()) {
                SimPostgres primary = target.get().postgres;
                String id = "c" + ++commits;
                primary.wal = primary.wal.append(id);
                pending.add(new Pending(id, primary, primary.wal, primary.pid(), router));
            }
        }
    }

    private void settleCommits() {
        for (var it = pending.iterator(); it.hasNext(); ) {
            Pending commit = it.next();
            if (commit.on.pid() != commit.pid || !commit.on.runningPrimary()) {
                it.remove();
                continue;
            }
            boolean open =
                    commit.via.sessionsOpenTo().map(commit.on.name::equals).orElse(false);
            if (!open) {
                it.remove();
            } else if (acknowledged(commit.on, commit.record)) {
                it.remove();
                acknowledgedCount++;
                acknowledged.removeIf(earlier -> commit.record.holds(earlier.record));
                acknowledged.add(new Acknowledged(commit.record, commit.on.name, clock.nanoTime()));
            }
        }
    }

    // ---- the checks

    private void check() {
        if (violation != null) {
            return;
        }
        Map<String, List<String>> routable = new TreeMap<>();
        for (RouterSim router : routers) {
            router.writesGoTo()
                    .filter(name -> node(name).postgres.runningPrimary())
                    .ifPresent(name -> routable.computeIfAbsent(name, n -> new ArrayList<>())
                            .add(router.id));
        }
        if (routable.size() > 1) {
            fail("two primaries routable at once: " + describe(routable));
            return;
        }
        if (mode == SyncMode.OFF) {
            return;
        }
        for (String name : routable.keySet()) {
            SimPostgres primary = node(name).postgres;
            for (Acknowledged commit : acknowledged) {
                if (!primary.wal.holds(commit.record)) {
                    fail("acknowledged commit " + commit.record + " (acknowledged by " + commit.on + " at "
                            + at(commit.atNanos)
                            + ") is missing on " + name + ", routable for writes through " + routable.get(name)
                            + " (its WAL ends at "
                            + primary.wal + ", timeline " + primary.timeline + ")");
                    return;
                }
            }
        }
    }

    private String describe(Map<String, List<String>> routable) {
        StringBuilder text = new StringBuilder();
        routable.forEach((name, via) -> text.append(text.isEmpty() ? "" : "; ")
                .append(name)
                .append(" (postgres pid ")
                .append(node(name).postgres.pid())
                .append(", timeline ")
                .append(node(name).postgres.timeline)
                .append(") through ")
                .append(via));
        return text.toString();
    }

    private void fail(String what) {
        violation = "seed " + seed + ", step " + step + ", t=" + at(clock.nanoTime()) + ": " + what;
        event("VIOLATION: " + what);
    }

    // ---- watchdogs

    private void fireWatchdogs() {
        if (!options.watchdogs()) {
            return;
        }
        long now = clock.nanoTime();
        for (Node node : nodes) {
            if (node.watchdog.killsAt(now) && node.postgres.pid() != 0) {
                node.postgres.kill();
                watchdogKills++;
                event("watchdog of " + node.name + " killed its postgres (deadline passed)");
            }
        }
    }

    // ---- faults

    private boolean faulty(Object owner) {
        return faults.stream().anyMatch(f -> f.owner == owner);
    }

    private boolean anyFaulty(Collection<?> owners) {
        return faults.stream().anyMatch(f -> owners.contains(f.owner));
    }

    private long seconds(double from, double to) {
        return (long) ((from + random.nextDouble() * (to - from)) * 1e9);
    }

    private void fault(String what, Object owner, long durationNanos, Runnable begin, Runnable end) {
        faultCount++;
        event("fault: " + what + " for " + durationNanos / 1_000_000 + " ms");
        begin.run();
        faults.add(new Fault(what, clock.nanoTime() + durationNanos, end, owner));
    }

    /** A fault that is a switch: {@code toggle} turns it on now, and off again after 1 to 12 s. */
    private void switchedOn(String what, Object owner, Consumer<Boolean> toggle) {
        fault(what, owner, seconds(1, 12), () -> toggle.accept(true), () -> toggle.accept(false));
    }

    /** {@code owner}'s lease renewals through {@code dcs} fail for a while; {@code who} names it in the trace. */
    private void renewalsFail(String who, Object owner, SimDcs dcs) {
        fault("renewals of " + who + " fail", owner, seconds(1, 6), () -> dcs.failRenewals(true), dcs::heal);
    }

    /** {@code owner}'s lease renewals through {@code dcs} take 0.3 to 2.5 s each for a while. */
    private void renewalsAreSlow(String who, Object owner, SimDcs dcs) {
        Duration delay = Duration.ofMillis(300 + random.nextInt(2200));
        fault(
                "renewals of " + who + " take " + delay.toMillis() + " ms",
                owner,
                seconds(2, 8),
                () -> dcs.delayRenewals(delay),
                dcs::heal);
    }

    private void endFaults() {
        long now = clock.nanoTime();
        for (var it = faults.iterator(); it.hasNext(); ) {
            Fault fault = it.next();
            if (now - fault.endsAt >= 0) {
                it.remove();
                event("fault over: " + fault.what);
                fault.end.run();
            }
        }
    }

    private void injectFaults() {
        if (random.nextDouble() < 0.008) {
            Node node = nodes.get(random.nextInt(nodes.size()));
            if (node.postgres.pid() != 0) {
                faultCount++;
                event("fault: postgres on " + node.name + " crashes");
                node.postgres.crash();
            }
        }
        if (!anyFaulty(nodes) && random.nextDouble() < 0.035) {
            Node node = nodes.get(random.nextInt(nodes.size()));
            int kind = random.nextInt(6);
            switch (kind) {
                case 0 -> switchedOn("agent of " + node.name + " frozen", node, frozen -> node.frozen = frozen);
                case 1 ->
                    switchedOn(node.name + " cut off from etcd, its peers and its replication", node, node::partition);
                case 2 -> {
                    if (node.agent != null) {
                        fault(
                                "agent of " + node.name + " crashed (restarts after)",
                                node,
                                seconds(0.5, 10),
                                node::crashAgent,
                                () -> {});
                    }
                }
                case 3 -> renewalsFail(node.name, node, node.dcs);
                case 4 -> renewalsAreSlow(node.name, node, node.dcs);
                case 5 ->
                    fault(
                            "a third of " + node.name + "'s etcd answers are lost",
                            node,
                            seconds(1, 6),
                            () -> node.dcs.loseAnswers(0.33),
                            node.dcs::heal);
                default -> throw new IllegalStateException("no fault " + kind);
            }
        }
        if (!anyFaulty(routers) && random.nextDouble() < 0.02) {
            RouterSim router = routers.get(random.nextInt(routers.size()));
            int kind = random.nextInt(4);
            switch (kind) {
                case 0 -> switchedOn(router.id + " frozen", router, frozen -> router.frozen = frozen);
                case 1 -> switchedOn(router.id + " cut off from etcd", router, router.dcs::cutOff);
                case 2 -> renewalsFail(router.id, router, router.dcs);
                case 3 -> renewalsAreSlow(router.id, router, router.dcs);
                default -> throw new IllegalStateException("no fault " + kind);
            }
        }
    }

    private void restartAgents() {
        long now = clock.nanoTime();
        for (Node node : nodes) {
            if (node.agent == null && now - node.restartAt >= 0 && !faulty(node)) {
                node.startAgent();
            }
        }
    }

    // ---- the trace

    private String at(long nanos) {
        return String.format("%.3f s", (nanos - start) / 1e9);
    }

    private void event(String what) {
        trace.addLast(at(clock.nanoTime()) + " [" + acting + "] " + what);
        while (trace.size() > TRACE_LINES) {
            trace.removeFirst();
        }
    }

    private <T> T as(String who, Supplier<T> call) {
        String before = acting;
        acting = who;
        try {
            return call.get();
        } finally {
            acting = before;
        }
    }

    // ---- the components

    private final class Node implements Peers {
        final String name;
        final int port;
        final SimPostgres postgres;
        final SimWatchdog watchdog = new SimWatchdog();
        final SimDcs dcs;
        final AgentConfig config;
        Agent agent;
        boolean frozen;
        boolean partitioned;
        boolean woken;
        boolean inCycle;
        boolean inKeeper;
        long nextCycle;
        long nextKeeper;
        long restartAt;

        Node(String name, int port) {
            this.name = name;
            this.port = port;
            this.postgres = new SimPostgres(name, port, Simulation.this);
            this.dcs = new SimDcs(store, Simulation.this, random, name);
            this.config = AgentDriver.config(name, port, dir);
            dcs.watch(() -> woken = true);
        }

        void startAgent() {
            Agent next = new Agent(config, dcs, postgres, this, Optional.of(watchdog), clock);
            try {
                as(name + " start", () -> {
                    AgentDriver.connect(next);
                    return null;
                });
            } catch (io.warden.common.WardenException e) {
                event("agent of " + name + " could not start: " + e.getMessage());
                restartAt = clock.nanoTime() + LOOP_WAIT.toNanos();
                return;
            }
            agent = next;
            nextCycle = clock.nanoTime();
            nextKeeper = clock.nanoTime();
            event("agent of " + name + " started");
        }

        void crashAgent() {
            agent = null;
            // Restarted once its fault is over (restartAgents).
            restartAt = clock.nanoTime();
        }

        void partition(boolean cut) {
            partitioned = cut;
            dcs.cutOff(cut);
        }

        boolean cycleDue(long now) {
            return agent != null && !frozen && !inCycle && (woken || now - nextCycle >= 0);
        }

        boolean keeperDue(long now) {
            return agent != null && !frozen && !inKeeper && now - nextKeeper >= 0;
        }

        void cycle() {
            Agent running = agent;
            inCycle = true;
            woken = false;
            long begun = clock.nanoTime();
            try {
                as(name + " cycle", () -> {
                    AgentDriver.cycle(running);
                    return null;
                });
            } finally {
                inCycle = false;
            }
            nextCycle = Math.max(begun + LOOP_WAIT.toNanos(), clock.nanoTime());
        }

        void stepLease() {
            Agent running = agent;
            inKeeper = true;
            try {
                long delay = as(name + " keeper", () -> AgentDriver.stepLease(running, clock.nanoTime()));
                nextKeeper = clock.nanoTime() + delay;
            } finally {
                inKeeper = false;
            }
        }

        /** Whether this node's agent answers {@code asker}'s REST call now. */
        boolean answers(Node asker) {
            return agent != null && !frozen && !partitioned && !asker.partitioned && agent.view() != null;
        }

        // ---- Peers, as this node's agent asks the others

        @Override
        public Map<String, PeerStatus> statuses(Collection<Member> members) {
            Map<String, PeerStatus> answered = new HashMap<>();
            boolean someoneSilent = false;
            for (Member member : members) {
                Optional<Member> status = status(member);
                if (status.isPresent()) {
                    answered.put(member.name(), new PeerStatus.Reported(status.get()));
                } else {
                    someoneSilent = true;
                }
            }
            if (someoneSilent) {
                // The requests go out together; one that gets no answer is given up after the timeout.
                pass(PEER_TIMEOUT);
            }
            return answered;
        }

        @Override
        public Optional<Member> status(Member member) {
            return nodes.stream()
                    .filter(n -> n.name.equals(member.name()) && n != this && n.answers(this))
                    .findFirst()
                    .map(n -> n.agent.liveStatus());
        }

        @Override
        public OptionalInt liveness(Member member) {
            return status(member).isPresent() ? OptionalInt.of(200) : OptionalInt.empty();
        }
    }

    private final class RouterSim {
        final String id;
        final SimDcs dcs;
        final Router router;
        boolean frozen;
        boolean woken;
        boolean busy;
        long next;

        RouterSim(String id) {
            this.id = id;
            this.dcs = new SimDcs(store, Simulation.this, random, id);
            this.router = RouterDriver.router(id, dcs, clock);
            this.next = clock.nanoTime();
            dcs.watchAll(keys -> {
                RouterDriver.changed(router, keys);
                woken = true;
            });
        }

        boolean due(long now) {
            return !frozen && !busy && (woken || now - next >= 0);
        }

        void step() {
            busy = true;
            woken = false;
            try {
                long delay = as(id, () -> RouterDriver.step(router, clock.nanoTime()));
                next = clock.nanoTime() + Math.max(delay, Duration.ofMillis(20).toNanos());
            } finally {
                busy = false;
            }
        }

        Optional<String> writesGoTo() {
            return options.routersCheckTheirLease()
                    ? RouterDriver.writesGoTo(router)
                    : RouterDriver.writesGoToIgnoringTheLease(router);
        }

        Optional<String> sessionsOpenTo() {
            return RouterDriver.sessionsOpenTo(router);
        }
    }

    // ---- housekeeping

    private static void deleteQuietly(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder())
                    .forEach(path -> path.toFile().delete());
        } catch (IOException e) {
            // A temporary directory left behind costs nothing.
        }
    }

    /**
     * Warden's log records, while simulations run, go into the trace of the simulation running on the calling
     * thread instead of the console: thousands of runs would print millions of lines, and a failure wants the last
     * few of its own run next to its events.
     */
    private static final class SimLog extends Handler {
        private static final Logger WARDEN = Logger.getLogger("io.warden");
        private static final ThreadLocal<Simulation> CURRENT = new ThreadLocal<>();
        private static final SimLog INSTANCE = new SimLog();
        private static int attached;
        private static boolean parentHandlers;
        private static Level level;

        static synchronized void attach(Simulation simulation) {
            CURRENT.set(simulation);
            if (attached++ == 0) {
                parentHandlers = WARDEN.getUseParentHandlers();
                level = WARDEN.getLevel();
                WARDEN.setUseParentHandlers(false);
                WARDEN.setLevel(Level.INFO);
                WARDEN.addHandler(INSTANCE);
            }
        }

        static synchronized void detach() {
            CURRENT.remove();
            if (--attached == 0) {
                WARDEN.removeHandler(INSTANCE);
                WARDEN.setUseParentHandlers(parentHandlers);
                WARDEN.setLevel(level);
            }
        }

        @Override
        public void publish(LogRecord record) {
            Simulation simulation = CURRENT.get();
            if (simulation != null && record.getLevel().intValue() >= Level.INFO.intValue()) {
                simulation.event(record.getLevel() + " " + record.getMessage());
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    }
}
