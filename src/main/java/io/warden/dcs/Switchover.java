package io.warden.dcs;

/**
 * A planned change of primary, under {@code switchover}: the current leader hands over to {@code candidate} (any
 * healthy replica when empty). Bound to a lease of its own, so a switchover whose candidate never takes over
 * expires and normal failover rules apply again.
 */
public record Switchover(String leader, String candidate, String requestedAt) {
    public Switchover {
        candidate = candidate == null ? "" : candidate;
    }
}
