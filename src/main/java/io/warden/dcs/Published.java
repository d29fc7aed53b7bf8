package io.warden.dcs;

import java.time.Duration;
import java.util.Objects;

/**
 * The last value an agent or a router wrote to a DCS key, under which lease and when: {@link #unchanged} says whether
 * writing {@code value} again would change nothing. Every write wakes every agent's and router's watch, so a value
 * is written only when it changed, on a new lease, or after {@link #REFRESH}: then even when unchanged, so that a key
 * removed behind the writer's back (by hand, by a restore) comes back. Not thread-safe: one thread writes each key.
 */
public final class Published<T> {
    public static final Duration REFRESH = Duration.ofSeconds(10);

    private T value;
    private long leaseId;
    private long writtenNanos;

    public boolean unchanged(T candidate, long currentLease, long nowNanos) {
        return value != null
                && Objects.equals(value, candidate)
                && leaseId == currentLease
                && nowNanos - writtenNanos < REFRESH.toNanos();
    }

    public void wrote(T written, long lease, long nowNanos) {
        value = written;
        leaseId = lease;
        writtenNanos = nowNanos;
    }
}
