package io.warden.common;

import java.time.Duration;
import java.time.Instant;

/**
 * Where time comes from. Loops that decide by time ({@code Agent}, {@code Lease}, the router's round) take one as a
 * parameter, so a test drives them with literal times instead of sleeping and hoping.
 *
 * <p>Two clocks in one: {@link #nanoTime()} is monotonic and is what every deadline is measured on (a wall clock
 * that steps backwards must never extend a lease); {@link #instant()} is the calendar, only for what a person
 * scheduled (a switchover at 18:00) and for timestamps shown to people.
 */
public interface Clock {
    /** The machine's clocks: {@link System#nanoTime()}, {@link Instant#now()} and {@link Thread#sleep}. */
    Clock SYSTEM = new Clock() {
        @Override
        public long nanoTime() {
            return System.nanoTime();
        }

        @Override
        public Instant instant() {
            return Instant.now();
        }

        @Override
        public void sleep(Duration duration) throws InterruptedException {
            Thread.sleep(duration);
        }
    };

    /** Monotonic nanoseconds; only differences mean anything (compare with {@code a - b > 0}, never {@code a > b}). */
    long nanoTime();

    /** The calendar time. */
    Instant instant();

    /** Waits {@code duration}; a fake clock advances itself instead. */
    void sleep(Duration duration) throws InterruptedException;
}
