package io.warden.agent;

import io.warden.common.WardenException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When the agent's HA loop runs a cycle, and how it ends. A cycle starts every {@code loop_wait}, or at once when it is
 * woken (a DCS change seen by the watch, an operator's command); the loop runs until {@link #close} or until
 * {@link #shutdown} asks it to stop, and then it carries out the shutdown itself, last: only the loop's thread starts
 * or stops postgres, so a shutdown can never race a cycle that is starting it.
 */
final class HaLoop {
    private static final Logger LOG = LoggerFactory.getLogger(HaLoop.class);

    /** How soon the next cycle runs while a hand-over waits for its candidate to receive the shutdown checkpoint. */
    private static final Duration HAND_OVER_POLL = Duration.ofMillis(20);

    private final Node node;
    private final BooleanSupplier handOverWaiting;
    private final LongConsumer cycleTook;

    private final Semaphore wakeUp = new Semaphore(0);
    private volatile boolean running = true;
    /** Set by {@link #shutdown}: the loop ends after the cycle under way and runs its last step. */
    private volatile boolean stopRequested;

    private final CountDownLatch loopEnded = new CountDownLatch(1);
    /** Set once the start-up checks passed; before that the agent owns nothing it could stop or release. */
    private volatile boolean started;

    /**
     * @param handOverWaiting whether a hand-over waits for its candidate: the cycles then follow each other closely
     * @param cycleTook told how long each cycle took, in nanoseconds
     */
    HaLoop(Node node, BooleanSupplier handOverWaiting, LongConsumer cycleTook) {
        this.node = node;
        this.handOverWaiting = handOverWaiting;
        this.cycleTook = cycleTook;
    }

    /** The start-up checks passed: from now on a shutdown waits for the loop to carry it out. */
    void started() {
        started = true;
    }

    /** Starts the next cycle at once (or ends the wait of a loop asked to stop). */
    void wakeUp() {
        wakeUp.release();
    }

    /**
     * Runs {@code cycle} until {@link #close} or {@link #shutdown}; after a requested shutdown, runs {@code last} on
     * this thread before it returns.
     */
    void run(Runnable cycle, Runnable last) {
        try (AutoCloseable watch = node.dcs().watch(wakeUp::release)) {
            while (running && !stopRequested) {
                long started = node.clock().nanoTime();
                // Drained before the cycle, not after: a change of the leader key seen while the cycle runs (the
                // old primary releasing it in a switchover, say) must start the next cycle at once, not a loop_wait
                // later.
                wakeUp.drainPermits();
                cycle.run();
                cycleTook.accept(node.clock().nanoTime() - started);
                long waitMillis = node.config().loopWaitDuration().toMillis()
                        - (node.clock().nanoTime() - started) / 1_000_000;
                if (handOverWaiting.getAsBoolean()) {
                    // Every cycle of the wait for the candidate keeps the cluster without a writable primary.
                    waitMillis = Math.min(waitMillis, HAND_OVER_POLL.toMillis());
                }
                if (waitMillis > 0 && running && !stopRequested) {
                    wakeUp.tryAcquire(waitMillis, TimeUnit.MILLISECONDS);
                }
            }
            if (stopRequested) {
                last.run();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            throw new WardenException("agent stopped: " + e, "see the agent log", e);
        } finally {
            loopEnded.countDown();
        }
    }

    /** Ends the loop after the cycle under way, without its last step. */
    void close() {
        running = false;
        wakeUp.release();
    }

    /**
     * Asks the loop to shut down and waits at most {@code limit} for it. Only the loop starts or stops postgres, so
     * this never touches postgres itself: when the loop is stuck in a long action and does not get there in time, the
     * process exits with postgres as it is (the watchdog, still armed with the lease's deadline, fences a primary; a
     * replica is harmless).
     */
    void shutdown(Duration limit) {
        stopRequested = true;
        wakeUp.release();
        if (!started) {
            // Refused at start-up (a duplicate name, say): nothing here is ours to stop or release.
            return;
        }
        try {
            if (!loopEnded.await(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("the HA loop did not reach the shutdown within " + limit.toSeconds() + " s (a long action is"
                        + " running): exiting without touching postgres; the watchdog fences it if it is a primary");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
