package io.warden.runtime;

import io.warden.common.WardenException;

/**
 * What a container (or one part of it) may use. {@code cpuMillis}: CPU time per second, 1000 = one core;
 * {@code memoryBytes}: memory with no swap on top; {@code pids}: processes and threads together (a fork bomb stops
 * there). 0 = no limit.
 */
public record ResourceLimits(long cpuMillis, long memoryBytes, long pids) {
    public static final ResourceLimits NONE = new ResourceLimits(0, 0, 0);

    public ResourceLimits {
        if (cpuMillis < 0 || memoryBytes < 0 || pids < 0) {
            throw new WardenException(
                    "limits cannot be negative (cpu " + cpuMillis + " m, memory " + memoryBytes + " B, pids " + pids
                            + ")",
                    "give 0 for no limit");
        }
        if (cpuMillis > 0 && cpuMillis < 10) {
            // The CFS quota is per 100 ms period and the kernel refuses one under 1 ms.
            throw new WardenException(
                    "a CPU quota of " + cpuMillis + " m is below the kernel's 1 ms per period",
                    "give at least 10 m (1 % of a core)");
        }
    }
}
