package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Unreadable;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports DCS values this agent could not read: one log line per key per distinct value (a value is told from the
 * next by the revision that wrote it), never one per loop, and a count per key for {@code /metrics}. Each line says
 * what the agent does instead, so the person reading it knows nothing was turned into a default.
 */
final class UnreadableValues {
    private static final Logger LOG = LoggerFactory.getLogger(UnreadableValues.class);

    /** Key to the revision last reported; touched by the HA loop only. */
    private final Map<String, Long> reported = new HashMap<>();
    /** Told the counted key of each new unreadable value (see {@link #counted}). */
    private final Consumer<String> counter;

    UnreadableValues(Consumer<String> counter) {
        this.counter = counter;
    }

    void report(ClusterSnapshot cluster) {
        reported.keySet().retainAll(cluster.unreadable().keySet());
        for (Unreadable value : cluster.unreadable().values()) {
            Long before = reported.put(value.key(), value.modRevision());
            if (before == null || before != value.modRevision()) {
                counter.accept(counted(value.key()));
                LOG.warn("DCS key " + value.key() + " is unreadable (" + value.problem() + "): "
                        + consequence(value.key()));
            }
        }
    }

    /** The key a value is counted under: {@code members/*} and {@code routers/*} are counted together. */
    static String counted(String key) {
        return key.startsWith("members/") ? "members" : key.startsWith("routers/") ? "routers" : key;
    }

    /** What happens instead, in the words of docs/dcs.md's table. */
    static String consequence(String key) {
        if (key.startsWith("members/")) {
            return "that member is left out of this cycle's view (it is not compared, cloned from or routed to)";
        }
        if (key.startsWith("routers/")) {
            return "that router counts as still routing writes anywhere: the router barrier waits for it";
        }
        return switch (key) {
            case "config" -> "keeping the last config that could be read; with none, not racing or promoting";
            case "switchover" -> "ignoring the request; cancel it with warden switchover --cancel";
            case "sync" ->
                "no synchronous standby is known: nobody is promoted automatically while synchronous_mode is on";
            case "history" -> "never overwritten; new timelines are still recorded in optime and the member records";
            case "optime" -> "the last primary position is unknown: no replica races until the leader rewrites it";
            default -> "treated as absent";
        };
    }
}
