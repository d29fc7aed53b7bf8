package io.warden.runtime;

import io.warden.common.WardenException;

/** A fault a runtime can inflict on a container's host, for drills and tests, named as the CLI names it. */
public enum Fault {
    /** The host dies: everything in the container is SIGKILLed, its supervisor included. */
    KILL("kill"),
    /** The whole host pauses, as a VM pause looks to the database. */
    FREEZE("freeze"),
    THAW("thaw"),
    /** The host loses its network: it reaches neither etcd nor its peers. */
    ISOLATE("isolate"),
    HEAL("heal"),
    /** The container's volume fills up, as a runaway writer would fill it. */
    FILL_DISK("fill-disk"),
    /**
     * The node can no longer rejoin another primary: its client certificates no longer fit, so pg_rewind, a clone
     * and streaming from another node are all refused, as after a botched certificate rotation on that host. Its own
     * postgres goes on serving. For the repair controller's "cannot rejoin": the node is not mended, but replaced.
     */
    BREAK_REJOIN("break --rejoin"),
    /**
     * The node's data directory becomes unusable: its control file is overwritten with zeros and its postgres killed,
     * as a torn write on a failing disk leaves it. Postgres refuses to start on it again.
     */
    BREAK_DATA("break --data");

    public final String word;

    Fault(String word) {
        this.word = word;
    }

    public static Fault parse(String word) {
        for (Fault fault : values()) {
            if (fault.word.equals(word)) {
                return fault;
            }
        }
        throw new WardenException(
                "unknown fault '" + word + "'",
                "use one of: kill, freeze, thaw, isolate, heal, fill-disk, break --rejoin, break --data");
    }
}
