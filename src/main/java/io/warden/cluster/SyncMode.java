package io.warden.cluster;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * How commits wait for replicas, as in Patroni's {@code synchronous_mode}.
 *
 * <ul>
 *   <li>{@code OFF}: asynchronous replication; failover may lose the commits a replica had not received yet
 *       (bounded by maximum_lag_on_failover).
 *   <li>{@code ON}: commits wait for the synchronous standbys the leader chose; only those may be promoted. With no
 *       standby available the primary commits alone, and then no node may be promoted automatically.
 *   <li>{@code STRICT}: like ON, but with no standby available commits wait rather than commit unreplicated.
 * </ul>
 */
public enum SyncMode {
    OFF,
    ON,
    STRICT;

    @JsonValue
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    @JsonCreator
    public static SyncMode parse(Object value) {
        if (value instanceof Boolean b) {
            return b ? ON : OFF;
        }
        String text = String.valueOf(value).trim().toLowerCase(Locale.ROOT);
        return switch (text) {
            case "off", "false" -> OFF;
            case "on", "true" -> ON;
            case "strict" -> STRICT;
            default ->
                throw new IllegalArgumentException("synchronous_mode '" + value + "' is not one of off, on, strict");
        };
    }
}
