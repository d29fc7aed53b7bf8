package io.warden.agent;

import java.util.List;

/**
 * The families every agent serves on {@code /metrics} once it has run a cycle, by name: {@link AgentMetricsTest}
 * checks that one agent built alone serves them, and the integration tests that every node of a real cluster does.
 */
public final class AgentMetricNames {
    public static final List<String> AFTER_A_CYCLE = List.of(
            "warden_postgres_running",
            "warden_primary",
            "warden_replica_streaming",
            "warden_timeline",
            "warden_wal_position_bytes",
            "warden_replication_lag_bytes",
            "warden_ha_decision",
            "warden_ha_cycles_total",
            "warden_ha_cycle_seconds",
            "warden_ha_cycle_errors_total",
            "warden_promote_seconds");

    private AgentMetricNames() {}
}
