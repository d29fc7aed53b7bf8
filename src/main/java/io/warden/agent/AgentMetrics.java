package io.warden.agent;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;
import io.warden.agent.Agent.AgentView;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * One agent's metrics, served on its API's {@code /metrics}. They live in a registry of their own, not the client's
 * global default, so that a test builds one in isolation and two agents in one JVM never share a series.
 *
 * <p>The gauges that describe the node (postgres running, role, timeline, WAL position, lag, last decision) and the
 * cycle count are read from the agent's last published {@link AgentView} when Prometheus scrapes, not set by the HA
 * loop. The view is already the one immutable record of the last cycle that {@code /status} and the health checks
 * answer from, so {@code /metrics} cannot disagree with them, and the loop has no second copy to keep up to date
 * (or to forget on one of its early returns). Before the first cycle these families are left out. Each is read
 * separately, so one scrape may mix two consecutive cycles; every value is still one a cycle published.
 *
 * <p>The histograms are what only the loop can know, recorded as it goes: how long each cycle and each promotion
 * took. Recording and scraping may run concurrently; the client's metric types are thread-safe.
 */
public final class AgentMetrics {
    /**
     * A quiet cycle is one DCS read and a few local queries (milliseconds); a cycle that probes peers or waits on
     * etcd takes up to its timeouts (seconds); one that clones or rewinds takes minutes, and lands in +Inf.
     */
    private static final double[] CYCLE_BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    /** pg_ctl promote ends at the end of recovery: well under a second when idle, up to its 60 s limit under load. */
    private static final double[] PROMOTE_BUCKETS = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Supplier<AgentView> view;
    private final Histogram cycle;
    private final Histogram promotion;
    private final Counter unreadable;
    private final Counter cycleErrors;

    /** @param view the agent's last published view, null until its first cycle */
    AgentMetrics(Supplier<AgentView> view) {
        this.view = Objects.requireNonNull(view, "view is null");
        gauge(
                GaugeWithCallback.builder().name("warden_postgres_running").help("1 when postgres runs on this node"),
                v -> v.local().running() ? 1 : 0);
        gauge(
                GaugeWithCallback.builder()
                        .name("warden_primary")
                        .help("1 when this node's postgres runs as a primary"),
                v -> v.self().role() == Role.PRIMARY ? 1 : 0);
        gauge(
                GaugeWithCallback.builder()
                        .name("warden_replica_streaming")
                        .help("1 when this node is a streaming replica"),
                v -> v.self().state() == MemberState.STREAMING ? 1 : 0);
        gauge(
                GaugeWithCallback.builder()
                        .name("warden_timeline")
                        .help("the postgres timeline this node is on (0 when unknown)"),
                v -> v.self().timeline());
        gauge(
                GaugeWithCallback.builder()
                        .name("warden_wal_position_bytes")
                        .unit(Unit.BYTES)
                        .help("the current (primary) or furthest received or replayed (replica) WAL position"),
                v -> v.self().position().value());
        gauge(
                GaugeWithCallback.builder()
                        .name("warden_replication_lag_bytes")
                        .unit(Unit.BYTES)
                        .help("bytes of WAL this replica is behind the primary (0 on a primary)"),
                v -> v.self().lagBytes());
        GaugeWithCallback.builder()
                .name("warden_ha_decision")
                .help("the action of the last HA cycle: one sample, 1, labelled with it")
                .labelNames("action")
                .callback(callback ->
                        ifViewed(now -> callback.call(1, now.decision().action().name())))
                .register(registry);
        CounterWithCallback.builder()
                .name("warden_ha_cycles_total")
                .help("HA cycles run since the agent started")
                .callback(callback -> ifViewed(now -> callback.call(now.cycles())))
                .register(registry);
        cycle = Histogram.builder()
                .name("warden_ha_cycle_seconds")
                .unit(Unit.SECONDS)
                .help("how long one HA cycle took: the DCS read, observing postgres, the decision and its action")
                .classicOnly()
                .classicUpperBounds(CYCLE_BUCKETS)
                .withoutExemplars()
                .register(registry);
        unreadable = Counter.builder()
                .name("warden_dcs_unreadable_total")
                .help(
                        "distinct DCS values this agent could not read, by key (members/* and routers/* counted together)")
                .labelNames("key")
                .register(registry);
        cycleErrors = Counter.builder()
                .name("warden_ha_cycle_errors_total")
                .help("HA cycles that failed with an unexpected error (logged with its stack trace; the loop went on)")
                .register(registry);
        promotion = Histogram.builder()
                .name("warden_promote_seconds")
                .unit(Unit.SECONDS)
                .help(
                        "how long a promotion of this node took, from pg_ctl promote until the new primary was recorded in the DCS")
                .classicOnly()
                .classicUpperBounds(PROMOTE_BUCKETS)
                .withoutExemplars()
                .register(registry);
    }

    private void gauge(GaugeWithCallback.Builder builder, ToDoubleFunction<AgentView> value) {
        builder.callback(callback -> ifViewed(now -> callback.call(value.applyAsDouble(now))))
                .register(registry);
    }

    /** Runs {@code sample} on the last view; before the first cycle there is none, and the family is left out. */
    private void ifViewed(Consumer<AgentView> sample) {
        AgentView now = view.get();
        if (now != null) {
            sample.accept(now);
        }
    }

    /** One HA cycle ran for {@code nanos}. */
    void cycleTook(long nanos) {
        cycle.observe(Unit.nanosToSeconds(nanos));
    }

    /** A value of {@code key} this agent could not read, seen for the first time. */
    void unreadableValue(String key) {
        unreadable.labelValues(key).inc();
    }

    /** A cycle failed unexpectedly. */
    void cycleFailed() {
        cycleErrors.inc();
    }

    /** A promotion completed in {@code nanos}. */
    void promotionTook(long nanos) {
        promotion.observe(Unit.nanosToSeconds(nanos));
    }

    /** What {@code /metrics} serves. */
    public PrometheusRegistry registry() {
        return registry;
    }
}
