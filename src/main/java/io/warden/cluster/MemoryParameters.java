package io.warden.cluster;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Postgres's memory parameters for a container with {@code bytes} of memory, as the agent sets them unless the
 * cluster's or the node's parameters name them: {@code shared_buffers} about a quarter of it,
 * {@code effective_cache_size} three quarters, {@code work_mem} and {@code maintenance_work_mem} in proportion.
 *
 * <p>{@code shared_buffers} takes effect only at a restart, so it moves in powers of two: the largest power of two
 * of megabytes within a quarter of the memory. A change is then always a doubling (or a halving), worth the rolling
 * restart it costs, and the many small steps of a growing cluster change it only now and then; the others are
 * reloaded and follow every step. {@code max_connections} is left as it is: a lower one on the primary than on a
 * replica stops the replica, and the routers, not memory, bound the sessions.
 */
public final class MemoryParameters {
    private static final long MIB = 1L << 20;

    private MemoryParameters() {}

    public static Map<String, String> forMemory(long bytes) {
        long mib = Math.max(64, bytes / MIB);
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("shared_buffers", Math.max(32, Long.highestOneBit(mib / 4)) + "MB");
        parameters.put("effective_cache_size", mib * 3 / 4 + "MB");
        parameters.put("work_mem", clamp(mib / 256, 4, 256) + "MB");
        parameters.put("maintenance_work_mem", clamp(mib / 16, 64, 2048) + "MB");
        return parameters;
    }

    /** Whether going from {@code before} to {@code after} bytes of memory changes a parameter only a restart applies. */
    public static boolean restartBetween(long before, long after) {
        return !forMemory(before).get("shared_buffers").equals(forMemory(after).get("shared_buffers"));
    }

    private static long clamp(long value, long min, long max) {
        return Math.min(max, Math.max(min, value));
    }
}
