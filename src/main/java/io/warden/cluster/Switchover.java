package io.warden.cluster;

import java.time.Instant;
import java.util.Optional;

/**
 * A planned or manual change of primary, under {@code switchover}. At most one is pending.
 *
 * <ul>
 *   <li>Switchover: {@code leader} names the current primary, which hands over to {@code candidate} once it is
 *       due. An immediate one is bound to a lease of its own, so one whose candidate never takes over expires and
 *       normal rules apply again; a scheduled one ({@code scheduledAt}) stays until it runs or is cancelled.
 *   <li>Failover ({@code failover} true): {@code candidate} takes over whether the primary is healthy (it hands
 *       over) or not (it releases the key, or the key has expired and the other replicas wait for the candidate).
 *       With {@code acceptDataLoss} the candidate may be promoted from a timeline older than the cluster's newest,
 *       discarding that timeline's tail: only an operator decides that.
 * </ul>
 */
public record Switchover(
        String leader,
        String candidate,
        String requestedAt,
        String scheduledAt,
        boolean failover,
        boolean acceptDataLoss) {
    public Switchover {
        leader = leader == null ? "" : leader;
        candidate = candidate == null ? "" : candidate;
        scheduledAt = scheduledAt == null ? "" : scheduledAt;
        if (!scheduledAt.isEmpty()) {
            // Parsed once, here: a request whose time is not a time is unreadable as a whole (and ignored), never an
            // exception in the middle of an HA decision.
            try {
                Instant.parse(scheduledAt);
            } catch (java.time.format.DateTimeParseException e) {
                throw new IllegalArgumentException("scheduled_at '" + scheduledAt + "' is not an ISO-8601 instant");
            }
        }
    }

    public Switchover(String leader, String candidate, String requestedAt) {
        this(leader, candidate, requestedAt, "", false, false);
    }

    public Switchover(String leader, String candidate, String requestedAt, String scheduledAt, boolean failover) {
        this(leader, candidate, requestedAt, scheduledAt, failover, false);
    }

    public Optional<Instant> scheduled() {
        return scheduledAt.isEmpty() ? Optional.empty() : Optional.of(Instant.parse(scheduledAt));
    }

    /** Due now: immediate, or its scheduled time has come. */
    public boolean due(Instant now) {
        return scheduled().map(at -> !now.isBefore(at)).orElse(true);
    }

    /** Concerns the leader {@code name}: a failover concerns whoever leads. */
    public boolean concerns(String name) {
        return failover || leader.equals(name);
    }
}
