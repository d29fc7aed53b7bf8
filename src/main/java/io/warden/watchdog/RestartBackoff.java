package io.warden.watchdog;

import java.time.Duration;

/**
 * How long the supervisor waits before it starts the agent again: {@link #FIRST} after an agent that ran a while,
 * doubling for each one that exits within {@link #STABLE} of its start, up to {@link #MAX}. A crash-looping agent is
 * retried for ever, slowly; one that crashed once after running for a minute is back at once.
 *
 * @param previous the wait before the start that has just ended, or zero for the first start
 */
public record RestartBackoff(Duration previous) {
    public static final Duration FIRST = Duration.ofMillis(500);
    public static final Duration MAX = Duration.ofSeconds(30);
    public static final Duration STABLE = Duration.ofSeconds(60);

    public static RestartBackoff initial() {
        return new RestartBackoff(Duration.ZERO);
    }

    /** The wait before the next start, after an agent that ran for {@code uptime}. */
    public RestartBackoff next(Duration uptime) {
        if (previous.isZero() || uptime.compareTo(STABLE) >= 0) {
            return new RestartBackoff(FIRST);
        }
        Duration doubled = previous.multipliedBy(2);
        return new RestartBackoff(doubled.compareTo(MAX) > 0 ? MAX : doubled);
    }
}
