package io.warden.router;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A version bumped whenever the router's routing may answer differently (a new topology, a fence, a node probed up
 * or down), and the sessions held for a node (see {@link ClientStartup}) that retry at the next bump.
 */
final class RoutingChanges {
    private final AtomicLong version = new AtomicLong();
    private final Queue<Runnable> waiting = new ConcurrentLinkedQueue<>();

    long version() {
        return version.get();
    }

    /**
     * Runs {@code retry} once at the next change after version {@code seen}, or now if there has been one since: a
     * change between the caller's routing decision and this call is not missed.
     */
    void whenChangedSince(long seen, Runnable retry) {
        waiting.add(retry);
        if (version.get() != seen) {
            wakeWaiting();
        }
    }

    void changed() {
        version.incrementAndGet();
        wakeWaiting();
    }

    private void wakeWaiting() {
        for (Runnable retry; (retry = waiting.poll()) != null; ) {
            try {
                retry.run();
            } catch (RejectedExecutionException e) {
                // The session's event loop is shutting down with the router: nothing left to route it to.
            }
        }
    }
}
