package io.warden.router;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * When the router reads the DCS again: what the watch reported changed (on the watch's thread), judged against the
 * leader of the last read. A change that can move writes (the leader key, the leader's own record, config, sync,
 * switchover) is read at once; the others (replicas' positions, the optime, the routers' session counts) at most
 * once per {@link #LAG_READ_NANOS}: under write load the agents rewrite them every cycle, and each read costs the
 * router CPU that postgres and the relay need. Nothing reported: read every {@link #SAFETY_READ_NANOS} anyway.
 */
final class ReadSchedule {
    /** Changes that cannot move writes are read at most this often. */
    static final long LAG_READ_NANOS = Duration.ofSeconds(1).toNanos();
    /** Read this often even when the watch reported nothing: a second line behind the watch. */
    static final long SAFETY_READ_NANOS = Duration.ofSeconds(3).toNanos();

    private final AtomicBoolean urgent = new AtomicBoolean(true);
    private final AtomicBoolean pending = new AtomicBoolean(true);
    /** The leader key's holder at the last read; read by the watch's thread to judge which changes are urgent. */
    private volatile String leaderName = "";
    /** When the DCS was last read; touched by the topology thread only. */
    private long readNanos;

    /** The watch reported {@code keys} (relative to the cluster prefix) changed. */
    void changed(List<String> keys) {
        pending.set(true);
        String leader = leaderName;
        if (keys.stream().anyMatch(key -> movesWrites(key, leader))) {
            urgent.set(true);
        }
    }

    /** Can a change of {@code key} (relative to the cluster prefix) change where writes go? A failed watch: yes. */
    static boolean movesWrites(String key, String leader) {
        if (key.startsWith("routers/") || key.equals("optime") || key.equals("history")) {
            return false;
        }
        if (key.startsWith("members/")) {
            return leader.isEmpty() || key.equals("members/" + leader);
        }
        return true;
    }

    /**
     * Is a DCS read due: a change that moves writes; any change while the router lacks a primary or a replica to
     * read from (a promotion under way, replicas still starting: the change may be the one that completes it, and
     * the watch may have judged it against a leader the router had not read yet); other changes not read for a
     * while; nothing read for long.
     */
    static boolean readDue(boolean urgent, boolean pending, boolean incomplete, long sinceReadNanos, boolean fenced) {
        return urgent
                || fenced
                || pending && (incomplete || sinceReadNanos >= LAG_READ_NANOS)
                || sinceReadNanos >= SAFETY_READ_NANOS;
    }

    /** {@link #readDue} at {@code now}; {@code incomplete} is asked only when a change is pending. */
    boolean due(long now, java.util.function.BooleanSupplier incomplete, boolean fenced) {
        boolean changes = pending.get();
        return readDue(urgent.get(), changes, changes && incomplete.getAsBoolean(), now - readNanos, fenced);
    }

    /** Nanoseconds from {@code now} until a read is due with nothing more reported. */
    long untilDue(long now, java.util.function.BooleanSupplier incomplete) {
        return (pending.get() ? (incomplete.getAsBoolean() ? 0 : LAG_READ_NANOS) : SAFETY_READ_NANOS)
                - (now - readNanos);
    }

    /** A read starts: cleared before it, so that a change arriving during it is read again, not lost. */
    void reading() {
        urgent.set(false);
        pending.set(false);
    }

    /** The read at {@code now} succeeded and found {@code leader} (empty: none). */
    void read(long now, String leader) {
        readNanos = now;
        leaderName = leader;
    }

    /** The read failed: the next round reads again. */
    void failed() {
        urgent.set(true);
    }
}
