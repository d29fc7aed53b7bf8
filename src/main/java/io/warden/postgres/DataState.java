package io.warden.postgres;

/** The data directory as the agent finds it: what kind of node it belongs to and whether postgres runs on it. */
public enum DataState {
    /** No cluster in the data directory: this node must bootstrap or clone. */
    EMPTY,
    /** A primary's data directory (no standby.signal), postgres not running. */
    STOPPED_PRIMARY,
    /** A replica's data directory (standby.signal present), postgres not running. */
    STOPPED_REPLICA,
    RUNNING_PRIMARY,
    RUNNING_REPLICA
}
