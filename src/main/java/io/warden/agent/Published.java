package io.warden.agent;

import java.time.Duration;
import java.util.Objects;

/**
 * The last value one agent wrote to a DCS key, under which lease and when: {@link #unchanged} says whether writing
 * {@code value} again would change nothing. Written again after {@link #REFRESH} even when unchanged, so that a key
 * removed behind the agent's back (by hand, by a restore) comes back. Touched by the HA loop's thread only.
 */
final class Published<T> {
    static final Duration REFRESH = Duration.ofSeconds(10);

    private T value;
    private long leaseId;
    private long writtenNanos;

    boolean unchanged(T candidate, long currentLease, long nowNanos) {
        return value != null && Objects.equals(value, candidate) && leaseId == currentLease
                && nowNanos - writtenNanos < REFRESH.toNanos();
    }

    void wrote(T written, long lease, long nowNanos) {
        value = written;
        leaseId = lease;
        writtenNanos = nowNanos;
    }
}
