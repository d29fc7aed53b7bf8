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
    /**
     * Former primary's data directory and another node leads, or a replica stranded on an older timeline:
     * pg_rewind, then follow. A failure leaves the node stopped with its data; the next cycle decides what then
     * ({@link RejoinRules}).
     */
    REWIND,
    /**
     * Data that streaming and pg_rewind cannot bring back (the leader recycled the WAL it needs, pg_rewind failed,
     * or it is still stranded after a rewind), with room on the disk: keep the old data aside and clone afresh.
     */
    RECLONE,
    /**
     * As {@link #RECLONE}, without room for a second copy but with another healthy replica: delete the data first,
     * then clone. The agent still refuses if the leader does not answer just before it deletes.
     */
    RECLONE_IN_PLACE,
    /** No leader and this node is the best candidate: take the leader key, then promote. */
    TAKE_LEADERSHIP,
    /** The leader key is ours and postgres runs read-only: promote. */
    PROMOTE,
    /** The leader key is ours and postgres is down: start it as primary, in place, same timeline. */
    RESTART_PRIMARY,
    /** The leader key is ours but postgres did not come back within primary_start_timeout: let another node lead. */
    RELEASE_LEADERSHIP,
    /**
     * Planned switchover away from this leader: stop postgres cleanly. The next cycles wait for the candidate to
     * receive the shutdown checkpoint ({@link HandOverProgress}), then finish or abort the hand-over.
     */
    HAND_OVER,
    /**
     * A hand-over under way whose candidate has received the shutdown checkpoint: release the leader key for it
     * (postgres stays down; the node rejoins as the candidate's replica).
     */
    FINISH_HAND_OVER,
    /**
     * A hand-over under way whose candidate did not receive the shutdown checkpoint within {@link
     * HandOverProgress#CANDIDATE_WAIT}: start postgres again as primary and delete the switchover request.
     */
    ABORT_HAND_OVER,
    /** Postgres runs as primary but this node does not hold a valid leader lease: kill it now. */
    FENCE,
    /** The leader key is ours, postgres runs as primary: renew, publish, manage slots. */
    LEAD,
    /** Replica streaming from the leader: nothing to change. */
    KEEP_FOLLOWING,
    /** Nothing this node can do until something else changes; the reason says what. */
    WAIT
}
