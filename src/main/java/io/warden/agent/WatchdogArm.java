package io.warden.agent;

import io.warden.dcs.Lease;
import io.warden.watchdog.WatchdogClient;
import java.util.Optional;

/**
 * Whether this node's watchdog is armed, and the arming itself: armed with the lease's deadline whenever this node
 * may run a primary, re-armed with each renewal, disarmed when it may not. While armed, a lease term found over
 * fences postgres from the lease keeper's thread, even when the HA loop is stuck in a long action.
 *
 * <p>Without a required watchdog every call succeeds: the agent then relies on its own fencing alone.
 */
final class WatchdogArm implements Lease.Listener {
    private final Optional<WatchdogClient> watchdog;
    private final Runnable fence;
    private volatile boolean armed;
    /** The lease term the watchdog was last armed with: only renewals of that lease move the watchdog's deadline. */
    private volatile Lease.Term armedWith = Lease.Term.NONE;

    /** @param fence what to do when the lease runs out while armed (kill postgres); called on the keeper's thread */
    WatchdogArm(Optional<WatchdogClient> watchdog, Runnable fence) {
        this.watchdog = watchdog;
        this.fence = fence;
    }

    /** Arms with {@code term}'s deadline. False when the watchdog is required but did not get the message. */
    boolean arm(Lease.Term term) {
        armed = true;
        armedWith = term;
        return watchdog.map(w -> w.arm(term.validUntilNanos())).orElse(true);
    }

    void disarm() {
        armed = false;
        watchdog.ifPresent(WatchdogClient::disarm);
    }

    /**
     * After a fence: the watchdog keeps the deadline it holds and no renewal moves it again, so once it passes the
     * watchdog kills any postgres on the data directory until the node starts as a replica (which disarms it) or
     * leads again (which arms it under the lease that then holds the key). The agent's own lease may still be
     * renewed, but it no longer holds the leader key.
     */
    void keepDeadline() {
        if (armed) {
            Lease.Term with = armedWith;
            armedWith = new Lease.Term(NO_LEASE, with.validUntilNanos());
        }
    }

    /** A lease id etcd never hands out: no renewal matches it. */
    private static final long NO_LEASE = -1;

    boolean armed() {
        return armed;
    }

    /**
     * Repeats the current state to the watchdog: false when it is required and did not get the message. The deadline
     * repeated is the one this arm holds, never {@code term}'s: only renewals of the lease armed under move it later.
     */
    boolean reachable(Lease.Term term) {
        return watchdog.map(w -> !armed ? w.disarm() : w.arm(armedWith.validUntilNanos()))
                .orElse(true);
    }

    /**
     * Re-arms with the new deadline only when it extends the lease the watchdog was armed under: a new lease does
     * not hold the leader key, so its deadline must never keep a primary alive (the watchdog stays in kill mode
     * until the HA loop arms it for a leadership it really holds, or disarms it).
     */
    @Override
    public void renewed(Lease.Term term) {
        if (armed && term.id() == armedWith.id()) {
            armedWith = term;
            watchdog.ifPresent(w -> w.arm(term.validUntilNanos()));
        }
    }

    /**
     * The lease armed under is over at {@code term}'s deadline (for a lease etcd no longer knows, the moment that was
     * heard): the watchdog gets that deadline when it is earlier than the one it holds, so it is in kill mode at once,
     * and postgres is fenced.
     */
    @Override
    public void expired(Lease.Term term) {
        if (armed) {
            Lease.Term with = armedWith;
            if (term.id() == with.id() && term.validUntilNanos() < with.validUntilNanos()) {
                armedWith = term;
                watchdog.ifPresent(w -> w.arm(term.validUntilNanos()));
            }
            fence.run();
        }
    }
}
