package io.warden.agent;

import io.warden.common.Clock;
import io.warden.dcs.Lease;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The checks made at the moment of a side effect that needs leadership: a decision made under one lease is never
 * carried out under another (a lease etcd forgot is replaced by a new one, which holds nothing). Callers check right
 * before starting, promoting or taking a key, not once per cycle.
 */
final class LeaseChecks {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseChecks.class);

    private final Lease lease;
    private final WatchdogArm watchdog;
    private final Clock clock;

    LeaseChecks(Lease lease, WatchdogArm watchdog, Clock clock) {
        this.lease = java.util.Objects.requireNonNull(lease, "lease is null");
        this.watchdog = java.util.Objects.requireNonNull(watchdog, "watchdog is null");
        this.clock = java.util.Objects.requireNonNull(clock, "clock is null");
    }

    /**
     * Does the lease this plan was decided under still hold, right now: the same lease, its deadline ahead? Checked
     * immediately before every side effect that needs leadership, so that a decision made under one lease is never
     * carried out under another (a lease etcd forgot is replaced by a new one, which holds nothing).
     */
    boolean stillHolds(Lease.Term term, String effect) {
        Lease.Term held = lease.term();
        if (held.id() == term.id() && held.validAt(clock.nanoTime())) {
            return true;
        }
        LOG.warn("not " + effect + ": it was decided under lease " + Long.toHexString(term.id()) + ", which "
                + (held.id() != term.id()
                        ? "has been replaced by " + Long.toHexString(held.id())
                        : "is no longer valid"));
        return false;
    }

    /** Arms the watchdog with the current deadline of {@code term}'s lease; false when the lease changed or the watchdog did not answer. */
    boolean armFor(Lease.Term term) {
        Lease.Term held = lease.term();
        return held.id() == term.id() && watchdog.arm(held);
    }
}
