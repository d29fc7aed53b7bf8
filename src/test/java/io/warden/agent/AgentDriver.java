package io.warden.agent;

import io.warden.cluster.NodeTags;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * An agent driven from outside its package, as the simulation drives it: no threads of its own, its HA cycle and
 * its lease keeper stepped one call at a time on a fake clock.
 */
public final class AgentDriver {
    private AgentDriver() {}

    /**
     * A node's config as {@link AgentConfig#load} would make it from a file: ttl 3 s, loop_wait 1 s, the watchdog
     * required, postgres on {@code port}, its data and work directories under {@code dir}.
     */
    public static AgentConfig config(String name, int port, Path dir) {
        return new AgentConfig(
                name,
                "sim",
                "127.0.0.1",
                port,
                "127.0.0.1",
                port + 100,
                List.of("http://127.0.0.1:1"),
                null,
                null,
                null,
                dir.resolve(name + "-data").toString(),
                dir.resolve(name + "-work").toString(),
                "/usr/lib/postgresql/15/bin",
                "postgres",
                "replicator",
                "3s",
                "1s",
                "30s",
                "required",
                null,
                NodeTags.NONE,
                Map.of(),
                null,
                null,
                null,
                null,
                dir.resolve(name + "-work").toString());
    }

    /** Grants the agent's first lease (what {@link Agent#run} does first). */
    public static void connect(Agent agent) {
        agent.connect();
    }

    /** One HA cycle. */
    public static void cycle(Agent agent) {
        agent.cycle();
    }

    /** One step of the lease keeper at {@code now}; returns the nanoseconds until the next is due. */
    public static long stepLease(Agent agent, long now) {
        return agent.lease().step(now);
    }

    /** Cycles that failed with an unexpected error. */
    public static long loopErrors(Agent agent) {
        return agent.loopErrors();
    }
}
