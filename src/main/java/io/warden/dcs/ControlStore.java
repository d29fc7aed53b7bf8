package io.warden.dcs;

import java.util.Map;
import java.util.Optional;

/**
 * The control plane's keys, under {@code /warden-control/<cluster>/} and never under the cluster's own prefix, which
 * every agent reads each cycle and every router watches: a controller's step or event must not wake them (see
 * docs/dcs.md).
 *
 * <p>{@code leader} names the controller that may act, bound to its lease. Its create revision is the controller's
 * <em>epoch</em>: every write a controller makes is a transaction that holds only while {@code leader} still has that
 * create revision, so a controller that lost its lease (paused, cut off) and woke up later cannot record a step over
 * its successor's. The epoch is the fencing token; a new holder always gets a higher one.
 *
 * <p>Values are text the controller writes and parses itself (JSON): the store knows names and revisions, not what
 * a repair is.
 */
public interface ControlStore {
    /** Who leads the controllers: the holder's id, the lease its key is bound to, and its epoch. */
    record Leadership(String holder, long leaseId, long epoch) {}

    /** A value and the revision that last wrote it. */
    record Value(String text, long modRevision) {}

    /** Every control key at one revision: the leadership, and the others by name relative to the prefix. */
    record Snapshot(long revision, Optional<Leadership> leader, Map<String, Value> values) {
        public Snapshot {
            values = Map.copyOf(values);
        }

        public Optional<String> text(String name) {
            return Optional.ofNullable(values.get(name)).map(Value::text);
        }
    }

    Snapshot read();

    /** Takes {@code leader} for {@code holder} bound to the lease, only if absent; returns the epoch, or 0 when held. */
    long acquireLeadership(String holder, long leaseId);

    /** Deletes {@code leader} only while it is the one taken at {@code epoch}. */
    boolean releaseLeadership(long epoch);

    /** Writes {@code name} only while {@code leader} is the one taken at {@code epoch}; false when it is not. */
    boolean put(long epoch, String name, String text);

    /** Deletes {@code name} only while {@code leader} is the one taken at {@code epoch}; false when it is not. */
    boolean delete(long epoch, String name);
}
