package io.warden.sim;

import io.warden.cluster.Lsn;

/**
 * A node's WAL as the simulation models it: a chain of records, newest first, shared by every node that holds the
 * same history (a replica that streamed it, a base backup). Immutable: a write makes a new head. Two nodes hold the
 * same record only if they hold the same object, so "holds" is identity along the chain, never a compare of
 * positions: WAL past a fork on another timeline is at the same LSN but is not the same record.
 */
final class Wal {
    /** Where initdb leaves the WAL; each record takes {@link #RECORD_BYTES}. */
    static final long START = 0x100_0000L;

    static final long RECORD_BYTES = 0x100;
    static final Wal EMPTY = new Wal("initdb", null, 0);

    final String record;
    private final Wal previous;
    final int length;

    private Wal(String record, Wal previous, int length) {
        this.record = record;
        this.previous = previous;
        this.length = length;
    }

    Wal append(String record) {
        return new Wal(record, this, length + 1);
    }

    Lsn lsn() {
        return new Lsn(START + RECORD_BYTES * length);
    }

    /** This WAL cut back to {@code records} records (at most its own length). */
    Wal prefix(int records) {
        Wal at = this;
        while (at.length > records) {
            at = at.previous;
        }
        return at;
    }

    /** Whether this WAL contains {@code other} as a prefix: every record of it, on the same history. */
    boolean holds(Wal other) {
        return other.length <= length && prefix(other.length) == other;
    }

    /** The longest history both hold: where they forked. */
    static Wal common(Wal a, Wal b) {
        Wal x = a.prefix(Math.min(a.length, b.length));
        Wal y = b.prefix(x.length);
        while (x != y) {
            x = x.previous;
            y = y.previous;
        }
        return x;
    }

    @Override
    public String toString() {
        return record + "@" + lsn();
    }
}
