package io.warden.cluster;

/**
 * What one node publishes about itself under {@code members/<name>}, bound to its agent's lease so it
 * disappears when the agent does.
 *
 * @param pendingRestart postgres runs with a parameter changed in the cluster config that takes effect only after a
 *     restart ({@code pg_settings.pending_restart})
 */
public record Member(
        String name,
        Role role,
        MemberState state,
        String host,
        int port,
        String apiUrl,
        long timeline,
        String lsn,
        long lagBytes,
        NodeTags tags,
        long agentPid,
        long postgresPid,
        String instanceId,
        String dataDir,
        boolean pendingRestart) {

    /** This record with its WAL position replaced (a replica's position read just now). */
    public Member withPosition(Lsn position) {
        return new Member(
                name,
                role,
                state,
                host,
                port,
                apiUrl,
                timeline,
                position.toString(),
                lagBytes,
                tags,
                agentPid,
                postgresPid,
                instanceId,
                dataDir,
                pendingRestart);
    }

    /** Checked once, when the record is read: a name is required, and the position must be an LSN. */
    public Member {
        java.util.Objects.requireNonNull(name, "a member record without a name");
        Lsn.parse(lsn);
    }

    /** A replica whose WAL receiver streams from its upstream: the one definition every caller uses. */
    public boolean isStreamingReplica() {
        return role == Role.REPLICA && state == MemberState.STREAMING;
    }

    public Lsn position() {
        return Lsn.parse(lsn);
    }
}
