package io.warden.router;

import io.warden.dcs.ClusterSnapshot;
import io.warden.dcs.Dcs;
import io.warden.dcs.DcsException;
import io.warden.dcs.EtcdDcs;
import io.warden.dcs.RouterStatus;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardSocketOptions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * A PostgreSQL-aware TCP router: the read-write port reaches the primary, the read-only port the least busy
 * replica. It reads the first packet of each connection (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage)
 * and the server's startup replies up to ReadyForQuery (to learn the backend key for cancels); after that it
 * relays bytes both ways untouched, so TLS and SCRAM pass through end to end.
 *
 * <p>Threads: one virtual thread per accepted connection and per relay direction; one platform thread per
 * listener; the topology thread (DCS read, lease renewal, fencing, status publication). Shared state is in
 * concurrent maps and atomics; {@link #topology} is an immutable value replaced whole.
 *
 * <p>Fencing: when the primary changes, every read-write session to another node is closed at once. When the
 * router cannot renew its DCS lease for longer than the lease minus a margin, it closes every session and stops
 * listening until the DCS answers again: a router cut off from the DCS cannot know where writes belong.
 */
public final class Router implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Router.class.getName());

    enum Port {
        READ_WRITE,
        READ_ONLY
    }

    private final RouterConfig config;
    private final Dcs dcs;
    private final Semaphore wake = new Semaphore(0);
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private final Map<Long, RouteTarget> cancelKeys = new ConcurrentHashMap<>();
    private final Map<Port, ServerSocket> listeners = new ConcurrentHashMap<>();
    private final AtomicInteger connections = new AtomicInteger();
    final Metrics metrics = new Metrics();

    private volatile Topology topology = Topology.EMPTY;
    /** Nodes whose postgres port did not accept a TCP connection at the last probe: the second opinion. */
    private final Set<String> unreachable = ConcurrentHashMap.newKeySet();
    private volatile boolean running = true;
    private volatile boolean fenced = true;
    private volatile long leaseId;
    private volatile long validUntilNanos;
    private String lastProblem = "";

    /** Counters served on /metrics. */
    static final class Metrics {
        final AtomicLong accepted = new AtomicLong();
        final AtomicLong rejected = new AtomicLong();
        final AtomicLong bytesToServer = new AtomicLong();
        final AtomicLong bytesToClient = new AtomicLong();
        final AtomicLong fencedSessions = new AtomicLong();
        final AtomicLong dcsFences = new AtomicLong();
        final AtomicLong cancels = new AtomicLong();
        final Map<String, AtomicLong> routed = new ConcurrentHashMap<>();
    }

    public Router(RouterConfig config) {
        this.config = config;
        this.dcs = new EtcdDcs(config.etcd(), config.cluster(), Duration.ofMillis(500));
    }

    public RouterConfig config() {
        return config;
    }

    /** Connects to the DCS (failing fast with a clear error), then serves until {@link #close()}. */
    public void run() {
        long deadline = System.nanoTime() + io.warden.agent.Agent.STARTUP_DCS_WAIT.toNanos();
        while (leaseId == 0) {
            try {
                long sent = System.nanoTime();
                leaseId = dcs.grantLease(config.ttlDuration());
                validUntilNanos = sent + config.ttlDuration().toNanos() - margin();
            } catch (DcsException e) {
                if (System.nanoTime() > deadline) {
                    throw new io.warden.common.WardenException(
                            "router " + config.id() + " cannot reach etcd at " + String.join(",", config.etcd()) + " for "
                                    + io.warden.agent.Agent.STARTUP_DCS_WAIT.toSeconds() + " s: "
                                    + e.getMessage(),
                            "start etcd, or fix 'etcd' in the router config");
                }
            }
        }
        Thread.ofPlatform().daemon().name("health-check").start(this::probeNodes);
        try (AutoCloseable watch = dcs.watchAll(wake::release)) {
            while (running) {
                step(System.nanoTime());
                wake.tryAcquire(Math.max(100, config.ttlDuration().toMillis() / 6), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            LOG.severe("router stopped: " + e);
        } finally {
            fence("router stopping");
        }
    }

    private long margin() {
        return Math.max(Duration.ofMillis(500).toNanos(), config.ttlDuration().toNanos() / 6);
    }

    /** One round: renew, read the topology, apply it, publish our status; fence if the DCS was lost too long. */
    void step(long now) {
        try {
            if (dcs.keepAlive(leaseId, Duration.ofMillis(400)) <= 0) {
                leaseId = dcs.grantLease(config.ttlDuration());
            }
            validUntilNanos = now + config.ttlDuration().toNanos() - margin();
        } catch (DcsException e) {
            problem("cannot renew the router lease: " + e.getMessage());
        }
        // Judged on the renewal alone, before the slower reads: a round that renewed in time must not fence itself
        // because its reads were slow, nor reopen listeners it is about to close.
        if (System.nanoTime() - validUntilNanos > 0) {
            if (!fenced) {
                metrics.dcsFences.incrementAndGet();
                fence("cannot reach the DCS for longer than the router lease");
            }
            return;
        }
        try {
            ClusterSnapshot cluster = dcs.read();
            List<RouterStatus> routers = dcs.readRouters();
            Map<String, Long> elsewhere = new HashMap<>();
            for (RouterStatus other : routers) {
                if (!other.id().equals(config.id())) {
                    other.sessions().forEach((node, count) -> elsewhere.merge(node, count, Long::sum));
                }
            }
            apply(Topology.from(cluster, elsewhere));
            if (fenced) {
                unfence();
            }
            dcs.publishRouter(status(), leaseId);
            problem("");
        } catch (DcsException e) {
            problem("DCS unavailable: " + e.getMessage());
        } catch (RuntimeException e) {
            problem("router step failed: " + e);
        }
    }

    private void problem(String text) {
        if (!text.equals(lastProblem)) {
            if (text.isEmpty()) {
                LOG.info("DCS reachable again");
            } else {
                LOG.warning(text);
            }
            lastProblem = text;
        }
    }

    /**
     * The active health check: a TCP connect to every node each second. The DCS says who should get sessions;
     * this only keeps reads away from a replica whose port stopped answering before its agent's record expires.
     */
    private void probeNodes() {
        while (running) {
            for (RouteTarget target : topology.all()) {
                try (Socket probe = new Socket()) {
                    probe.connect(new InetSocketAddress(target.host(), target.port()), 500);
                    if (unreachable.remove(target.name())) {
                        LOG.info(target + " answers again");
                    }
                } catch (IOException e) {
                    if (unreachable.add(target.name())) {
                        LOG.warning(target + " does not accept connections: " + e.getMessage());
                    }
                }
            }
            io.warden.common.Processes.sleep(Duration.ofSeconds(1));
        }
    }

    /** Installs a new topology; closes read-write sessions to a node that is no longer the primary. */
    void apply(Topology next) {
        Optional<RouteTarget> before = topology.primary();
        topology = next;
        if (!before.equals(next.primary())) {
            LOG.info("primary is now " + next.primary().map(RouteTarget::toString).orElse("(none)")
                    + (before.isPresent() ? " (was " + before.get() + ")" : ""));
            for (Session session : sessions) {
                if (session.port == Port.READ_WRITE && !next.primary().equals(Optional.of(session.target))) {
                    metrics.fencedSessions.incrementAndGet();
                    session.close();
                }
            }
        }
    }

    private RouterStatus status() {
        return new RouterStatus(config.id(), config.host(), config.readWritePort(), config.readOnlyPort(),
                "http://" + config.host() + ":" + config.apiPort(), ProcessHandle.current().pid(), localSessions(),
                topology.primary().map(RouteTarget::name).orElse(""));
    }

    Map<String, Long> localSessions() {
        Map<String, Long> counts = new HashMap<>();
        for (Session session : sessions) {
            counts.merge(session.target.name(), 1L, Long::sum);
        }
        return counts;
    }

    private synchronized void fence(String reason) {
        if (!fenced) {
            LOG.warning("fencing: " + reason + ": closing " + sessions.size() + " sessions and the listeners");
        }
        fenced = true;
        listeners.values().forEach(Router::closeQuietly);
        listeners.clear();
        sessions.forEach(Session::close);
    }

    private synchronized void unfence() {
        if (!running) {
            return;
        }
        try {
            listen(Port.READ_WRITE, config.readWritePort());
            listen(Port.READ_ONLY, config.readOnlyPort());
            fenced = false;
            LOG.info("serving " + config.host() + ":" + config.readWritePort() + " (read-write) and :" + config.readOnlyPort() + " (read-only)");
        } catch (IOException e) {
            listeners.values().forEach(Router::closeQuietly);
            listeners.clear();
            problem("cannot listen on " + config.host() + ": " + e.getMessage());
        }
    }

    private void listen(Port port, int number) throws IOException {
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.setOption(StandardSocketOptions.SO_REUSEPORT, true);
        server.bind(new InetSocketAddress(InetAddress.getByName(config.host()), number), 1024);
        listeners.put(port, server);
        Thread.ofPlatform().daemon().name("listen-" + port).start(() -> accept(server, port));
    }

    private void accept(ServerSocket server, Port port) {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                metrics.accepted.incrementAndGet();
                Thread.ofPlatform().name("session").daemon().start(() -> serve(client, port));
            } catch (IOException e) {
                if (!server.isClosed()) {
                    LOG.warning("accept failed on " + port + ": " + e.getMessage());
                }
            }
        }
    }

    private void serve(Socket client, Port port) {
        if (connections.incrementAndGet() > config.connectionLimit()) {
            metrics.rejected.incrementAndGet();
            refuse(client, "53300", "too many connections to the Warden router (max_connections " + config.connectionLimit() + ")");
            connections.decrementAndGet();
            return;
        }
        try {
            client.setTcpNoDelay(true);
            client.setKeepAlive(true);
            client.setSoTimeout((int) config.startupTimeoutDuration().toMillis());
            InputStream in = client.getInputStream();
            while (true) {
                PgWire.StartupPacket packet = PgWire.readStartup(in);
                switch (packet.code()) {
                    case PgWire.GSSENC_REQUEST -> {
                        // Not offered: the client falls back to SSLRequest or a plain StartupMessage on this socket.
                        client.getOutputStream().write('N');
                        client.getOutputStream().flush();
                    }
                    case PgWire.CANCEL_REQUEST -> {
                        cancel(packet);
                        closeQuietly(client);
                        return;
                    }
                    case PgWire.SSL_REQUEST, PgWire.PROTOCOL_3 -> {
                        connect(client, port, packet);
                        return;
                    }
                    default -> {
                        refuse(client, "08P01", "unsupported protocol or request code " + packet.code());
                        return;
                    }
                }
            }
        } catch (SocketTimeoutException e) {
            refuse(client, "08P01", "no startup packet within " + config.startupTimeoutDuration().toMillis() + " ms");
        } catch (PgWire.ProtocolException e) {
            metrics.rejected.incrementAndGet();
            refuse(client, "08P01", e.getMessage());
        } catch (IOException e) {
            closeQuietly(client);
        } finally {
            connections.decrementAndGet();
        }
    }

    private void connect(Socket client, Port port, PgWire.StartupPacket first) throws IOException {
        Topology current = topology;
        Optional<RouteTarget> target = port == Port.READ_WRITE
                ? current.primary()
                : current.readTarget(localSessions(), config.maxReplicaLagBytes(), config.fallback(), Set.copyOf(unreachable));
        if (target.isEmpty() || fenced) {
            refuse(client, "57P03", port == Port.READ_WRITE ? "no primary is available right now" : "no node is available for reads right now");
            return;
        }
        Socket server = new Socket();
        try {
            server.setTcpNoDelay(true);
            server.setKeepAlive(true);
            server.connect(new InetSocketAddress(target.get().host(), target.get().port()), (int) config.connectTimeoutDuration().toMillis());
        } catch (IOException e) {
            closeQuietly(server);
            refuse(client, "08006", "cannot reach " + target.get() + ": " + e.getMessage());
            return;
        }
        metrics.routed.computeIfAbsent(port + " " + target.get().name(), k -> new AtomicLong()).incrementAndGet();
        Session session = new Session(port, target.get(), client, server);
        sessions.add(session);
        // Re-check after registering: a fence that ran between the routing decision and now has not seen us.
        if (port == Port.READ_WRITE && !topology.primary().equals(target)) {
            session.close();
            return;
        }
        try {
            client.setSoTimeout(0);
            OutputStream toServer = server.getOutputStream();
            toServer.write(first.bytes());
            toServer.flush();
            Thread upstream = Thread.ofPlatform().name("to-server").daemon().start(() -> copy(client, server, metrics.bytesToServer, session));
            if (first.code() == PgWire.PROTOCOL_3) {
                OutputStream toClient = new BufferedOutputStream(client.getOutputStream(), 8192);
                PgWire.relayStartupPhase(server.getInputStream(), toClient, (pid, secret) -> {
                    long k = ((long) pid << 32) | (secret & 0xFFFFFFFFL);
                    cancelKeys.put(k, session.target);
                    session.cancelKey = k;
                });
            }
            copy(server, client, metrics.bytesToClient, session);
            upstream.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // One side closed or was fenced: the session ends.
        } finally {
            session.close();
        }
    }

    private static void copy(Socket from, Socket to, AtomicLong counter, Session session) {
        byte[] buffer = new byte[16 * 1024];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buffer)) > 0) {
                out.write(buffer, 0, n);
                counter.addAndGet(n);
            }
        } catch (IOException e) {
            // Closed by the peer or by a fence.
        } finally {
            session.close();
        }
    }

    /** A CancelRequest goes to the node that issued the key; a key another router saw goes to every node. */
    private void cancel(PgWire.StartupPacket packet) {
        metrics.cancels.incrementAndGet();
        long key = ((long) packet.intAt(8) << 32) | (packet.intAt(12) & 0xFFFFFFFFL);
        RouteTarget known = cancelKeys.get(key);
        List<RouteTarget> targets = known != null ? List.of(known) : topology.all();
        for (RouteTarget target : targets) {
            try (Socket server = new Socket()) {
                server.connect(new InetSocketAddress(target.host(), target.port()), (int) config.connectTimeoutDuration().toMillis());
                server.getOutputStream().write(packet.bytes());
                server.getOutputStream().flush();
                // Postgres closes the connection after reading a cancel request; wait for that so it is delivered.
                server.setSoTimeout(2000);
                server.getInputStream().read();
            } catch (IOException e) {
                LOG.fine("cancel to " + target + " failed: " + e.getMessage());
            }
        }
    }

    private void refuse(Socket client, String sqlState, String message) {
        try {
            client.getOutputStream().write(PgWire.error(sqlState, message));
            client.getOutputStream().flush();
        } catch (IOException ignored) {
            // The client is gone already.
        } finally {
            closeQuietly(client);
        }
    }

    static void closeQuietly(java.io.Closeable closeable) {
        try {
            closeable.close();
        } catch (IOException ignored) {
            // Closing is all we wanted.
        }
    }

    /** One client connection relayed to one node. */
    final class Session {
        final Port port;
        final RouteTarget target;
        final Socket client;
        final Socket server;
        volatile long cancelKey;
        private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

        Session(Port port, RouteTarget target, Socket client, Socket server) {
            this.port = port;
            this.target = target;
            this.client = client;
            this.server = server;
        }

        void close() {
            if (closed.compareAndSet(false, true)) {
                sessions.remove(this);
                if (cancelKey != 0) {
                    cancelKeys.remove(cancelKey);
                }
                closeQuietly(client);
                closeQuietly(server);
            }
        }
    }

    /** Status for the API and `warden list`. */
    public Map<String, Object> describe() {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        out.put("id", config.id());
        out.put("state", fenced ? "fenced" : "serving");
        out.put("primary", topology.primary().map(RouteTarget::name).orElse(""));
        out.put("sessions", localSessions());
        Map<String, Long> load = new HashMap<>(topology.sessionsElsewhere());
        localSessions().forEach((node, count) -> load.merge(node, count, Long::sum));
        out.put("load", load);
        Map<String, Object> replicas = new java.util.TreeMap<>();
        topology.replicas().forEach(r -> replicas.put(r.target().name(), Map.of(
                "lag_bytes", r.lagBytes(), "noloadbalance", r.noloadbalance(), "reachable", !unreachable.contains(r.target().name()))));
        out.put("replicas", replicas);
        out.put("connections", connections.get());
        return out;
    }

    public boolean serving() {
        return !fenced;
    }

    public String metricsText() {
        StringBuilder out = new StringBuilder();
        line(out, "warden_router_serving", "gauge", fenced ? 0 : 1);
        line(out, "warden_router_connections_accepted_total", "counter", metrics.accepted.get());
        line(out, "warden_router_connections_rejected_total", "counter", metrics.rejected.get());
        line(out, "warden_router_bytes_to_server_total", "counter", metrics.bytesToServer.get());
        line(out, "warden_router_bytes_to_client_total", "counter", metrics.bytesToClient.get());
        line(out, "warden_router_fenced_sessions_total", "counter", metrics.fencedSessions.get());
        line(out, "warden_router_dcs_fences_total", "counter", metrics.dcsFences.get());
        line(out, "warden_router_cancel_requests_total", "counter", metrics.cancels.get());
        out.append("# TYPE warden_router_sessions gauge\n");
        localSessions().forEach((node, count) -> out.append("warden_router_sessions{node=\"").append(node).append("\"} ").append(count).append('\n'));
        out.append("# TYPE warden_router_routed_total counter\n");
        metrics.routed.forEach((key, count) -> {
            String[] parts = key.split(" ");
            out.append("warden_router_routed_total{port=\"").append(parts[0].toLowerCase(java.util.Locale.ROOT))
                    .append("\",node=\"").append(parts[1]).append("\"} ").append(count.get()).append('\n');
        });
        return out.toString();
    }

    private static void line(StringBuilder out, String name, String type, long value) {
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n').append(name).append(' ').append(value).append('\n');
    }

    @Override
    public void close() {
        running = false;
        wake.release();
        fence("router stopping");
        try {
            dcs.revokeLease(leaseId);
        } catch (DcsException e) {
            // Its key expires with the lease anyway.
        }
        dcs.close();
    }
}
