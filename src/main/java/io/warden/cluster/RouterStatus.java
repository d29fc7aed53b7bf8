package io.warden.cluster;

import java.util.Map;

/**
 * What a router publishes under {@code routers/<id>}, bound to its lease: where it listens, how many sessions it
 * holds per node (so reads are balanced across routers, not per router), and which primary it routes writes to
 * (empty when none: its acknowledgement that it no longer routes to a former primary), and its lease's ttl (how long a
 * new leader's barrier may have to wait for it; 0 when a version that did not publish it wrote the status).
 */
public record RouterStatus(
        String id,
        String host,
        int readWritePort,
        int readOnlyPort,
        String apiUrl,
        long pid,
        Map<String, Long> sessions,
        String primary,
        long ttlMillis) {

    /** What {@link #unreadable} routes to: unknown, so anything. */
    public static final String UNKNOWN_PRIMARY = "(unreadable)";

    /** A live router whose status this version cannot read: it may still route writes anywhere. */
    public static RouterStatus unreadable(String id) {
        return new RouterStatus(id, "", 0, 0, "", 0, Map.of(), UNKNOWN_PRIMARY, 0);
    }

    public RouterStatus {
        sessions = sessions == null ? Map.of() : Map.copyOf(sessions);
        primary = primary == null ? "" : primary;
    }
}
