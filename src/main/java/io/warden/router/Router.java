package io.warden.router;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ThreadPerTaskExecutor;
import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.LeaderKey;
import io.warden.cluster.RouterStatus;
import io.warden.common.Clock;
import io.warden.common.LogOnChange;
import io.warden.dcs.Dcs;
import io.warden.dcs.DcsException;
import io.warden.dcs.Lease;
import io.warden.dcs.Published;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL-aware TCP router: the read-write port reaches the primary, the read-only port the least busy
 * replica. It reads the first packet of each connection (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage)
 * and the server's startup replies up to ReadyForQuery (to learn the backend key for cancels); after that it
 * relays bytes both ways untouched, so TLS and SCRAM pass through end to end.
 *
 * <p>Its parts: {@link Listeners} (the two ports, closed while fenced), {@link Sessions} (what it relays, counted per
 * node, with the cancel keys), {@link Topology} (the routing table, an immutable value replaced whole), {@link
 * ReadSchedule} (when the DCS is read again), {@link NodeProbe} (the TCP health check), {@link RoutingChanges} (sessions
 * held for a node retry on each change), {@link RouterMetrics}; this class keeps the lease and the fencing, and
 * decides each new session's node ({@link #route}).
 *
 * <p>Threads: {@link Transport#loops()} Netty event loops (io_uring, or epoll: {@link Transport}) accept, read startup
 * packets and relay every session (a session's two channels share one loop, chosen by {@link LoopChooser}; see {@link
 * ClientStartup}, {@link Relay}); the topology thread (DCS read, lease renewal, fencing, status publication); the
 * health-check thread; the fence timer.
 *
 * <p>Fencing: when the primary changes, every read-write session to another node is closed at once. When the
 * router cannot renew its DCS lease for longer than the lease minus a margin, it closes every session and stops
 * listening until the DCS answers again: a router cut off from the DCS cannot know where writes belong.
 */
