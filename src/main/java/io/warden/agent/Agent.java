package io.warden.agent;

import static java.util.Objects.requireNonNull;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.common.Clock;
import io.warden.common.WardenException;
import io.warden.dcs.Dcs;
import io.warden.dcs.DcsException;
import io.warden.dcs.Lease;
import io.warden.postgres.DataState;
import io.warden.postgres.LocalState;
import io.warden.postgres.ParameterValidator;
import io.warden.postgres.Postgres;
import io.warden.watchdog.WatchdogClient;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node's HA agent: each cycle reads the DCS once, observes its postgres, decides with {@link HaDecider}, and
 * acts. Threads: the HA loop (this class's cycles, paced by {@link HaLoop}; the only one that changes postgres), the
 * {@link Lease} keeper, the etcd watch callback (only wakes the loop), and the REST API (reads {@link #view()}). See
 * docs/agent.md.
 *
 * <p>Its collaborators are parameters, wired in one place (the agent command): the DCS, the {@link Postgres} it
 * manages, its {@link Peers}, the watchdog and the {@link Clock}. A cycle reads the clock once for its decision, after
 * it has read the DCS and observed postgres, and every deadline it tracks is measured on that clock, so a test drives
 * {@link #cycle} with literal times.
 */
public final class Agent implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    /**
     * Lease lifetimes the HA loop may spend in one action (initdb, pg_rewind, a promotion) before renewals stop.
     * Safety does not depend on it (renewals are what fencing counts); it only keeps a wedged loop from holding
     * leadership forever.
     */
    private static final int LOOP_STALL_TTLS = 20;

    /** One renewal attempt: short, retried at once, so a request lost on a stream to a dead etcd member is resent to a live one. */
    private static final Duration RENEWAL_ATTEMPT = Duration.ofMillis(400);

    private final AgentConfig config;
    private final Dcs dcs;
    private final Postgres postgres;
    private final Peers peers;
    private final Clock clock;
    private final WatchdogArm watchdog;
    private final Lease lease;
    private final AgentMetrics metrics = new AgentMetrics(this::view);
    private final String instanceId = UUID.randomUUID().toString();
    private final StartUp startUp;

    private final HaLoop loop;
    private final AtomicLong loopErrors = new AtomicLong();
    private final UnreadableValues unreadableValues;
    private final LastConfig lastConfig;
    private final ReasonLog reasons = new ReasonLog(LOG);
    private final WardenConf conf;
    private final Publication publication;
    private final NodeCommandRunner commands;
    private final ClusterRecords records;
    private final StepDown stepDown;
    private final HandOver handOver;
    private final CycleInput inputs;
    private final Actions actions;

    private volatile AgentView view;
    private long cycles;
    /** The snapshot this cycle decides from; the config it carries is what every config write applies. */
    private ClusterSnapshot current = ClusterSnapshot.empty();

    /** What the REST API shows: the last cycle's input, decision and published member. */
    public record AgentView(
            ClusterSnapshot cluster, LocalState local, Decision decision, Member self, long cycleNanos, long cycles) {}

    /**
     * @param watchdog the node's watchdog, or empty when the config does not require one
     */
    public Agent(
            AgentConfig config,
            Dcs dcs,
            Postgres postgres,
            Peers peers,
            Optional<WatchdogClient> watchdog,
            Clock clock) {
        this.config = requireNonNull(config, "config is null");
        this.dcs = requireNonNull(dcs, "dcs is null");
        this.postgres = requireNonNull(postgres, "postgres is null");
        this.peers = requireNonNull(peers, "peers is null");
        this.clock = requireNonNull(clock, "clock is null");
        this.watchdog = new WatchdogArm(watchdog, this::fenceFromKeeper);
        this.lastConfig = new LastConfig(config.workPath());
        this.unreadableValues = new UnreadableValues(metrics::unreadableValue);
        this.lease = new Lease(
                dcs,
                config.ttlDuration(),
                RENEWAL_ATTEMPT,
                config.ttlDuration().multipliedBy(LOOP_STALL_TTLS),
                clock,
                this.watchdog);
        Node node = new Node(config, dcs, postgres, lease, this.watchdog, clock);
        this.conf = new WardenConf(config, postgres, () -> current);
        SyncReplication sync = new SyncReplication(node, conf, reasons);
        ReplicationSlots slots = new ReplicationSlots(node, reasons);
        this.publication = new Publication(node, sync, reasons, instanceId);
        this.startUp = new StartUp(node, peers, instanceId);
        Rejoin rejoin = new Rejoin(node, conf, publication, reasons, this::lastSeenCluster);
        this.commands = new NodeCommandRunner(node, conf, rejoin);
        this.records = new ClusterRecords(dcs);
        this.stepDown = new StepDown(node);
        KeyTaken keyTaken = new KeyTaken();
        Primary primary = new Primary(node, conf, sync, slots, publication, stepDown, records, metrics, keyTaken);
        this.handOver = new HandOver(node, peers, publication, records);
        this.actions = new Actions(rejoin, primary, stepDown, handOver);
        this.inputs = new CycleInput(node, new PeerProbe(node, peers, reasons), rejoin, handOver, keyTaken);
        this.loop = new HaLoop(node, handOver::waiting, metrics::cycleTook);
    }

    public AgentConfig config() {
        return config;
    }

    public AgentView view() {
        return view;
    }

    public AgentMetrics metrics() {
        return metrics;
    }

    public Duration ttl() {
        return config.ttlDuration();
    }

    /** The DCS client, for the REST API's requests (jetcd's client is thread-safe). */
    public Dcs dcs() {
        return dcs;
    }

    /** Checks parameter values against this node's running postgres; empty when it does not answer. */
    public Optional<ParameterValidator> parameterValidator() {
        return postgres.parameterValidator();
    }

    /**
     * Is this node a writable primary right now, as a load balancer asks with {@code GET /primary}: its last cycle
     * saw it as the running primary holding the leader key, that cycle completed within 2 x loop_wait (a loop that
     * is stuck cannot vouch for anything), and the lease still holds now. A load balancer must never hear yes from
     * a primary that lost its lease.
     */
    public boolean writablePrimaryNow() {
        AgentView last = view;
        long now = clock.nanoTime();
        return last != null
                && last.self().role() == Role.PRIMARY
                && last.self().state() == MemberState.RUNNING
                && last.cluster().isLeader(last.self().name())
                && last.cluster()
                        .leader()
                        .map(l -> l.leaseId() == lease.term().id())
                        .orElse(false)
                && now - last.cycleNanos()
                        < config.loopWaitDuration().multipliedBy(2).toNanos()
                && lease.valid(now);
    }

    /** Cycles that failed with an unexpected error since start (logged, counted, and the loop went on). */
    long loopErrors() {
        return loopErrors.get();
    }

    /** The lease this agent holds now (the REST API reads it; tests step it). */
    Lease lease() {
        return lease;
    }

    /** The checks before the agent owns anything: etcd answers (the first lease), and its name is not in use. */
    private void startUpChecks() {
        connect();
        refuseDuplicateName();
    }

    /** Refuses to run under a name another live agent uses (see {@link StartUp#refuseDuplicateName}). */
    void refuseDuplicateName() {
        startUp.refuseDuplicateName();
    }

    /**
     * Start-up checks, then the HA loop until {@link #shutdown()} (which the loop then carries out, last) or
     * {@link #close()}.
     */
    public void run() {
        startUpChecks();
        loop.started();
        lease.keepAliveOn("lease-keeper");
        postgres.prepare(config.superuserPassword(), config.replicationPassword());
        // A restarted agent of a running primary must keep waiting for the standbys postgres waits for now: the
        // published synchronous set was built on that.
        conf.readSynchronousStandbys();
        loop.run(this::cycle, this::stopLast);
    }

    /** The HA loop's last step after {@link #shutdown}: stops postgres, gives up leadership and lets go of etcd. */
    private void stopLast() {
        if (handOver.waiting()) {
            handOver.abandon("shutting down during a hand-over its candidate has not confirmed: the"
                    + " switchover request is deleted, so the next leader is chosen by the race");
        }
        stepDown.shutdownLast();
        postgres.close();
        dcs.close();
    }

    /** Grants the first lease; the agent does nothing else until etcd answers (see {@link StartUp#connect}). */
    void connect() {
        startUp.connect();
    }

    /**
     * One HA cycle. Never throws: the loop that keeps postgres alive must not die of one bad value or one bug. A
     * cycle that fails unexpectedly is logged with its stack trace and counted, and the next one starts from a fresh
     * read.
     */
    void cycle() {
        try {
            plan().ifPresent(this::carryOut);
        } catch (RuntimeException e) {
            loopErrors.incrementAndGet();
            metrics.cycleFailed();
            LOG.error(
                    "HA cycle " + cycles + " failed unexpectedly; the next cycle starts from a fresh"
                            + " read (please report this with the stack trace)",
                    e);
        } finally {
            publication.actionEnded();
        }
    }

    /**
     * What one cycle decided, and everything it decided from: carried out by {@link #carryOut}, which may act only
     * while {@code term} is still the lease it holds.
     */
    record Plan(ClusterSnapshot cluster, LocalState local, Decision decision, Lease.Term term) {}

    /** The first half of a cycle: read, observe, decide. Empty when the DCS could not be read (nothing to act on). */
    Optional<Plan> plan() {
        cycles++;
        ClusterSnapshot cluster;
        try {
            cluster = records.removeUnleasedLeader(dcs.read());
        } catch (DcsException e) {
            lease.ownerAlive(clock.nanoTime());
            reasons.log("cannot read the DCS: " + e.getMessage());
            // The lease keeper fences a primary whose lease runs out; nothing here may act on stale knowledge.
            publishView(lastSeenCluster(), observe(), Decision.of(Action.WAIT, "DCS unreachable"));
            return Optional.empty();
        }
        unreadableValues.report(cluster);
        long seenAt = clock.nanoTime();
        inputs.saw(cluster, seenAt);
        boolean configKnown = lastConfig.known(cluster);
        cluster = lastConfig.apply(cluster);
        current = cluster;
        LocalState local = observe();
        if (commands.runNext(cluster, local)) {
            local = observe();
        }
        // The one reading of the clock the decision is made from, once everything it decides on has been read: a
        // lease judged before a slow DCS read would look valid for longer than it is. Side effects that need the
        // lease check it again when they happen.
        long now = clock.nanoTime();
        java.time.Instant calendar = clock.instant();
        lease.ownerAlive(now);
        Lease.Term term = lease.term();
        HaInput input = inputs.read(cluster, local, configKnown, term, now, calendar);
        Decision decision = HaDecider.decide(input);
        reasons.log(decision.toString());
        return Optional.of(new Plan(cluster, local, decision, term));
    }

    /** The second half of a cycle: act on the plan, then publish what this node now is. */
    void carryOut(Plan plan) {
        ClusterSnapshot cluster = plan.cluster();
        LocalState local = plan.local();
        Decision decision = plan.decision();
        try {
            actions.carryOut(decision, cluster, local, plan.term());
        } catch (WardenException | DcsException e) {
            reasons.log("action " + decision.action() + " failed: " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.error("action " + decision.action() + " failed unexpectedly", e);
        } finally {
            publication.actionEnded();
        }
        if (handOver.waiting()) {
            // Between the cycles of a hand-over too: the routers hold new sessions for the candidate.
            publication.inProgress(MemberState.HANDING_OVER);
        }
        LocalState after = observe();
        Member self = publication.publishSelf(cluster, after);
        // When the cycle completed, not when it decided: /liveness judges the loop by it.
        view = new AgentView(cluster, after, decision, self, clock.nanoTime(), cycles);
    }

    /** The cluster as the last cycle saw it (empty before the first). */
    private ClusterSnapshot lastSeenCluster() {
        return view == null ? ClusterSnapshot.empty() : view.cluster();
    }

    private void publishView(ClusterSnapshot cluster, LocalState local, Decision decision) {
        view = new AgentView(cluster, local, decision, publication.member(cluster, local), clock.nanoTime(), cycles);
    }

    /** Called from the lease keeper's thread when the lease ran out while we were primary. */
    private void fenceFromKeeper() {
        postgres.kill().ifPresent(what -> LOG.warn("fencing: lease not renewed in time: " + what));
    }

    /** Reads the state of the local postgres; never throws. */
    LocalState observe() {
        return postgres.observe();
    }

    /**
     * This member with its WAL position read from postgres right now. Candidates in a failover race compare
     * positions; a position one loop old can make a lagging replica win and strand a further one on the old
     * timeline. Uses its own connection: the HA loop's is not shared across threads.
     */
    public Member liveStatus() {
        AgentView current = view;
        if (current == null) {
            return null;
        }
        Member self = current.self();
        if (current.local().data() != DataState.RUNNING_REPLICA) {
            return self;
        }
        return postgres.receivedPosition().map(self::withPosition).orElse(self);
    }

    /**
     * Queues an operator's command for the HA loop and wakes it. The future completes with a sentence saying what
     * was done, or exceptionally: {@link NodeCommand.Refused} when the node's role forbids it, otherwise a failure.
     */
    public CompletableFuture<String> submit(NodeCommand command) {
        CompletableFuture<String> done = commands.queue(command);
        loop.wakeUp();
        return done;
    }

    /** Graceful stop: a primary hands off by releasing the key after postgres stops, so a replica takes over at once. */
    @Override
    public void close() {
        loop.close();
    }

    /** Stops postgres (fast mode) and gives up leadership; used on SIGTERM. */
    public void shutdown() {
        shutdown(Duration.ofSeconds(60));
    }

    /** Asks the HA loop to shut down and waits at most {@code limit} for it (see {@link HaLoop#shutdown}). */
    void shutdown(Duration limit) {
        loop.shutdown(limit);
    }
}
