package io.warden.agent;

import io.warden.cluster.Lsn;
import java.util.Comparator;

/**
 * How far a node's WAL goes: its timeline, then its LSN on it. Candidates in a failover race are ranked by this,
 * never by LSN alone: an LSN on an older timeline may be past the point where the newest timeline forked, and
 * holds WAL the cluster discarded, not WAL it lacks.
 */
record Position(long timeline, Lsn lsn) implements Comparable<Position> {
    private static final Comparator<Position> ORDER =
            Comparator.comparingLong(Position::timeline).thenComparing(Position::lsn);

    @Override
    public int compareTo(Position other) {
        return ORDER.compare(this, other);
    }

    @Override
    public String toString() {
        return lsn + " on timeline " + timeline;
    }
}
