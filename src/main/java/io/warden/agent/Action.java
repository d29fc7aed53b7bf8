package io.warden.agent;

/** What an HA cycle decided to do. Exactly one per cycle; side effects happen in {@link Agent#act}. */
public enum Action {
    /** Won the bootstrap race: initdb, start, create roles, publish the system identifier. */
    BOOTSTRAP,
    /** Empty data directory and a leader exists: pg_basebackup from it. */
    CLONE,
    /** Start postgres read-only, following the leader if there is one. */
    START_REPLICA,
    /** Running replica whose upstream is not the leader: point it at the leader and reload. */
    REPOINT,
    /** Former primary's data directory and another node leads: pg_rewind (re-clone if that fails), then follow. */
    REWIND,
    /**
     * Running replica that cannot stream because the leader has recycled the WAL it needs (no slot held it: the
     * leader was promoted, or dropped this member's slot, while it was away): replace its data with a fresh copy.
     */
    RECLONE,
    /** No leader and this node is the best candidate: take the leader key, then promote. */
    TAKE_LEADERSHIP,
    /** The leader key is ours and postgres runs read-only: promote. */
    PROMOTE,
    /** The leader key is ours and postgres is down: start it as primary, in place, same timeline. */
    RESTART_PRIMARY,
    /** The leader key is ours but postgres did not come back within primary_start_timeout: let another node lead. */
    RELEASE_LEADERSHIP,
    /**
     * Planned switchover away from this leader: stop postgres cleanly, wait until the candidate has received the
     * shutdown checkpoint, then release the leader key for it.
     */
    HAND_OVER,
    /** Postgres runs as primary but this node does not hold a valid leader lease: kill it now. */
    FENCE,
    /** The leader key is ours, postgres runs as primary: renew, publish, manage slots. */
    LEAD,
    /** Replica streaming from the leader: nothing to change. */
    KEEP_FOLLOWING,
    /** Nothing this node can do until something else changes; the reason says what. */
    WAIT
}
