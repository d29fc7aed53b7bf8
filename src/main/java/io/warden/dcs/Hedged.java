package io.warden.dcs;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * A request sent a second time, beside the first, when the first has not been answered within a short delay; the
 * first answer wins. For calls where a late answer costs more than a duplicate request: a lease renewal that is
 * never answered fences the caller.
 *
 * <p>Why: jetcd's {@code keepAliveOnce} opens a gRPC stream per call, and about one call in 400 to 1,000 is never
 * answered (measured against etcd 3.4 on this machine, idle as well as loaded: 1 of 3,000 renewals stalled past 2 s
 * while 3,000 reads on the same connection all answered within 30 ms). Waiting it out made routers fence themselves
 * on two stalls in a row; a second stream answers in milliseconds.
 */
final class Hedged {
    private Hedged() {}

    /**
     * Starts {@code attempt}; if it has not completed after {@code hedgeAfter}, starts it once more. The result
     * completes with whichever completes first (normally or not).
     *
     * @param delay runs a task after a delay; a parameter so that tests decide when "later" is
     */
    static <T> CompletableFuture<T> call(Supplier<CompletableFuture<T>> attempt, Duration hedgeAfter, Delay delay) {
        CompletableFuture<T> result = new CompletableFuture<>();
        CompletableFuture<T> first = attempt.get();
        relay(first, result);
        delay.after(hedgeAfter, () -> {
            if (!result.isDone()) {
                relay(attempt.get(), result);
            }
        });
        return result;
    }

    private static <T> void relay(CompletableFuture<T> from, CompletableFuture<T> to) {
        from.whenComplete((value, failure) -> {
            if (failure != null) {
                to.completeExceptionally(failure);
            } else {
                to.complete(value);
            }
        });
    }

    /** Runs a task after a delay. */
    interface Delay {
        void after(Duration delay, Runnable task);

        /** On the JDK's shared delayed executor (a daemon thread started on first use). */
        Delay SYSTEM = (delay, task) -> CompletableFuture.delayedExecutor(
                        delay.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS)
                .execute(task);
    }
}
