package io.warden.dcs;

import java.util.Map;

/**
 * Cluster-wide settings kept in {@code config}, changed only by compare-and-swap.
 *
 * @param maximumLagOnFailover a replica further behind the last known primary position than this many bytes
 *     is not promoted automatically
 * @param parameters postgres parameters applied on every member
 */
public record DynamicConfig(long maximumLagOnFailover, Map<String, String> parameters) {
    public static final DynamicConfig DEFAULTS = new DynamicConfig(1L << 20, Map.of());

    public DynamicConfig {
        if (maximumLagOnFailover < 0) {
            throw new IllegalArgumentException("maximum_lag_on_failover must be >= 0, got " + maximumLagOnFailover);
        }
        parameters = parameters == null ? Map.of() : Map.copyOf(parameters);
    }
}
