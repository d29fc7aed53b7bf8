package io.warden.router;

import io.netty.channel.SingleThreadEventLoop;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorChooserFactory;
import java.util.Random;
import java.util.function.ToIntFunction;

/**
 * Which event loop a new session lives on: the less busy of two picked at random ("power of two choices").
 *
 * <p>Why not Netty's round-robin: clients that open their connections in lock-step (pgbench's threads, a pool
 * filled by several threads) then land so that each loop serves the sessions of one client thread only. Each
 * (client thread, loop, its backends) group is a closed chain of wake-ups, and the scheduler packs each chain onto
 * one CPU, where backends of the same chain wait behind each other: measured with {@code perf sched} on the 2-core
 * bench machine, backends runnable for up to 760 ms while their neighbours ping-ponged with the loop, and 120-210
 * pgbench transactions in 12 s over 30 ms (HAProxy, whose threads each served both pgbench threads: 10-25).
 * A random choice mixes the sessions; comparing two keeps the loops' session counts level.
 */
final class LoopChooser implements EventExecutorChooserFactory {
    /** By channels registered on each loop, read from the accepting thread: an estimate, which is enough. */
    static final LoopChooser INSTANCE = new LoopChooser(
            executor -> executor instanceof SingleThreadEventLoop loop ? loop.registeredChannels() : 0, new Random());

    private final ToIntFunction<EventExecutor> load;
    /** Shared by the loops that accept (one per port); java.util.Random is safe for that, and used once per accept. */
    private final Random random;

    LoopChooser(ToIntFunction<EventExecutor> load, Random random) {
        this.load = load;
        this.random = random;
    }

    @Override
    public EventExecutorChooser newChooser(EventExecutor[] executors) {
        return () -> {
            EventExecutor a = executors[random.nextInt(executors.length)];
            EventExecutor b = executors[random.nextInt(executors.length)];
            return load.applyAsInt(b) < load.applyAsInt(a) ? b : a;
        };
    }
}
