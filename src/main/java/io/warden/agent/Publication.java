package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Optime;
import io.warden.cluster.Role;
import io.warden.dcs.DcsException;
import io.warden.dcs.Published;
import io.warden.postgres.DataState;
import io.warden.postgres.LocalState;

/**
 * What this node publishes about itself in the DCS: its member record under {@code members/<name>} (role, state,
 * position, lag), and as the leader its {@code optime}. The state shown while a long action runs (cloning,
 * rewinding, promoting ...) is set here by the action. Touched by the HA loop's thread only.
 */
final class Publication {
    private final Node node;
    private final SyncReplication sync;
    private final ReasonLog reasons;
    private final String instanceId;
    /**
     * What this agent last wrote under {@code members/<name>} and {@code optime}: a record that has not changed is
     * not written again (until {@link Published#REFRESH}), because every write wakes every agent's and router's
     * watch; on an idle cluster the rewrites kept three etcd members, three agents and two routers busy.
     */
    private final Published<Member> published = new Published<>();

    private final Published<Optime> publishedOptime = new Published<>();
    /** The postmaster last seen running, how many this agent has seen come up, and when the current one did. */
    private long lastPostmaster;

    private int postgresStarts;
    private String postgresStartedAt = "";
    /** From the supervisor's {@code supervisor.json}, once it names this agent; 0 until then. */
    private int agentStarts;
    /**
     * How many more looks at it: the supervisor writes it right after starting this agent, long before the first
     * cycle, so an agent that finds none in its first cycles has no supervisor and stops reading a file per cycle.
     */
    private int supervisorLooksLeft = 60;

    /** Failed attempts to rejoin since this node last streamed or led, and what the last one said. */
    private int rejoinFailures;

    private String rejoinFailure = "";
    /** Why the data directory cannot be started, as last found before a start; empty when nothing was. */
    private String dataUnusable = "";

    /** The state an action under way publishes instead of the one postgres shows; null when none runs. */
    private MemberState inProgress;

