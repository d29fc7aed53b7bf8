package io.warden.agent;

import static io.warden.agent.Results.check;
import static io.warden.agent.WardenConf.upstream;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.HistoryEntry;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Optime;
import io.warden.cluster.Role;
import io.warden.cluster.SyncMode;
import io.warden.cluster.SyncState;
import io.warden.common.Clock;
import io.warden.common.Poll;
import io.warden.common.Processes.Result;
import io.warden.common.WardenException;
import io.warden.dcs.Dcs;
import io.warden.dcs.DcsException;
import io.warden.dcs.Lease;
import io.warden.postgres.DataState;
import io.warden.postgres.LocalState;
import io.warden.postgres.ParameterValidator;
import io.warden.postgres.Postgres;
import io.warden.postgres.PostgresCtl.Upstream;
import io.warden.postgres.PostgresCtl;
import io.warden.postgres.ProbeCommit;
import io.warden.postgres.Standby;
import io.warden.watchdog.WatchdogClient;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;
import java.util.stream.Collectors;

/**
 * One node's HA agent: each cycle reads the DCS once, observes its postgres, decides with {@link HaDecider}, and
 * acts. Threads: the HA loop (this class, the only one that changes postgres), the {@link Lease} keeper, the etcd
 * watch callback (only wakes the loop), and the REST API (reads {@link #view()}). See docs/agent.md.
 *
 * <p>Its collaborators are parameters, wired in one place (the agent command): the DCS, the {@link Postgres} it
 * manages, its {@link Peers}, the watchdog and the {@link Clock}. A cycle reads the clock once for its decision, after
 * it has read the DCS and observed postgres, and every deadline it tracks is measured on that clock, so a test drives
 * {@link #cycle} with literal times.
 */