public final class Router implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Router.class);

    enum Port {
        READ_WRITE,
        READ_ONLY
    }

    /**
     * The size of each read: at least 2 KiB, growing to 64 KiB while a stream fills its reads. Netty's default
     * shrinks to 64 bytes after a few small reads, and then a 100-byte query or result arrived in two reads and
     * left in one writev (measured in TPC-B: ~10% more recvfrom calls than sendto, all from split messages).
     * The buffer is pooled and held only until the peer's write, so an idle session still holds none.
     */
    static final RecvByteBufAllocator READS = new AdaptiveRecvByteBufAllocator(2048, 2048, 65536);

    /**
     * Where the relay's buffers come from: Netty's pooled allocator, named here rather than left to the process
     * default, which Netty 4.2 changed to its new adaptive allocator. Every relay figure (bench/router) and test was
     * taken with the pooled one.
     */
    static final ByteBufAllocator BUFFERS = PooledByteBufAllocator.DEFAULT;

    private final RouterConfig config;
    private final Dcs dcs;
    private final Clock clock;
    /** Stepped by the topology thread itself: renewals and routing are judged in one round. */
    private final Lease lease;

    private final Semaphore wake = new Semaphore(0);
    private final LogOnChange problems = new LogOnChange(LOG, "DCS reachable again");
    private final Sessions sessions;
    private final Listeners listeners;
    private final NodeProbe probe;
    private final Transport transport;
    private final EventLoopGroup loops;
    /** How every node connection is opened; cloned onto the event loop of the client it serves. */
    private final Bootstrap nodes;
    /** Bumped whenever {@link #route} may answer differently; sessions held for a node retry on it. */
    private final RoutingChanges routing = new RoutingChanges();

    final RouterMetrics metrics;

    private volatile Topology topology = Topology.EMPTY;
    private volatile boolean running = true;
    private volatile boolean fenced = true;
    /** What {@link #publish} last wrote, under which lease and when; touched by the topology thread only. */
    private final Published<RouterStatus> published = new Published<>();

    private static final long RETRY_PAUSE_NANOS = Duration.ofMillis(20).toNanos();
    private final ReadSchedule reads = new ReadSchedule();
    private final java.util.concurrent.ScheduledThreadPoolExecutor fenceTimer = fenceTimer();
    private final java.util.concurrent.atomic.AtomicReference<java.util.concurrent.ScheduledFuture<?>> fenceTimerTask =
            new java.util.concurrent.atomic.AtomicReference<>();

    /** The longest a renewal waits for its answer while the lease holds: a late answer still renews. */
    private static final Duration RENEWAL_ATTEMPT = Duration.ofSeconds(1);

    public Router(RouterConfig config, Dcs dcs, Clock clock) {
        this.config = java.util.Objects.requireNonNull(config, "config is null");
        this.dcs = java.util.Objects.requireNonNull(dcs, "dcs is null");
        this.clock = java.util.Objects.requireNonNull(clock, "clock is null");
        this.lease = new Lease(dcs, config.ttl(), RENEWAL_ATTEMPT, Duration.ZERO, clock, new Lease.Listener() {
            @Override
            public void renewed(Lease.Term term) {
                fenceAt(term);
            }

            @Override
            public void expired(Lease.Term term) {
                fenceOnLeaseLoss("the router lease " + Long.toHexString(term.id()) + " is lost or past its deadline");
            }
        });
        this.transport = Transport.choose(config.transport());
        this.loops = new MultiThreadIoEventLoopGroup(
                transport.loops(),
                new ThreadPerTaskExecutor(new DefaultThreadFactory("relay", true)),
                LoopChooser.INSTANCE,
                transport.handlers());
        this.sessions = new Sessions(config.maxConnections(), clock);
        this.listeners = new Listeners(loops, transport, config.host(), port -> new ClientStartup(this, port));
        this.probe = new NodeProbe(() -> topology.all(), clock, () -> running, this::routingChanged);
        this.metrics = new RouterMetrics(this::serving, sessions::connections, this::localSessions);
        this.nodes = new Bootstrap()
                .channel(transport.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int)
                        config.connectTimeout().toMillis())
                // Nothing is read from a node until the session's handlers are in place (ClientStartup).
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOCATOR, BUFFERS)
                .option(ChannelOption.RCVBUF_ALLOCATOR, READS)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        // The session adds its handlers once the connection is made.
                    }
                });
    }

    public RouterConfig config() {
        return config;
    }

    Clock clock() {
        return clock;
    }

    /**
     * May a read-write session forward the client's bytes right now? Only while this router is not fenced and its
     * lease holds. Checked on every read of a read-write session's client: a router process that was frozen (and
     * with it the timer that would have fenced it) handles the I/O that waited before anything else when it resumes,
     * so a client's bytes sent during the freeze would otherwise reach a primary that may no longer be one.
     */
    boolean mayForwardWrites() {
        return !fenced && lease.valid(clock.nanoTime());
    }

    /**
     * Schedules a fence at {@code term}'s deadline on a timer of its own, so the router stops routing on time even
     * while its round is blocked (a DCS request that hangs for its full timeout, say). Each renewal moves it.
     */
    private void fenceAt(Lease.Term term) {
        long delay = Math.max(0, term.validUntilNanos() - clock.nanoTime());
        java.util.concurrent.ScheduledFuture<?> next = fenceTimer.schedule(
                () -> {
                    if (!lease.valid(clock.nanoTime())) {
                        fenceOnLeaseLoss("the router lease ran out at its deadline (timer)");
                    } else if (lease.term().id() == term.id()
                            && lease.term().validUntilNanos() == term.validUntilNanos()) {
                        // A clock that moved less than the timer (a test's): look again at the deadline.
                        fenceAt(term);
                    }
                },
                delay,
                TimeUnit.NANOSECONDS);
        java.util.concurrent.ScheduledFuture<?> previous = fenceTimerTask.getAndSet(next);
        if (previous != null) {
            previous.cancel(false);
        }
    }

    private static java.util.concurrent.ScheduledThreadPoolExecutor fenceTimer() {
        var timer = new java.util.concurrent.ScheduledThreadPoolExecutor(
                1, runnable -> Thread.ofPlatform().daemon().name("fence-timer").unstarted(runnable));
        // Moved at every renewal: a cancelled deadline leaves the queue at once.
        timer.setRemoveOnCancelPolicy(true);
        return timer;
    }

    private void fenceOnLeaseLoss(String reason) {
        if (!fenced) {
            metrics.dcsFenced();
            fence(reason);
        }
    }

    /** Connects to the DCS (failing fast with a clear error), then serves until {@link #close()}. */
    public void run() {
        try {
            lease.start(Lease.STARTUP_WAIT);
        } catch (DcsException e) {
            throw new io.warden.common.WardenException(
                    "router " + config.id() + " cannot reach etcd at " + String.join(",", config.etcd()) + " for "
                            + Lease.STARTUP_WAIT.toSeconds() + " s: " + e.getMessage(),
                    "start etcd, or fix 'etcd' in the router config");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        Thread.ofPlatform().daemon().name("health-check").start(probe);
        try (AutoCloseable watch = dcs.watchAll(this::changed)) {
            while (running) {
                long started = clock.nanoTime();
                // The round's own time counts against the pause it asks for.
                long delay = Math.max(RETRY_PAUSE_NANOS, step(started) - (clock.nanoTime() - started));
                if (wake.tryAcquire(delay, TimeUnit.NANOSECONDS)) {
                    // One read answers every change that arrived meanwhile: agents write in bursts (three members,
                    // the optime), and a read per event would be several identical reads.
                    wake.drainPermits();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.error("router stopped", e);
        } finally {
            fence("router stopping");
        }
    }

    /**
     * Called by the watch with the keys that changed (see {@link ReadSchedule}). Package-private so that a test that
     * steps the router itself (the simulation, which has no watch thread) can deliver the watch's events as {@link
     * #run} would.
     */
    void changed(List<String> keys) {
        reads.changed(keys);
        wake.release();
    }

    /** No primary, or reads would fall back to it (or find nothing): waiting for a change to complete the picture. */
    private boolean incomplete() {
        Topology current = topology;
        return current.writeTarget().isEmpty()
                || current.readTarget(localSessions(), config.maxReplicaLagBytes(), false, probe.unreachable())
                        .isEmpty();
    }

    /**
     * One round at {@code now}: renew, read the topology, apply it, publish our status; fence if the DCS was lost too
     * long. Returns the nanoseconds until the next round is due (a change the watch reports comes sooner): the next
     * renewal or read, and right away again after a renewal that failed, so that one squeezed out by a connection
     * storm on a small machine is retried at once, not a round later.
     */
    long step(long now) {
        // Renewed on its own cadence, not on every change the watch reports: under write load the agents publish
        // their positions several times a second, and each renewal is a round trip the routing does not need.
        long untilRenewal = lease.step(now);
        // Judged on the renewal alone, before the slower reads: a round that renewed in time must not fence itself
        // because its reads were slow, nor reopen listeners it is about to close.
        if (!lease.valid(clock.nanoTime())) {
            fenceOnLeaseLoss("cannot reach the DCS for longer than the router lease");
            return Math.max(RETRY_PAUSE_NANOS, untilRenewal);
        }
        if (reads.due(now, this::incomplete, fenced)) {
            read(now);
        } else {
            publishQuietly(now);
        }
        long untilRead = reads.untilDue(now, this::incomplete);
        return Math.max(RETRY_PAUSE_NANOS, Math.min(untilRenewal, untilRead));
    }

    private void read(long now) {
        reads.reading();
        try {
            ClusterSnapshot cluster = dcs.read();
            reads.read(now, cluster.leader().map(LeaderKey::name).orElse(""));
            Map<String, Long> elsewhere = new HashMap<>();
            for (RouterStatus other : cluster.routers()) {
                if (!other.id().equals(config.id())) {
                    other.sessions().forEach((node, count) -> elsewhere.merge(node, count, Long::sum));
                }
            }
            List<ChannelFuture> closing = apply(Topology.from(cluster, elsewhere));
            // The status says which primary this router routes writes to; a new primary's barrier waits for it. So it
            // is published only once every channel to a former primary has closed (no byte goes there after), and
            // before the router listens at all: a router no barrier knows of must never route a write.
            awaitClosed(closing);
            publish(now);
            if (fenced) {
                unfence();
            }
            problem("");
        } catch (DcsException e) {
            reads.failed();
            problem("DCS unavailable: " + e.getMessage());
        } catch (RuntimeException e) {
            reads.failed();
            problem("router step failed: " + e);
        }
    }

    /** Our session counts are published on their own cadence, read or not: the other router balances by them. */
    private void publishQuietly(long now) {
        if (fenced) {
            return;
        }
        try {
            publish(now);
        } catch (DcsException e) {
            problem("cannot publish the router status: " + e.getMessage());
        }
    }

    /**
     * Writes our status only when it changed, on a new lease, or after {@link Published#REFRESH}: writing each round
     * made the two routers wake each other's watch in a loop (about 100 etcd writes a second, and the CPU they cost,
     * taken from postgres on a small machine).
     */
    private void publish(long now) {
        RouterStatus status = status();
        long leaseId = lease.term().id();
        if (published.unchanged(status, leaseId, now)) {
            return;
        }
        dcs.publishRouter(status, leaseId);
        published.wrote(status, leaseId, now);
    }

    private void problem(String text) {
        problems.problem(text);
    }

    /**
     * Installs a new topology; closes read-write sessions to a node that is no longer the primary. Returns the
     * close futures of their node channels.
     */
    List<ChannelFuture> apply(Topology next) {
        Optional<RouteTarget> before = topology.primary();
        topology = next;
        routingChanged();
        if (before.equals(next.primary())) {
            return List.of();
        }
        LOG.info("primary is now " + next.primary().map(RouteTarget::toString).orElse("(none)")
                + (before.isPresent() ? " (was " + before.get() + ")" : ""));
        return sessions.closeWritesNotTo(next.primary(), metrics::fencedSession);
    }

    /** How long a status publication waits for fenced channels to close; a close on a live event loop takes microseconds. */
    private static final long CLOSE_WAIT_MILLIS = 2000;

    private void awaitClosed(List<ChannelFuture> closing) {
        for (ChannelFuture closed : closing) {
            if (!closed.awaitUninterruptibly(CLOSE_WAIT_MILLIS)) {
                throw new IllegalStateException("a channel to the former primary did not close within "
                        + CLOSE_WAIT_MILLIS + " ms: not acknowledging the change yet");
            }
        }
    }

    private RouterStatus status() {
        return new RouterStatus(
                config.id(),
                config.host(),
                config.readWritePort(),
                config.readOnlyPort(),
                "http://" + config.host() + ":" + config.apiPort(),
                ProcessHandle.current().pid(),
                localSessions(),
                topology.primary().map(RouteTarget::name).orElse(""),
                config.ttl().toMillis());
    }

    Map<String, Long> localSessions() {
        return sessions.perNode();
    }

    private synchronized void fence(String reason) {
        if (!fenced) {
            LOG.warn("fencing: " + reason + ": closing " + sessions.size() + " sessions and the listeners");
        }
        fenced = true;
        listeners.close();
        sessions.closeAll();
        routingChanged();
    }

    private synchronized void unfence() {
        if (!running) {
            return;
        }
        try {
            listeners.listen(Port.READ_WRITE, config.readWritePort());
            listeners.listen(Port.READ_ONLY, config.readOnlyPort());
            fenced = false;
            routingChanged();
            LOG.info("serving " + config.host() + ":" + config.readWritePort() + " (read-write) and :"
                    + config.readOnlyPort() + " (read-only), relaying over " + transport.configName() + " on "
                    + transport.loops() + " event loop(s)");
        } catch (IOException e) {
            listeners.close();
            problem("cannot listen on " + config.host() + ": " + e.getMessage());
        }
    }

    /** The port a listener is bound to (the configured one, or the kernel's pick for 0); 0 while not listening. */
    int boundPort(Port port) {
        return listeners.boundPort(port);
    }

    /** The router's lease term now. */
    Lease.Term leaseTerm() {
        return lease.term();
    }

    long routingVersion() {
        return routing.version();
    }

    /** See {@link RoutingChanges#whenChangedSince}. */
    void whenRoutingChanges(long seen, Runnable retry) {
        routing.whenChangedSince(seen, retry);
    }

    private void routingChanged() {
        routing.changed();
    }

    /** When a refused client was last logged, and how many were refused since without a line: a flood logs once a second. */
    private final java.util.concurrent.atomic.AtomicLong refusedLoggedAtNanos =
            new java.util.concurrent.atomic.AtomicLong();

    private final java.util.concurrent.atomic.AtomicLong refusedUnlogged = new java.util.concurrent.atomic.AtomicLong();

    /**
     * A client from an address {@code allowed_clients} does not list was refused: logged with its address (postgres
     * only ever sees the router), at most once a second with the count of those refused in between.
     */
    void refusedClient(java.net.InetSocketAddress client) {
        long now = clock.nanoTime();
        long last = refusedLoggedAtNanos.get();
        if (last != 0 && now - last < 1_000_000_000L) {
            refusedUnlogged.incrementAndGet();
            return;
        }
        if (refusedLoggedAtNanos.compareAndSet(last, now)) {
            long more = refusedUnlogged.getAndSet(0);
            LOG.warn("refused a client from " + client.getAddress().getHostAddress() + ":" + client.getPort()
                    + " (not in allowed_clients " + config.allowedClients() + ")"
                    + (more > 0 ? "; " + more + " more refused since the last such line" : ""));
        } else {
            refusedUnlogged.incrementAndGet();
        }
    }

    /** Counts a client connection against max_connections until it closes (see {@link Sessions#admit}). */
    boolean admit(Channel client) {
        return sessions.admit(client);
    }

    int connectionLimit() {
        return sessions.limit();
    }

    /** Where a new session on {@code port} goes now; empty while fenced or when no node qualifies. */
    Optional<RouteTarget> route(Port port) {
        if (fenced || !lease.valid(clock.nanoTime())) {
            return Optional.empty();
        }
        Topology current = topology;
        return port == Port.READ_WRITE
                ? current.writeTarget()
                : current.readTarget(
                        localSessions(), config.maxReplicaLagBytes(), config.fallbackToPrimary(), probe.unreachable());
    }

    ChannelFuture connectToNode(EventLoop loop, RouteTarget target) {
        return nodes.clone(loop).connect(new InetSocketAddress(target.host(), target.port()));
    }

    /** Registers a session; it comes back closed when a fence or a primary change overtook the routing decision. */
    Session open(Port port, RouteTarget target, Channel client, Channel server) {
        Session session = sessions.register(port, target, client, server);
        metrics.routed(port, target.name());
        // Re-check after registering: a fence or a topology change that ran since route() has not seen us.
        if (fenced || port == Port.READ_WRITE && !topology.primary().equals(Optional.of(target))) {
            session.close();
        }
        return session;
    }

    void rememberCancelKey(Session session, long key) {
        sessions.rememberCancelKey(session, key);
    }

    /** The node that issued {@code key}, or every node when this router did not see it (the other router did). */
    List<RouteTarget> cancelTargets(long key) {
        return sessions.issuerOf(key).map(List::of).orElseGet(topology::all);
    }

    /** Status for the API and `warden list`. */
    public Map<String, Object> describe() {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("id", config.id());
        out.put("state", fenced ? "fenced" : "serving");
        out.put("transport", transport.configName());
        out.put("primary", topology.primary().map(RouteTarget::name).orElse(""));
        out.put("sessions", localSessions());
        Map<String, Long> load = new HashMap<>(topology.sessionsElsewhere());
        localSessions().forEach((node, count) -> load.merge(node, count, Long::sum));
        out.put("load", load);
        Map<String, Object> replicas = new java.util.TreeMap<>();
        topology.replicas()
                .forEach(r -> replicas.put(
                        r.target().name(),
                        Map.of(
                                "lag_bytes",
                                r.lagBytes(),
                                "noloadbalance",
                                r.noloadbalance(),
                                "reachable",
                                probe.reachable(r.target().name()))));
        out.put("replicas", replicas);
        out.put("connections", sessions.connections());
        return out;
    }

    public boolean serving() {
        return !fenced;
    }

    @Override
    public void close() {
        running = false;
        wake.release();
        fence("router stopping");
        fenceTimer.shutdownNow();
        // Its key vanishes at once; if the revoke fails, it expires with the lease.
        lease.revoke();
        dcs.close();
        loops.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
}
