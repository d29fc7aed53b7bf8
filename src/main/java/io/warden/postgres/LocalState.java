package io.warden.postgres;

import io.warden.cluster.Lsn;

/**
 * What the agent observed of its own postgres at the start of a cycle.
 *
 * @param data which kind of data directory there is and whether postgres runs on it
 * @param timeline the timeline postgres is on (0 when unknown)
 * @param lsn the current WAL position on a primary; the furthest received or replayed on a replica
 * @param streaming a replica's WAL receiver is connected and streaming
 * @param upstream host:port the replica is configured to follow, empty when none
 * @param pendingRestart some parameter was changed in the config files but takes effect only after a restart
 */
public record LocalState(
        DataState data,
        long timeline,
        Lsn lsn,
        boolean streaming,
        String upstream,
        long postmasterPid,
        boolean pendingRestart) {

    public LocalState(DataState data, long timeline, Lsn lsn, boolean streaming, String upstream, long postmasterPid) {
        this(data, timeline, lsn, streaming, upstream, postmasterPid, false);
    }

    public static LocalState of(DataState data) {
        return new LocalState(data, 0, Lsn.ZERO, false, "", 0);
    }

    public boolean running() {
        return data == DataState.RUNNING_PRIMARY || data == DataState.RUNNING_REPLICA;
    }
}
