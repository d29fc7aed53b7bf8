package io.warden.common;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A clock that moves only when a test says so, or when code under test sleeps on it (the sleep advances it at
 * once). Listeners run after every advance, so a fake store can expire its leases when time passes.
 *
 * <p>Starts far from zero: code that used 0 as "never" must not be fooled by a clock that happens to read 0.
 */
public final class FakeClock implements Clock {
    private long nanos = 1_000_000_000_000L;
    private Instant instant = Instant.parse("2026-12-01T12:00:00Z");
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean sleepsAdvance = true;

    @Override
    public synchronized long nanoTime() {
        return nanos;
    }

    @Override
    public synchronized Instant instant() {
        return instant;
    }

    @Override
    public void sleep(Duration duration) throws InterruptedException {
        if (sleepsAdvance) {
            advance(duration);
        } else {
            Thread.sleep(duration);
        }
    }

    /**
     * From now on a sleep really waits and leaves this clock where it is: for tests that run a component's own
     * threads (its loop, its lease keeper), which would otherwise race time forward by sleeping.
     */
    public FakeClock standingStill() {
        sleepsAdvance = false;
        return this;
    }

    public void advance(Duration duration) {
        if (duration.isNegative()) {
            throw new IllegalArgumentException("a clock does not run backwards: " + duration);
        }
        synchronized (this) {
            nanos += duration.toNanos();
            instant = instant.plus(duration);
        }
        listeners.forEach(Runnable::run);
    }

    public void advanceMillis(long millis) {
        advance(Duration.ofMillis(millis));
    }

    /** Runs {@code listener} after every advance. */
    public void onAdvance(Runnable listener) {
        listeners.add(listener);
    }
}