    Publication(Node node, SyncReplication sync, ReasonLog reasons, String instanceId) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
        this.sync = java.util.Objects.requireNonNull(sync, "sync is null");
        this.reasons = java.util.Objects.requireNonNull(reasons, "reasons is null");
        this.instanceId = java.util.Objects.requireNonNull(instanceId, "instanceId is null");
    }

    /** From now on the member is published in {@code state}, whatever postgres shows, until {@link #actionEnded}. */
    void inProgress(MemberState state) {
        inProgress = state;
    }

    /**
     * An attempt to rejoin failed ({@code what} says which and why): counted in the member record, where the repair
     * controller reads that this node cannot rejoin by itself.
     */
    void rejoinFailed(String what) {
        rejoinFailures++;
        rejoinFailure = what;
    }

    /** An attempt to rejoin succeeded (a rewind, a clone): the failures before it say nothing about the next. */
    void rejoinSucceeded() {
        rejoinFailures = 0;
        rejoinFailure = "";
    }

    /** What the last check before a start found wrong with the data directory; empty: nothing. */
    void dataUnusable(java.util.Optional<String> why) {
        dataUnusable = why.orElse("");
    }

    /** The action under way ended: the member is published as postgres shows it again. */
    void actionEnded() {
        inProgress = null;
    }

    /** Writes the leader's {@code optime}, unless the same was written under this lease within {@link Published#REFRESH}. */
    void publishOptimeIfChanged(LocalState local) {
        Optime optime = new Optime(local.lsn().toString(), local.timeline());
        if (!publishedOptime.unchanged(
                optime, node.lease().term().id(), node.clock().nanoTime())) {
            node.dcs().publishOptime(node.config().name(), optime);
            publishedOptime.wrote(optime, node.lease().term().id(), node.clock().nanoTime());
        }
    }

    /** Writes the leader's {@code optime} now (a new timeline). */
    void publishOptime(LocalState local) {
        node.dcs().publishOptime(node.config().name(), new Optime(local.lsn().toString(), local.timeline()));
    }

    Member publishSelf(ClusterSnapshot cluster, LocalState local) {
        // Counted from what is published (observed after the cycle's action), not from the view's earlier look.
        countPostgresStarts(local.postmasterPid());
        if (local.postmasterPid() != 0) {
            // It started after all: whatever kept it from starting is gone.
            dataUnusable = "";
        }
        if (local.data() == DataState.RUNNING_PRIMARY
                || (local.data() == DataState.RUNNING_REPLICA && local.streaming())) {
            // It has rejoined (or leads): earlier failures say nothing about it any more.
            rejoinFailures = 0;
            rejoinFailure = "";
        }
        Member self = member(cluster, local);
        long now = node.clock().nanoTime();
        if (published.unchanged(self, node.lease().term().id(), now)) {
            return self;
        }
        try {
            node.dcs().publishMember(self, node.lease().term().id());
            published.wrote(self, node.lease().term().id(), now);
        } catch (DcsException e) {
            reasons.log("cannot publish member state: " + e.getMessage());
        }
        return self;
    }

    Member member(ClusterSnapshot cluster, LocalState local) {
        Role role = switch (local.data()) {
            case RUNNING_PRIMARY -> Role.PRIMARY;
            case RUNNING_REPLICA -> Role.REPLICA;
            case EMPTY, STOPPED_PRIMARY, STOPPED_REPLICA -> Role.UNKNOWN;
        };
        MemberState state = inProgress != null
                ? inProgress
                : sync.awaitingProbe() && local.data() == DataState.RUNNING_PRIMARY
                        ? MemberState.PROMOTING
                        : switch (local.data()) {
                            case RUNNING_PRIMARY -> local.timeline() == 0 ? MemberState.STARTING : MemberState.RUNNING;
                            case RUNNING_REPLICA ->
                                local.timeline() == 0
                                        ? MemberState.STARTING
                                        : (local.streaming() ? MemberState.STREAMING : MemberState.IN_ARCHIVE_RECOVERY);
                            case STOPPED_PRIMARY, STOPPED_REPLICA -> MemberState.STOPPED;
                            case EMPTY -> MemberState.WAITING;
                        };
        long lag = 0;
        if (role == Role.REPLICA) {
            Lsn primary = cluster.leaderMember()
                    .filter(m -> !m.name().equals(node.config().name()))
                    .map(Member::position)
                    .or(() -> cluster.optime().map(o -> Lsn.parse(o.lsn())))
                    .orElse(local.lsn());
            lag = local.lsn().bytesBehind(primary);
        }
        if (agentStarts == 0 && supervisorLooksLeft > 0) {
            supervisorLooksLeft--;
            // Until it names this pid, it is the last agent's.
            agentStarts = io.warden.watchdog.Supervisor.Status.read(io.warden.watchdog.Supervisor.Status.file(
                            node.config().logPath().resolve("agent.log")))
                    .filter(status ->
                            status.agentPid() == ProcessHandle.current().pid())
                    .map(io.warden.watchdog.Supervisor.Status::starts)
                    .orElse(0);
        }
        return new Member(
                node.config().name(),
                role,
                state,
                node.config().host(),
                node.config().port(),
                node.config().apiUrl(),
                local.timeline(),
                local.lsn().toString(),
                lag,
                node.config().tags(),
                ProcessHandle.current().pid(),
                local.postmasterPid(),
                instanceId,
                node.config().dataDir(),
                local.pendingRestart(),
                agentStarts,
                postgresStarts,
                postgresStartedAt,
                rejoinFailures,
                rejoinFailure,
                dataUnusable);
    }

    /**
     * A postmaster pid other than the last one seen is a start: by this agent, by a crash-restart, or by hand. None
     * running (or a state published while postgres is down) changes nothing: the next one up is still a new pid.
     */
    private void countPostgresStarts(long postmasterPid) {
        if (postmasterPid != 0 && postmasterPid != lastPostmaster) {
            postgresStarts++;
            postgresStartedAt = node.clock().instant().toString();
            lastPostmaster = postmasterPid;
        }
    }
}
