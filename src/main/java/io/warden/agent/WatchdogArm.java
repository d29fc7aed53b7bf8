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

    /** @param fence what to do when the lease runs out while armed (kill postgres); called on the keeper's thread */
    WatchdogArm(Optional<WatchdogClient> watchdog, Runnable fence) {
        this.watchdog = watchdog;
        this.fence = fence;
    }

    /** Arms with {@code term}'s deadline. False when the watchdog is required but did not get the message. */
    boolean arm(Lease.Term term) {
        armed = true;
        return watchdog.map(w -> w.arm(term.validUntilNanos())).orElse(true);
    }

    void disarm() {
        armed = false;
        watchdog.ifPresent(WatchdogClient::disarm);
    }

    boolean armed() {
        return armed;
    }

    /** Repeats the current state to the watchdog: false when it is required and did not get the message. */
    boolean reachable(Lease.Term term) {
        return watchdog.map(w -> armed ? w.arm(term.validUntilNanos()) : w.disarm()).orElse(true);
    }

    @Override
    public void renewed(Lease.Term term) {
        if (armed) {
            watchdog.ifPresent(w -> w.arm(term.validUntilNanos()));
        }
    }

    @Override
    public void expired(Lease.Term term) {
        if (armed) {
            fence.run();
        }
    }
}