public final class Agent implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Agent.class.getName());

    /**
     * Lease lifetimes the HA loop may spend in one action (initdb, pg_rewind, a promotion) before renewals stop.
     * Safety does not depend on it (renewals are what fencing counts); it only keeps a wedged loop from holding
     * leadership forever.
     */
    private static final int LOOP_STALL_TTLS = 20;

    /** One renewal attempt: short, retried at once, so a request lost on a stream to a dead etcd member is resent to a live one. */
    private static final Duration RENEWAL_ATTEMPT = Duration.ofMillis(400);

    private final NodeConfig config;
    private final Dcs dcs;
    private final Postgres postgres;
    private final Peers peers;
    private final Clock clock;
    private final WatchdogArm watchdog;
    private final Lease lease;
    private final AgentMetrics metrics = new AgentMetrics(this::view);
    private final String instanceId = UUID.randomUUID().toString();
    private final Semaphore wakeUp = new Semaphore(0);
    private final java.util.concurrent.atomic.AtomicLong loopErrors = new java.util.concurrent.atomic.AtomicLong();
    private final UnreadableValues unreadableValues;
    /** Members as last published, and when: see {@link #probePeers}. Touched by the HA loop only. */
    private final Map<String, SeenMember> recentMembers = new HashMap<>();

    private record SeenMember(Member member, long atNanos) {}
    private final LastConfig lastConfig;
    private final ReasonLog reasons = new ReasonLog(LOG);
    private final LeaseChecks leaseChecks;
    private final WardenConf conf;
    private final SyncReplication sync;
    private final ReplicationSlots slots;
    private final Publication publication;
    private final Rejoin rejoin;
    private final NodeCommandRunner commands;

    private volatile AgentView view;
    private volatile boolean running = true;
    /** Set by {@link #shutdown}: the loop ends after the cycle under way and runs {@link #stopLast}. */
    private volatile boolean stopRequested;
    private final java.util.concurrent.CountDownLatch loopEnded = new java.util.concurrent.CountDownLatch(1);
    /** Set once the start-up checks passed; before that the agent owns nothing it could stop or release. */
    private volatile boolean started;
    private long primaryDownSinceNanos;
    private long cycles;
    /** The snapshot this cycle decides from; the config it carries is what every config write applies. */
    private ClusterSnapshot current = ClusterSnapshot.empty();
    /** This cycle's decision: its reason is what the history records for a promotion. */
    private Decision currentDecision = Decision.of(Action.WAIT, "starting");
    /** Set when this node stopped its primary for a switchover, until postgres runs again (see HaInput). */
    private boolean handedOver;

    /** What the REST API shows: the last cycle's input, decision and published member. */
    public record AgentView(ClusterSnapshot cluster, LocalState local, Decision decision, Member self, long cycleNanos, long cycles) {}

    /**
     * @param watchdog the node's watchdog, or empty when the config does not require one
     */
    public Agent(NodeConfig config, Dcs dcs, Postgres postgres, Peers peers, Optional<WatchdogClient> watchdog, Clock clock) {
        this.config = java.util.Objects.requireNonNull(config, "config is null");
        this.dcs = java.util.Objects.requireNonNull(dcs, "dcs is null");
        this.postgres = java.util.Objects.requireNonNull(postgres, "postgres is null");
        this.peers = java.util.Objects.requireNonNull(peers, "peers is null");
        this.clock = java.util.Objects.requireNonNull(clock, "clock is null");
        this.watchdog = new WatchdogArm(watchdog, this::fenceFromKeeper);
        this.lastConfig = new LastConfig(config.workPath());
        this.unreadableValues = new UnreadableValues(metrics::unreadableValue);
        this.lease = new Lease(dcs, config.ttlDuration(), RENEWAL_ATTEMPT, config.ttlDuration().multipliedBy(LOOP_STALL_TTLS), clock,
                this.watchdog);
        this.leaseChecks = new LeaseChecks(lease, this.watchdog, clock);
        this.conf = new WardenConf(config, postgres, () -> current);
        this.sync = new SyncReplication(config, dcs, postgres, conf, reasons);
        this.slots = new ReplicationSlots(config, postgres, reasons);
        this.publication = new Publication(config, dcs, lease, clock, sync, reasons, instanceId);
        this.rejoin = new Rejoin(config, postgres, this.watchdog, clock, conf, publication, reasons, this::lastSeenCluster);
        this.commands = new NodeCommandRunner(config, postgres, lease, this.watchdog, clock, conf, rejoin);
    }

    public NodeConfig config() {
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
                && last.cluster().leader().map(l -> l.leaseId() == lease.term().id()).orElse(false)
                && now - last.cycleNanos() < config.loopWaitDuration().multipliedBy(2).toNanos()
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

    /**
     * Start-up checks, then the HA loop until {@link #shutdown()} (which the loop then carries out, last) or
     * {@link #close()}.
     */
    public void run() {
        connect();
        refuseDuplicateName();
        started = true;
        lease.keepAliveOn("lease-keeper");
        postgres.prepare(config.superuserPassword(), config.replicationPassword());
        // A restarted agent of a running primary must keep waiting for the standbys postgres waits for now: the
        // published synchronous set was built on that.
        conf.readSynchronousStandbys();
        try (AutoCloseable watch = dcs.watch(wakeUp::release)) {
            while (running && !stopRequested) {
                long started = clock.nanoTime();
                // Drained before the cycle, not after: a change of the leader key seen while the cycle runs (the
                // old primary releasing it in a switchover, say) must start the next cycle at once, not a loop_wait later.
                wakeUp.drainPermits();
                cycle();
                metrics.cycleTook(clock.nanoTime() - started);
                long waitMillis = config.loopWaitDuration().toMillis() - (clock.nanoTime() - started) / 1_000_000;
                if (waitMillis > 0 && running && !stopRequested) {
                    wakeUp.tryAcquire(waitMillis, TimeUnit.MILLISECONDS);
                }
            }
            if (stopRequested) {
                stopLast();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            throw new WardenException("agent stopped: " + e, "see the agent log", e);
        } finally {
            loopEnded.countDown();
        }
    }

    /**
     * The shutdown command, the last thing the HA loop does: postgres stops (fast mode) and leadership is given
     * up, so a replica takes over at once. Each step is tried even when one before it failed.
     */
    private void stopLast() {
        LOG.info("shutting down: stopping postgres and giving up leadership");
        try {
            postgres.stop("fast", Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            LOG.log(java.util.logging.Level.WARNING, "could not stop postgres on shutdown", e);
        }
        watchdog.disarm();
        try {
            dcs.releaseLeader(config.name(), lease.term().id());
        } catch (DcsException e) {
            LOG.warning("could not release leadership on shutdown (it expires with the lease): " + e.getMessage());
        }
        lease.revoke();
        postgres.close();
        dcs.close();
    }

    /** Grants the first lease; the agent does nothing else until etcd answers. */
    void connect() {
        try {
            lease.start(Lease.STARTUP_WAIT);
        } catch (DcsException e) {
            throw new WardenException(
                    "cannot reach etcd at " + String.join(",", config.etcd()) + " for " + Lease.STARTUP_WAIT.toSeconds() + " s: "
                            + e.getMessage(),
                    "start etcd, or fix the 'etcd' endpoints in the agent's config file");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WardenException("interrupted while waiting for etcd at start-up", "start the agent again");
        }
    }

    /** A second agent with a name already alive in the cluster must not start: it would fight over one key. */
    private void refuseDuplicateName() {
        ClusterSnapshot cluster = dcs.read();
        Member existing = cluster.members().get(config.name());
        if (existing == null || existing.instanceId().equals(instanceId)) {
            return;
        }
        if (existing.apiUrl().equals(config.apiUrl())) {
            // Our own API already holds that address (it binds before this check), so whoever published it last is
            // gone: probing it would only reach ourselves. This is a restart after a crash, before the old lease ran out.
            LOG.info("an earlier run of " + config.name() + " at " + existing.apiUrl() + " is gone: taking over its name");
            return;
        }
        OptionalInt liveness = peers.liveness(existing);
        if (liveness.isEmpty()) {
            LOG.info("an earlier run of " + config.name() + " at " + existing.apiUrl() + " does not answer: taking over its name");
        } else if (liveness.getAsInt() < 500 || existing.agentPid() != ProcessHandle.current().pid()) {
            throw new WardenException(
                    "node name '" + config.name() + "' is already alive in cluster '" + config.cluster() + "' (agent at "
                            + existing.apiUrl() + ", pid " + existing.agentPid() + ", data " + existing.dataDir() + ")",
                    "give this node another name, or stop the running one first");
        }
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
            LOG.log(java.util.logging.Level.SEVERE, "HA cycle " + cycles + " failed unexpectedly; the next cycle starts from a fresh"
                    + " read (please report this with the stack trace)", e);
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
            cluster = removeUnleasedLeader(dcs.read());
        } catch (DcsException e) {
            lease.ownerAlive(clock.nanoTime());
            reasons.log("cannot read the DCS: " + e.getMessage());
            // The lease keeper fences a primary whose lease runs out; nothing here may act on stale knowledge.
            publishView(lastSeenCluster(), observe(), Decision.of(Action.WAIT, "DCS unreachable"));
            return Optional.empty();
        }
        unreadableValues.report(cluster);
        long seenAt = clock.nanoTime();
        cluster.members().forEach((name, member) -> recentMembers.put(name, new SeenMember(member, seenAt)));
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
        if (local.running()) {
            handedOver = false;
        }
        trackPrimaryDowntime(cluster, local, now);
        rejoin.trackNotStreaming(local, now);
        // The switchover's named candidate does not race (HaDecider ignores the peers for it): asking them would
        // only delay its promotion by a round trip to each.
        boolean namedCandidate = HaDecider.isNamedCandidate(cluster, config.name(), calendar);
        // A primary taking the key back asks too: another primary's agent may answer that its postgres runs.
        PeerReport peers = cluster.leader().isEmpty() && local.running() && !namedCandidate
                ? probePeers(cluster)
                : PeerReport.NONE;
        Duration notStreamingFor = rejoin.notStreamingFor(now);
        Lease.Term term = lease.term();
        HaInput input = new HaInput(
                config.name(),
                term.id(),
                config.tags(),
                cluster,
                local,
                term.validAt(now),
                watchdog.reachable(term),
                peers.positions(),
                Duration.ofNanos(primaryDownSinceNanos == 0 ? 0 : now - primaryDownSinceNanos),
                config.primaryStartTimeoutDuration(),
                notStreamingFor,
                notStreamingFor.compareTo(HaInput.STRANDED_REPLICA_GRACE) > 0 && rejoin.upstreamWalGone(cluster, local, now),
                calendar,
                handedOver,
                configKnown,
                peers.unreadable(),
                peers.primaries(),
                local.data() == DataState.EMPTY ? "" : postgres.systemIdentifier());
        Decision decision = HaDecider.decide(input);
        reasons.log(decision.toString());
        return Optional.of(new Plan(cluster, local, decision, term));
    }

    /** The second half of a cycle: act on the plan, then publish what this node now is. */
    void carryOut(Plan plan) {
        ClusterSnapshot cluster = plan.cluster();
        LocalState local = plan.local();
        Decision decision = plan.decision();
        currentDecision = decision;
        try {
            act(decision, cluster, local, plan.term());
            if (decision.action() == Action.LEAD || decision.action() == Action.FOLLOWING) {
                applyParameters(decision);
            }
        } catch (WardenException | DcsException e) {
            reasons.log("action " + decision.action() + " failed: " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.severe("action " + decision.action() + " failed unexpectedly: " + e);
        } finally {
            publication.actionEnded();
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

    private void trackPrimaryDowntime(ClusterSnapshot cluster, LocalState local, long now) {
        boolean holdsKey = cluster.isLeader(config.name());
        // In maintenance mode the clock does not run: resuming must not count the paused time against
        // primary_start_timeout and fail over at once.
        if (holdsKey && local.data() == DataState.STOPPED_PRIMARY && !cluster.config().pause()) {
            if (primaryDownSinceNanos == 0) {
                primaryDownSinceNanos = now;
            }
        } else {
            primaryDownSinceNanos = 0;
        }
    }

    void act(Decision decision, ClusterSnapshot cluster, LocalState local, Lease.Term term) {
        switch (decision.action()) {
            case BOOTSTRAP -> bootstrap(cluster, term);
            case CLONE -> rejoin.cloneFrom(decision.target().orElseThrow());
            case START_REPLICA -> rejoin.startReplica(decision.target());
            case FOLLOW -> rejoin.follow(decision.target().orElseThrow());
            case REWIND -> rejoin.rewind(decision.target().orElseThrow(), cluster);
            case RECLONE -> rejoin.replaceData(decision.target().orElseThrow(), cluster, "its WAL is gone on the leader");
            case TAKE_LEADERSHIP -> takeLeadership(local, term);
            case PROMOTE -> promote(term);
            case RESTART_PRIMARY -> restartPrimary(term);
            case RELEASE_LEADERSHIP -> releaseLeadership();
            case FENCE -> fence(decision.reason());
            case HAND_OVER -> handOver(decision.target().orElseThrow(), local, cluster);
            case LEAD -> lead(cluster, local, term);
            case FOLLOWING, WAIT -> {}
        }
    }

    private void bootstrap(ClusterSnapshot cluster, Lease.Term term) {
        if (!cluster.isLeader(config.name()) && !dcs.claimBootstrap(config.name(), term.id())) {
            LOG.info("another node won the bootstrap race");
            return;
        }
        if (!leaseChecks.armFor(term)) {
            dcs.releaseLeader(config.name(), lease.term().id());
            throw new WardenException("watchdog at " + config.watchdogSocket() + " is not reachable", "start the node's watchdog");
        }
        publication.inProgress(MemberState.INITIALIZING);
        publication.publishSelf(cluster, LocalState.of(DataState.EMPTY));
        try {
            postgres.initdb(config.superuserPassword());
            conf.writePrimary();
            if (!leaseChecks.stillHolds(term, "starting the new primary")) {
                throw new WardenException("the lease changed during the bootstrap", "none: the next cycle decides again");
            }
            check(postgres.start(Duration.ofSeconds(60)), "starting the new primary");
            postgres.createReplicationRole(config.replicationPassword());
            dcs.completeBootstrap(postgres.systemIdentifier());
            appendHistory(new HistoryEntry(1, "0/0", config.name(), clock.instant().toString(), "bootstrap"));
            LOG.info("bootstrapped the cluster as primary");
        } catch (RuntimeException | SQLException e) {
            LOG.severe("bootstrap failed, removing the half-made data directory: " + e.getMessage());
            postgres.kill();
            postgres.removeData();
            watchdog.disarm();
            lease.revoke();
        }
    }

    private void takeLeadership(LocalState local, Lease.Term term) {
        long begun = clock.nanoTime();
        if (!leaseChecks.stillHolds(term, "taking the leader key")) {
            return;
        }
        // Bound to the lease the race was decided under: if etcd no longer has it, the write is refused.
        if (!dcs.acquireLeader(config.name(), term.id())) {
            LOG.info("lost the leader race");
            return;
        }
        if (local.data() == DataState.RUNNING_REPLICA) {
            long acquired = clock.nanoTime();
            List<String> unacknowledged = awaitRouters(true);
            if (!unacknowledged.isEmpty()) {
                // Fail closed: a router that may still send writes to the old primary must not see a second one.
                LOG.warning("not promoting: routers " + unacknowledged + " did not stop routing to the old primary within their"
                        + " lease and its margin; released the leader key, the race runs again next cycle");
                dcs.releaseLeader(config.name(), term.id());
                return;
            }
            LOG.info(String.format("took the leader key in %.2f s; routers acknowledged in %.2f s: promoting",
                    seconds(acquired - begun), seconds(clock.nanoTime() - acquired)));
            promote(term);
        } else if (!leaseChecks.armFor(term)) {
            releaseLeadership();
        } else {
            // Taken back by a primary whose postgres survived: the barrier makes sure no router still sends writes
            // to another node that led meanwhile. A router whose status cannot be read is not waited for here: the
            // timeline check already proved nobody else was promoted, and this postgres accepts writes anyway.
            List<String> unacknowledged = awaitRouters(false);
            if (!unacknowledged.isEmpty()) {
                LOG.warning("routers " + unacknowledged + " still route elsewhere: giving the leader key back up");
                fence("fencing: the router barrier failed after taking the leader key back");
            }
        }
    }

    /**
     * The router barrier: before this node accepts writes, every live router must have stopped routing writes to
     * any other node (it publishes the primary it routes to; empty once the old leader key is gone). A router cut
     * off from the DCS fences itself and its key expires with its lease, so waiting for the keys of silent routers
     * to vanish is enough: at most the longest of their ttls plus its margin. A router still alive after that and
     * still routing elsewhere is faulty, and the barrier fails closed. Returns the routers that did not acknowledge
     * (empty: all did).
     *
     * @param unreadableHold whether a router whose status cannot be read holds the barrier (it may route anywhere)
     */
    private List<String> awaitRouters(boolean unreadableHold) {
        Duration limit = barrierLimit();
        java.util.concurrent.atomic.AtomicReference<List<String>> stale = new java.util.concurrent.atomic.AtomicReference<>(List.of());
        try {
            boolean acknowledged = Poll.every(Duration.ofMillis(20)).clock(clock).until(limit, () -> {
                try {
                    stale.set(dcs.readRouters().stream()
                            .filter(r -> !r.primary().isEmpty() && !r.primary().equals(config.name()))
                            .filter(r -> unreadableHold || !r.primary().equals(io.warden.cluster.RouterStatus.UNKNOWN_PRIMARY))
                            .map(r -> r.id() + (r.primary().equals(io.warden.cluster.RouterStatus.UNKNOWN_PRIMARY)
                                    ? " (its status is unreadable)"
                                    : " (still routing to " + r.primary() + ")"))
                            .toList());
                    if (!stale.get().isEmpty()) {
                        reasons.log("waiting for routers to stop routing to the old primary: " + stale.get());
                    }
                    return stale.get().isEmpty();
                } catch (DcsException e) {
                    stale.set(List.of("(router statuses unreadable: " + e.getMessage() + ")"));
                    reasons.log("cannot read router acknowledgements: " + e.getMessage());
                    return false;
                }
            });
            return acknowledged ? List.of() : stale.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WardenException("interrupted while waiting for the routers' acknowledgements: not promoting", "none: the agent is stopping");
        }
    }

    /**
     * The longest any live router can take to fence itself and lose its key: its ttl plus the lease margin (this
     * agent's own ttl for a router that did not publish one). Zero with no router.
     */
    private Duration barrierLimit() {
        Duration longest = Duration.ZERO;
        try {
            for (io.warden.cluster.RouterStatus router : dcs.readRouters()) {
                Duration ttl = router.ttlMillis() > 0 ? Duration.ofMillis(router.ttlMillis()) : config.ttlDuration();
                Duration own = ttl.plus(Lease.margin(ttl));
                longest = own.compareTo(longest) > 0 ? own : longest;
            }
        } catch (DcsException e) {
            // Unknown: as long as this agent's own lease, and the wait itself fails closed if it cannot read.
            longest = config.ttlDuration().plus(Lease.margin(config.ttlDuration()));
        }
        return longest;
    }

    private void promote(Lease.Term term) {
        if (!leaseChecks.stillHolds(term, "promoting")) {
            // The key was bound to that lease and went with it: nothing to release.
            return;
        }
        // Arm first: from the moment postgres accepts writes, something that cannot freeze with us must be able to stop it.
        if (!leaseChecks.armFor(term)) {
            LOG.warning("cannot promote safely (watchdog unreachable or lease not valid): releasing the leader key");
            releaseLeadership();
            return;
        }
        if (current.config().synchronous() && !sync.resetForPromotion(current.config().synchronousMode())) {
            return;
        }
        publication.inProgress(MemberState.PROMOTING);
        if (!leaseChecks.stillHolds(term, "promoting")) {
            return;
        }
        // standby.signal stays until postgres removes it itself at the end of promotion: deleting it first
        // makes the startup process fail, and a later start would then run as primary without a new timeline.
        long begun = clock.nanoTime();
        check(postgres.promote(Duration.ofSeconds(60)), "promoting");
        long promotedAt = clock.nanoTime();
        conf.writePrimary();
        publication.actionEnded();
        sync.afterPromotion(current.config().synchronous());
        LocalState promoted = observe();
        // The routers route writes by this record: publish it before the history and the optime, not after them
        // at the end of the cycle. (A primary's record does not depend on the snapshot passed.)
        publication.publishSelf(ClusterSnapshot.empty(), promoted);
        appendHistory(new HistoryEntry(
                promoted.timeline(), promoted.lsn().toString(), config.name(), clock.instant().toString(), "promoted: " + currentDecision));
        publication.publishOptime(promoted);
        clearSwitchover(current, "promoted");
        LOG.info(String.format("promoted to primary on timeline %d (pg_ctl promote took %.2f s, recording it %.2f s)",
                promoted.timeline(), seconds(promotedAt - begun), seconds(clock.nanoTime() - promotedAt)));
        metrics.promotionTook(clock.nanoTime() - begun);
    }

    private void restartPrimary(Lease.Term term) {
        if (!leaseChecks.stillHolds(term, "restarting postgres as primary") || !leaseChecks.armFor(term)) {
            return;
        }
        conf.writePrimary();
        if (!leaseChecks.stillHolds(term, "restarting postgres as primary")) {
            return;
        }
        Result result = postgres.start(Duration.ofSeconds(Math.max(5, config.primaryStartTimeoutDuration().toSeconds())));
        if (result.ok()) {
            LOG.info("restarted postgres in place as primary");
        } else {
            LOG.warning("restart of postgres failed (will retry until primary_start_timeout):\n" + result.tail());
        }
    }

    private void releaseLeadership() {
        postgres.kill();
        watchdog.disarm();
        dcs.releaseLeader(config.name(), lease.term().id());
    }

    private void fence(String reason) {
        postgres.kill().ifPresent(what -> LOG.warning(reason + ": " + what));
        // Not disarmed: the watchdog still guards the data directory until this node starts as a replica or leads.
        watchdog.keepDeadline();
        try {
            dcs.releaseLeader(config.name(), lease.term().id());
        } catch (DcsException e) {
            // The lease runs out on its own; releasing early only speeds up the next leader.
        }
    }

    /**
     * Planned switchover: a clean ("fast") shutdown makes the WAL senders ship everything up to the shutdown
     * checkpoint; once the candidate has received it no acknowledged commit can be lost, and the key is released.
     */
    private void handOver(Member candidate, LocalState local, ClusterSnapshot cluster) {
        // Asked once while writes still flow: the candidate's first /status opens its API's connection to its
        // postgres and ours to its API, which took 0.2-1.9 s under load when it fell after the stop.
        livePosition(candidate);
        long begun = clock.nanoTime();
        // Said before the stop: the routers stop sending new sessions here and hold them for the candidate, instead
        // of passing them to a postgres that answers "the database system is shutting down". If the hand-over is
        // aborted below, the next cycle publishes RUNNING again and the routers send sessions here again.
        publication.inProgress(MemberState.HANDING_OVER);
        publication.publishSelf(ClusterSnapshot.empty(), local);
        check(postgres.stop("fast", Duration.ofSeconds(60)), "stopping postgres for the switchover");
        handedOver = true;
        long stopped = clock.nanoTime();
        Lsn checkpoint = postgres.latestCheckpoint();
        long read = clock.nanoTime();
        Lsn received;
        try {
            received = Poll.every(Duration.ofMillis(20)).clock(clock)
                    .untilAnswered(Duration.ofSeconds(30), () -> livePosition(candidate).filter(at -> at.compareTo(checkpoint) > 0))
                    .orElseGet(() -> livePosition(candidate).orElse(Lsn.ZERO));
        } catch (InterruptedException e) {
            // Stopping: postgres stays down and the key stays ours until the lease runs out; the candidate may still
            // have everything, and a restarted agent starts this primary again only while it holds the key.
            Thread.currentThread().interrupt();
            throw new WardenException("interrupted while waiting for " + candidate.name() + " to confirm the shutdown checkpoint",
                    "none: the agent is stopping");
        }
        long confirmed = clock.nanoTime();
        if (received.compareTo(checkpoint) <= 0) {
            LOG.warning("switchover candidate " + candidate.name() + " has not received the shutdown checkpoint " + checkpoint
                    + " (at " + received + "); restarting as primary instead");
            check(postgres.start(Duration.ofSeconds(60)), "restarting after an aborted switchover");
            clearSwitchover(cluster, "hand-over aborted");
            return;
        }
        watchdog.disarm();
        dcs.releaseLeader(config.name(), lease.term().id());
        LOG.info(String.format("handed over to %s at shutdown checkpoint %s (postgres stopped in %.2f s, checkpoint read in"
                        + " %.2f s, candidate confirmed it in %.2f s, key released in %.2f s)", candidate.name(), checkpoint,
                seconds(stopped - begun), seconds(read - stopped), seconds(confirmed - read), seconds(clock.nanoTime() - confirmed)));
    }

    /**
     * Records a timeline in {@code history}. A failure is logged, not thrown: the timeline is also in {@code optime}
     * and the member records, and what follows a promotion (publishing it) must not be skipped for it.
     */
    private void appendHistory(HistoryEntry entry) {
        try {
            dcs.appendHistory(entry);
        } catch (DcsException e) {
            LOG.warning("could not record timeline " + entry.timeline() + " in the history: " + e.getMessage());
        }
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }

    private Optional<Lsn> livePosition(Member member) {
        return peers.status(member).map(Member::position);
    }

    /** Called from the lease keeper's thread when the lease ran out while we were primary. */
    private void fenceFromKeeper() {
        postgres.kill().ifPresent(what -> LOG.warning("fencing: lease not renewed in time: " + what));
    }

    private void lead(ClusterSnapshot cluster, LocalState local, Lease.Term term) {
        if (lease.term().id() != term.id()) {
            fence("stepping down: my lease was replaced after this cycle decided to lead (the key went with the old one)");
            return;
        }
        if (!leaseChecks.armFor(term)) {
            LOG.warning("watchdog unreachable while leading: stepping down");
            fence("stepping down: watchdog unreachable");
            return;
        }
        sync.probeIfAwaiting();
        publication.publishOptimeIfChanged(local);
        slots.manage(cluster);
        sync.manage(cluster);
        if (cluster.switchover().isPresent() && !cluster.switchover().get().concerns(config.name())) {
            // Requested against a former leader: it can never run, and would block new requests.
            LOG.info("clearing a switchover request for former leader " + cluster.switchover().get().leader());
            clearSwitchover(cluster, "it names a former leader");
        }
    }

    /**
     * Deletes the switchover request {@code cluster} holds, the one this agent acted on, by the revision it was read
     * at: a request written since (an operator may cancel one and ask for the next while a promotion or a hand-over
     * runs) is left for the next cycle to see.
     */
    private void clearSwitchover(ClusterSnapshot cluster, String why) {
        if (cluster.switchover().isPresent() && !dcs.clearSwitchover(cluster.switchoverRevision())) {
            LOG.info("left the switchover request alone (" + why + "): it was rewritten or removed since revision "
                    + cluster.switchoverRevision());
        }
    }

    /** A changed cluster config reaches a running postgres: rewrite the file, reload if it changed. */
    private void applyParameters(Decision decision) {
        boolean primary = decision.action() == Action.LEAD;
        Optional<Upstream> upstream = primary ? Optional.empty() : decision.target().map(WardenConf::upstream);
        if (conf.write(primary, upstream)) {
            check(postgres.reload(), "reloading changed parameters");
            LOG.info("the configuration changed: reloaded postgres");
        }
    }

    /** Reads the state of the local postgres; never throws. */
    LocalState observe() {
        return postgres.observe();
    }

    /**
     * What the other members' agents said just now: replicas' WAL positions, whose postgres runs as a primary, and
     * who answered unreadably.
     */
    private record PeerReport(Map<String, Position> positions, Set<String> primaries, Set<String> unreadable) {
        static final PeerReport NONE = new PeerReport(Map.of(), Set.of(), Set.of());
    }

    /**
     * Asks every other member's agent for its WAL position right now, for the failover race: those published now,
     * and those seen within the last two ttls. A leader whose lease etcd revoked loses its record with it while its
     * postgres may still run; its agent must still be asked, or a replica races a live primary.
     */
    private PeerReport probePeers(ClusterSnapshot cluster) {
        long now = clock.nanoTime();
        recentMembers.values().removeIf(seen -> now - seen.atNanos() > config.ttlDuration().multipliedBy(2).toNanos());
        Map<String, Member> asked = new HashMap<>();
        recentMembers.forEach((name, seen) -> asked.put(name, seen.member()));
        asked.putAll(cluster.members());
        asked.remove(config.name());
        List<Member> others = List.copyOf(asked.values());
        Map<String, Position> positions = new HashMap<>();
        Set<String> primaries = new java.util.HashSet<>();
        Set<String> unreadable = new java.util.HashSet<>();
        // A peer that does not answer in time cannot promote either; it is left out of the comparison. One that
        // answered something this version cannot read is alive and may be ahead.
        peers.statuses(others).forEach((name, status) -> {
            switch (status) {
                case Peers.PeerStatus.Reported(Member reported) -> {
                    if (reported.role() == Role.REPLICA) {
                        positions.put(name, new Position(reported.timeline(), reported.position()));
                    } else if (reported.role() == Role.PRIMARY) {
                        primaries.add(name);
                    }
                }
                case Peers.PeerStatus.Unreadable(String problem) -> {
                    reasons.log("the agent of " + name + " answered with a status I cannot read: " + problem);
                    unreadable.add(name);
                }
            }
        });
        return new PeerReport(positions, primaries, unreadable);
    }

    /**
     * A {@code leader} key bound to no lease was written by hand (no agent writes one): it would never expire, and
     * its holder would fence itself for not holding it under its own lease. It is removed by compare-and-swap on
     * the revision just read (a newer write is left alone), with an event in the log; the race then runs normally.
     */
    private ClusterSnapshot removeUnleasedLeader(ClusterSnapshot cluster) {
        Optional<io.warden.cluster.LeaderKey> leader = cluster.leader().filter(l -> l.leaseId() == 0);
        if (leader.isEmpty()) {
            return cluster;
        }
        if (dcs.removeLeader(leader.get().modRevision())) {
            LOG.warning("removed a leader key naming " + leader.get().name() + " that was bound to no lease (written by hand?):"
                    + " the leader race runs again");
        }
        return dcs.read();
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
        return postgres.receivedPosition()
                .map(lsn -> new Member(self.name(), self.role(), self.state(), self.host(), self.port(), self.apiUrl(),
                        self.timeline(), lsn.toString(), self.lagBytes(), self.tags(), self.agentPid(), self.postgresPid(),
                        self.instanceId(), self.dataDir(), self.pendingRestart()))
                .orElse(self);
    }

    /**
     * Queues an operator's command for the HA loop and wakes it. The future completes with a sentence saying what
     * was done, or exceptionally: {@link NodeCommand.Refused} when the node's role forbids it, otherwise a failure.
     */
    public CompletableFuture<String> submit(NodeCommand command) {
        CompletableFuture<String> done = commands.queue(command);
        wakeUp.release();
        return done;
    }

    /** Graceful stop: a primary hands off by releasing the key after postgres stops, so a replica takes over at once. */
    @Override
    public void close() {
        running = false;
        wakeUp.release();
    }

    /** Stops postgres (fast mode) and gives up leadership; used on SIGTERM. */
    public void shutdown() {
        shutdown(Duration.ofSeconds(60));
    }

    /**
     * Asks the HA loop to shut down and waits at most {@code limit} for it. Only the loop starts or stops postgres,
     * so this never touches postgres itself: when the loop is stuck in a long action and does not get there in
     * time, the process exits with postgres as it is (the watchdog, still armed with the lease's deadline, fences
     * a primary; a replica is harmless).
     */
    void shutdown(Duration limit) {
        stopRequested = true;
        wakeUp.release();
        if (!started) {
            // Refused at start-up (a duplicate name, say): nothing here is ours to stop or release.
            return;
        }
        try {
            if (!loopEnded.await(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warning("the HA loop did not reach the shutdown within " + limit.toSeconds() + " s (a long action is"
                        + " running): exiting without touching postgres; the watchdog fences it if it is a primary");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
