package io.warden.cluster;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * What a node is doing. {@code RUNNING} is a working primary, {@code STREAMING} a replica receiving WAL from
 * the primary; every other value names the work in progress or the trouble.
 */
public enum MemberState {
    STARTING,
    INITIALIZING,
    CLONING,
    RUNNING,
    STREAMING,
    /** A replica whose postgres runs but has no WAL receiver connected. */
    IN_ARCHIVE_RECOVERY,
    PROMOTING,
    /**
     * A primary that is about to stop for a switchover: routers send it no new sessions and hold them for the
     * candidate instead of letting them meet "the database system is shutting down".
     */
    HANDING_OVER,
    REWINDING,
    FENCED,
    STOPPED,
    CRASHED,
    WAITING;

    @JsonValue
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
    }
}
