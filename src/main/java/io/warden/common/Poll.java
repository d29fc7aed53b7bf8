package io.warden.common;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Asks the same question again until it is answered or a deadline passes: the one way Warden waits for a condition
 * (a postmaster to write its pid, etcd to answer at start-up, a candidate to confirm a checkpoint).
 *
 * <p>The first attempt runs at once; then the pause between attempts starts at {@code interval} and grows by
 * {@code factor} up to {@code maxInterval}, never sleeping past the deadline. An attempt that throws ends the wait
 * with that exception: an attempt that should survive a failure catches it and answers "not yet".
 *
 * <p>Interrupts are not swallowed: {@link #until} throws {@link InterruptedException} and the caller decides.
 */
public final class Poll {
    private final Duration interval;
    private final double factor;
    private final Duration maxInterval;
    private final Clock clock;

    private Poll(Duration interval, double factor, Duration maxInterval, Clock clock) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("poll interval must be positive, not " + interval);
        }
        if (factor < 1) {
            throw new IllegalArgumentException("poll backoff factor must be at least 1, not " + factor);
        }
        this.interval = interval;
        this.factor = factor;
        this.maxInterval = maxInterval.compareTo(interval) < 0 ? interval : maxInterval;
        this.clock = Objects.requireNonNull(clock, "clock is null");
    }

    /** Attempts every {@code interval}, on the system clock. */
    public static Poll every(Duration interval) {
        return new Poll(interval, 1, interval, Clock.SYSTEM);
    }

    /** The pause grows by {@code factor} after each unanswered attempt, up to {@code maxInterval}. */
    public Poll backoff(double factor, Duration maxInterval) {
        return new Poll(interval, factor, maxInterval, clock);
    }

    public Poll clock(Clock clock) {
        return new Poll(interval, factor, maxInterval, clock);
    }

    /**
     * Runs {@code attempt} until it answers (a non-empty result) or {@code timeout} has passed since the call; empty
     * when it never answered in time. The last attempt starts at or before the deadline.
     */
    public <T> Optional<T> untilAnswered(Duration timeout, Supplier<Optional<T>> attempt) throws InterruptedException {
        long deadline = clock.nanoTime() + timeout.toNanos();
        long pause = interval.toNanos();
        while (true) {
            Optional<T> answer = attempt.get();
            if (answer.isPresent()) {
                return answer;
            }
            long left = deadline - clock.nanoTime();
            if (left <= 0) {
                return Optional.empty();
            }
            clock.sleep(Duration.ofNanos(Math.min(pause, left)));
            pause = Math.min(maxInterval.toNanos(), (long) (pause * factor));
        }
    }

    /** Waits for {@code condition} to hold; false when it did not within {@code timeout}. */
    public boolean until(Duration timeout, BooleanSupplier condition) throws InterruptedException {
        return untilAnswered(timeout, () -> condition.getAsBoolean() ? Optional.of(Boolean.TRUE) : Optional.empty())
                .isPresent();
    }

    /**
     * Waits for {@code condition} as {@link #until} does, or fails naming {@code what} was waited for and {@code next},
     * what to look at. An interrupt ends the wait as a failure too, with the flag set again for the caller.
     */
    public void require(Duration timeout, String what, String next, BooleanSupplier condition) {
        boolean held;
        try {
            held = until(timeout, condition);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WardenException(
                    "interrupted while waiting for " + what + " (timeout " + timeout.toSeconds() + " s)", next, e);
        }
        if (!held) {
            throw new WardenException("timed out after " + timeout.toSeconds() + " s waiting for " + what, next);
        }
    }
}
