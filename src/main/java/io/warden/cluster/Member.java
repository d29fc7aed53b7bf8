package io.warden.cluster;

/**
 * What one node publishes about itself under {@code members/<name>}, bound to its agent's lease so it
 * disappears when the agent does.
 *
 * @param pendingRestart postgres runs with a parameter changed in the cluster config that takes effect only after a
 *     restart ({@code pg_settings.pending_restart})
 * @param agentStarts how many times the node's supervisor has started its agent (1 for the first; more after the
 *     agent died and was restarted); 0 when unknown
 * @param postgresStarts how many postmasters this agent has seen come up on its data directory since it started
 *     (a postgres that keeps crashing and being started again counts up fast)
 * @param postgresStartedAt when the last postmaster was first seen running (ISO-8601); empty before any was
 * @param rejoinFailures how many attempts to rejoin (a pg_rewind, a clone, or a re-clone refused because the leader
 *     did not answer) have failed in a row since this node last streamed or led; 0 when it does
 * @param rejoinFailure what the last failed attempt said; empty when {@code rejoinFailures} is 0
 * @param dataUnusable why its stopped data directory cannot be started however often it is tried (a corrupt control
 *     file, a volume that cannot be written); empty when nothing of the kind was found
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
        boolean pendingRestart,
        int agentStarts,
        int postgresStarts,
        String postgresStartedAt,
        int rejoinFailures,
        String rejoinFailure,
        String dataUnusable) {

    /** A record with no failed rejoin and no unusable data. */
    public Member(
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
            boolean pendingRestart,
            int agentStarts,
            int postgresStarts,
            String postgresStartedAt) {
        this(
                name,
                role,
                state,
                host,
                port,
                apiUrl,
                timeline,
                lsn,
                lagBytes,
                tags,
                agentPid,
                postgresPid,
                instanceId,
                dataDir,
                pendingRestart,
                agentStarts,
                postgresStarts,
                postgresStartedAt,
                0,
                "",
                "");
    }

    /** A record as agents wrote it before they published how often they and postgres were started. */
    public Member(
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
        this(
                name,
                role,
                state,
                host,
                port,
                apiUrl,
                timeline,
                lsn,
                lagBytes,
                tags,
                agentPid,
                postgresPid,
                instanceId,
                dataDir,
                pendingRestart,
                0,
                0,
                "");
    }

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
                pendingRestart,
                agentStarts,
                postgresStarts,
                postgresStartedAt,
                rejoinFailures,
                rejoinFailure,
                dataUnusable);
    }

    /** Checked once, when the record is read: a name is required, and the position must be an LSN. */
    public Member {
        java.util.Objects.requireNonNull(name, "a member record without a name");
        Lsn.parse(lsn);
        postgresStartedAt = postgresStartedAt == null ? "" : postgresStartedAt;
        rejoinFailure = rejoinFailure == null ? "" : rejoinFailure;
        dataUnusable = dataUnusable == null ? "" : dataUnusable;
    }

    /** A replica whose WAL receiver streams from its upstream: the one definition every caller uses. */
    public boolean isStreamingReplica() {
        return role == Role.REPLICA && state == MemberState.STREAMING;
    }

    public Lsn position() {
        return Lsn.parse(lsn);
    }
}
