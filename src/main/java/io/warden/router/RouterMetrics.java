package io.warden.router;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * One router's metrics, served on its API's {@code /metrics}. They live in a registry of their own, not the client's
 * global default, so that a test builds one in isolation and two routers in one JVM never share a series.
 *
 * <p>Events are counted where they happen ({@link ClientStartup}, {@link Relay}, {@link Router}); what the router
 * already knows as state (serving or fenced, open client connections, sessions per node) is read from it when
 * Prometheus scrapes, so there is no second copy to keep in step.
 *
 * <p>Hazard: {@link #bytesToServer} and {@link #bytesToClient} are added to on every read the relay makes. A counter
 * of the client is a {@code LongAdder} underneath, and exemplars are off (nothing here traces), so each add costs what
 * the hand-kept adder it replaces did; nothing slower belongs on that path. All of it is thread-safe: the event
 * loops record while the API's threads scrape.
 */
final class RouterMetrics {
    /**
     * A TCP connect to a node on the same network takes well under a millisecond, a few across zones; past that it is
     * a node or a network in trouble, up to {@code connect_timeout} (2 s by default).
     */
    private static final double[] CONNECT_BUCKETS = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
    };

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter accepted;
    private final Counter rejected;
    private final Counter fencedSessions;
    private final Counter dcsFences;
    private final Counter cancels;
    private final Counter routed;
    private final Histogram connect;
    /** Bytes relayed from clients to nodes; every client-side {@link Relay} adds to it. */
    final CounterDataPoint bytesToServer;
    /** Bytes relayed from nodes to clients; every node-side {@link Relay} adds to it. */
    final CounterDataPoint bytesToClient;

    /**
     * @param serving whether the router routes now (false while fenced)
     * @param connections the client connections open now, as {@code max_connections} counts them
     * @param sessions relayed sessions open now, by node name
     */
    RouterMetrics(BooleanSupplier serving, IntSupplier connections, Supplier<Map<String, Long>> sessions) {
        Objects.requireNonNull(serving, "serving is null");
        Objects.requireNonNull(connections, "connections is null");
        Objects.requireNonNull(sessions, "sessions is null");
        GaugeWithCallback.builder()
                .name("warden_router_serving")
                .help("1 while the router routes, 0 while it is fenced (it lost the DCS, or is starting or stopping)")
                .callback(callback -> callback.call(serving.getAsBoolean() ? 1 : 0))
                .register(registry);
        GaugeWithCallback.builder()
                .name("warden_router_connections")
                .help("client connections open now, relayed or still starting: what max_connections counts")
                .callback(callback -> callback.call(connections.getAsInt()))
                .register(registry);
        GaugeWithCallback.builder()
                .name("warden_router_sessions")
                .help("relayed sessions open now, by the node they reach")
                .labelNames("node")
                .callback(callback -> sessions.get().forEach((node, count) -> callback.call(count, node)))
                .register(registry);
        accepted = counter(
                "warden_router_connections_accepted_total",
                "client connections accepted (including those refused after)");
        rejected = counter(
                "warden_router_connections_rejected_total",
                "client connections refused: from an address allowed_clients does not list, over max_connections, or"
                        + " a malformed first packet");
        fencedSessions = counter(
                "warden_router_fenced_sessions_total", "read-write sessions closed because the primary changed");
        dcsFences = counter(
                "warden_router_dcs_fences_total",
                "times the router fenced itself because it could not renew its DCS lease");
        cancels = counter("warden_router_cancel_requests_total", "CancelRequests forwarded to the nodes");
        routed = Counter.builder()
                .name("warden_router_routed_total")
                .help("sessions routed, by port (read_write, read_only) and node")
                .labelNames("port", "node")
                .withoutExemplars()
                .register(registry);
        Counter relayed = Counter.builder()
                .name("warden_router_relayed_bytes_total")
                .unit(Unit.BYTES)
                .help("bytes relayed, by direction: to_server (client to node) and to_client (node to client)")
                .labelNames("direction")
                .withoutExemplars()
                .register(registry);
        bytesToServer = relayed.labelValues("to_server");
        bytesToClient = relayed.labelValues("to_client");
        connect = Histogram.builder()
                .name("warden_router_connect_seconds")
                .unit(Unit.SECONDS)
                .help("how long the router took to open a session's TCP connection to its node (successful connects)")
                .classicOnly()
                .classicUpperBounds(CONNECT_BUCKETS)
                .withoutExemplars()
                .register(registry);
    }

    private Counter counter(String name, String help) {
        return Counter.builder().name(name).help(help).withoutExemplars().register(registry);
    }

    void accepted() {
        accepted.inc();
    }

    void rejected() {
        rejected.inc();
    }

    void fencedSession() {
        fencedSessions.inc();
    }

    /** How often the router fenced itself for its lease, since start. */
    long dcsFenceCount() {
        return (long) dcsFences.get();
    }

    void dcsFenced() {
        dcsFences.inc();
    }

    void cancelRequested() {
        cancels.inc();
    }

    void routed(Router.Port port, String node) {
        routed.labelValues(port.name().toLowerCase(Locale.ROOT), node).inc();
    }

    /** A session's connection to its node was made {@code nanos} after it was asked for. */
    void connectedToNode(long nanos) {
        connect.observe(Unit.nanosToSeconds(nanos));
    }

    /** What {@code /metrics} serves. */
    PrometheusRegistry registry() {
        return registry;
    }
}
