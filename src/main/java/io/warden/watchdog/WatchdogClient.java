package io.warden.watchdog;

import java.nio.file.Path;

/**
 * The agent's side of the {@link Watchdog}: every call returns whether the message reached the watchdog; a node must
 * not lead when it did not.
 */
public interface WatchdogClient {
    /** The watchdog process listening on {@code socket}. */
    static WatchdogClient socket(Path socket) {
        return new SocketWatchdogClient(socket);
    }

    /** Arms (or re-arms) with a CLOCK_MONOTONIC deadline in nanoseconds. */
    boolean arm(long deadlineNanos);

    boolean disarm();
}
