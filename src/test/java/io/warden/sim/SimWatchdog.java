package io.warden.sim;

import io.warden.watchdog.WatchdogClient;

/**
 * One node's watchdog, a process of its own: it keeps the last deadline it was armed with whatever happens to the
 * agent (frozen, crashed, restarted), and the simulation kills the node's postgres at every tick past that deadline
 * while armed, as the real one does every 20 ms in kill mode. Always reachable.
 */
final class SimWatchdog implements WatchdogClient {
    private boolean armed;
    private long deadlineNanos;

    @Override
    public boolean arm(long deadlineNanos) {
        this.armed = true;
        this.deadlineNanos = deadlineNanos;
        return true;
    }

    @Override
    public boolean disarm() {
        armed = false;
        return true;
    }

    /** In kill mode at {@code nowNanos}: armed, and the deadline reached. */
    boolean killsAt(long nowNanos) {
        return armed && nowNanos - deadlineNanos >= 0;
    }
}
