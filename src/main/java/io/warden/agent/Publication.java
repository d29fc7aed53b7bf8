package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Optime;
import io.warden.cluster.Role;
import io.warden.common.Clock;
import io.warden.dcs.Dcs;
import io.warden.dcs.DcsException;
import io.warden.dcs.Lease;
import io.warden.dcs.Published;
import io.warden.postgres.DataState;
import io.warden.postgres.LocalState;

/**
 * What this node publishes about itself in the DCS: its member record under {@code members/<name>} (role, state,
 * position, lag), and as the leader its {@code optime}. The state shown while a long action runs (cloning,
 * rewinding, promoting ...) is set here by the action. Touched by the HA loop's thread only.
 */
final class Publication {
    private final AgentConfig config;
    private final Dcs dcs;
    private final Lease lease;
    private final Clock clock;
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
    /** The state an action under way publishes instead of the one postgres shows; null when none runs. */
    private MemberState inProgress;

    Publication(
            AgentConfig config,
            Dcs dcs,
            Lease lease,
            Clock clock,
            SyncReplication sync,
            ReasonLog reasons,
            String instanceId) {
        this.config = java.util.Objects.requireNonNull(config, "config is null");
        this.dcs = java.util.Objects.requireNonNull(dcs, "dcs is null");
        this.lease = java.util.Objects.requireNonNull(lease, "lease is null");
        this.clock = java.util.Objects.requireNonNull(clock, "clock is null");
        this.sync = java.util.Objects.requireNonNull(sync, "sync is null");
        this.reasons = java.util.Objects.requireNonNull(reasons, "reasons is null");
        this.instanceId = java.util.Objects.requireNonNull(instanceId, "instanceId is null");
    }

    /** From now on the member is published in {@code state}, whatever postgres shows, until {@link #actionEnded}. */
    void inProgress(MemberState state) {
        inProgress = state;
    }

    /** The action under way ended: the member is published as postgres shows it again. */
    void actionEnded() {
        inProgress = null;
    }

    /** Writes the leader's {@code optime}, unless the same was written under this lease within {@link Published#REFRESH}. */
    void publishOptimeIfChanged(LocalState local) {
        Optime optime = new Optime(local.lsn().toString(), local.timeline());
        if (!publishedOptime.unchanged(optime, lease.term().id(), clock.nanoTime())) {
            dcs.publishOptime(config.name(), optime);
            publishedOptime.wrote(optime, lease.term().id(), clock.nanoTime());
        }
    }

    /** Writes the leader's {@code optime} now (a new timeline). */
    void publishOptime(LocalState local) {
        dcs.publishOptime(config.name(), new Optime(local.lsn().toString(), local.timeline()));
    }

    Member publishSelf(ClusterSnapshot cluster, LocalState local) {
        Member self = member(cluster, local);
        long now = clock.nanoTime();
        if (published.unchanged(self, lease.term().id(), now)) {
            return self;
        }
        try {
            dcs.publishMember(self, lease.term().id());
            published.wrote(self, lease.term().id(), now);
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
                    .filter(m -> !m.name().equals(config.name()))
                    .map(Member::position)
                    .or(() -> cluster.optime().map(o -> Lsn.parse(o.lsn())))
                    .orElse(local.lsn());
            lag = local.lsn().bytesBehind(primary);
        }
        return new Member(
                config.name(),
                role,
                state,
                config.host(),
                config.port(),
                config.apiUrl(),
                local.timeline(),
                local.lsn().toString(),
                lag,
                config.tags(),
                ProcessHandle.current().pid(),
                local.postmasterPid(),
                instanceId,
                config.dataDir(),
                local.pendingRestart());
    }
}
