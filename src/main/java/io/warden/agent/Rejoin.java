package io.warden.agent;

import static io.warden.agent.Results.check;
import static io.warden.agent.WardenConf.upstream;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.common.Clock;
import io.warden.common.Processes.Result;
import io.warden.postgres.DataState;
import io.warden.postgres.LocalState;
import io.warden.postgres.Postgres;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Making this node a replica of the leader and bringing it back when it cannot follow: clone an empty data
 * directory, start or re-point a replica, pg_rewind a former primary, and replace data that neither streaming nor
 * pg_rewind can bring back, never leaving the cluster with fewer copies than it can afford. Also tells the HA
 * decision how long a replica has not streamed and whether the WAL it needs is gone on the leader. Touched by the
 * HA loop's thread only.
 */
final class Rejoin {
    private static final Logger LOG = LoggerFactory.getLogger(Rejoin.class);
    /** How often a replica that cannot stream asks the leader whether it still holds the WAL it needs. */
    private static final Duration WAL_CHECK_INTERVAL = Duration.ofSeconds(5);

    private static final Duration REWIND_RETRY = Duration.ofMinutes(5);

    private final NodeConfig config;
    private final Postgres postgres;
    private final WatchdogArm watchdog;
    private final Clock clock;
    private final WardenConf conf;
    private final Publication publication;
    private final ReasonLog reasons;
    /** The cluster as the last cycle saw it, which the record published at the start of a long action shows. */
    private final Supplier<ClusterSnapshot> lastSeen;

    private long notStreamingSinceNanos;
    private long lastStrandedRewindNanos;
    /** When a failed rewind last left this node stopped with its data (0: never); it waits {@link #REWIND_RETRY} to try again. */
    private long rewindFailedAtNanos;
    /**
     * When the leader was last asked whether it still holds our WAL (0: never). Only consulted once the replica has
     * not streamed for the grace period, which is longer than the interval, so a check from before it last streamed
     * never delays the next one.
     */
    private long walCheckedAtNanos;

    Rejoin(
            NodeConfig config,
            Postgres postgres,
            WatchdogArm watchdog,
            Clock clock,
            WardenConf conf,
            Publication publication,
            ReasonLog reasons,
            Supplier<ClusterSnapshot> lastSeen) {
        this.config = java.util.Objects.requireNonNull(config, "config is null");
        this.postgres = java.util.Objects.requireNonNull(postgres, "postgres is null");
        this.watchdog = java.util.Objects.requireNonNull(watchdog, "watchdog is null");
        this.clock = java.util.Objects.requireNonNull(clock, "clock is null");
        this.conf = java.util.Objects.requireNonNull(conf, "conf is null");
        this.publication = java.util.Objects.requireNonNull(publication, "publication is null");
        this.reasons = java.util.Objects.requireNonNull(reasons, "reasons is null");
        this.lastSeen = java.util.Objects.requireNonNull(lastSeen, "lastSeen is null");
    }

    /** How long this running replica has not streamed, as of {@code now} (zero while it streams). */
    Duration notStreamingFor(long now) {
        return Duration.ofNanos(notStreamingSinceNanos == 0 ? 0 : now - notStreamingSinceNanos);
    }

    /** Notes, each cycle, whether this node is a running replica that does not stream, and since when. */
    void trackNotStreaming(LocalState local, long now) {
        if (local.data() == DataState.RUNNING_REPLICA && !local.streaming()) {
            if (notStreamingSinceNanos == 0) {
                notStreamingSinceNanos = now;
            }
        } else {
            notStreamingSinceNanos = 0;
        }
    }

    /**
     * Has the leader already recycled the WAL this replica must stream from next? Then the walsender refuses it for
     * ever ("requested WAL segment ... has already been removed"): no slot held that WAL, because the leader was
     * promoted or dropped this member's slot while it was away. A replica that answers queries resumes at its
     * furthest received or replayed position; one that does not yet (still short of consistency, e.g. after a
     * rewind) at its last checkpoint's redo point. False whenever it cannot be told: only a definite answer may cost
     * this node its data.
     */
    boolean upstreamWalGone(ClusterSnapshot cluster, LocalState local, long now) {
        if (local.data() != DataState.RUNNING_REPLICA || local.streaming()) {
            return false;
        }
        // At most every few seconds: a leader this node cannot reach costs each ask the connect timeout, and the
        // loop must stay quick to join a failover race if that leader is in fact gone.
        if (walCheckedAtNanos != 0 && now - walCheckedAtNanos < WAL_CHECK_INTERVAL.toNanos()) {
            return false;
        }
        walCheckedAtNanos = now;
        Optional<Member> leader = cluster.leaderMember()
                .filter(m -> !m.name().equals(config.name()) && m.role() == Role.PRIMARY && m.postgresPid() != 0);
        if (leader.isEmpty()) {
            return false;
        }
        try {
            Lsn resumeAt = local.timeline() != 0 ? local.lsn() : postgres.checkpointRedo();
            Optional<Postgres.WalGap> gap = postgres.walGone(upstream(leader.get()), resumeAt);
            gap.ifPresent(g -> LOG.warn("leader " + leader.get().name() + " holds WAL from segment " + g.oldestSegment()
                    + " on, but I resume at " + resumeAt + " (segment " + g.neededSegment() + ")"));
            return gap.isPresent();
        } catch (SQLException | RuntimeException e) {
            reasons.log("cannot tell whether leader " + leader.get().name() + " still holds the WAL I need: "
                    + e.getMessage());
            return false;
        }
    }

    void cloneFrom(Member leader) {
        publication.inProgress(MemberState.CLONING);
        publication.publishSelf(lastSeen.get(), LocalState.of(DataState.EMPTY));
        watchdog.disarm();
        check(
                postgres.baseBackup(upstream(leader), config.name(), Duration.ofMinutes(30)),
                "cloning from " + leader.name());
        conf.writeFollowing(leader);
        check(postgres.startNoWait(), "starting the new replica");
        LOG.info("cloned from " + leader.name() + " and started as its replica");
    }

    void startReplica(Optional<Member> leader) {
        watchdog.disarm();
        conf.writeStandby(false, leader.map(WardenConf::upstream));
        check(postgres.startNoWait(), "starting postgres as a replica");
    }

    /** Points this running replica at {@code leader} and reloads: no restart. */
    void repoint(Member leader) {
        conf.writeFollowing(leader);
        check(postgres.reload(), "reloading to follow " + leader.name());
        // A new upstream: the stranded-replica grace counts from now, not from when the old upstream went away.
        notStreamingSinceNanos = 0;
    }

    void rewind(Member leader, ClusterSnapshot cluster) {
        if (rewindFailedAtNanos != 0 && clock.nanoTime() - rewindFailedAtNanos < REWIND_RETRY.toNanos()) {
            reasons.log(
                    "pg_rewind failed "
                            + Duration.ofNanos(clock.nanoTime() - rewindFailedAtNanos)
                                    .toSeconds()
                            + " s ago and its data could not be replaced safely: waiting (repair replaces this node; warden reinit forces a copy)");
            return;
        }
        publication.inProgress(MemberState.REWINDING);
        publication.publishSelf(lastSeen.get(), LocalState.of(DataState.STOPPED_PRIMARY));
        watchdog.disarm();
        boolean stranded = postgres.postmasterPid().isPresent();
        if (stranded
                && clock.nanoTime() - lastStrandedRewindNanos
                        < Duration.ofMinutes(5).toNanos()) {
            // Rewound once already and still cannot stream (typically the WAL it needs is gone on the leader):
            // only a fresh copy helps.
            LOG.warn("still stranded after a rewind: re-cloning from " + leader.name());
            lastStrandedRewindNanos = 0;
            replaceData(leader, cluster, "still stranded after a rewind");
            return;
        }
        if (stranded) {
            lastStrandedRewindNanos = clock.nanoTime();
        }
        if (postgres.postmasterPid().isPresent()) {
            // A replica stranded on an older timeline: pg_rewind needs it shut down cleanly, and single-user
            // crash recovery refuses to run with standby.signal present.
            check(postgres.stop("fast", Duration.ofSeconds(60)), "stopping the stranded replica before pg_rewind");
            conf.writePrimary();
        }
        checkpointOn(leader);
        Result result = postgres.rewind(upstream(leader), Duration.ofMinutes(10));
        if (!result.ok()) {
            LOG.warn("pg_rewind from " + leader.name() + " failed:\n" + result.tail());
            replaceData(leader, cluster, "pg_rewind failed");
            return;
        }
        rewindFailedAtNanos = 0;
        LOG.info("pg_rewind from " + leader.name() + ": "
                + result.tail().lines().reduce((a, b) -> b).orElse(""));
        conf.writeFollowing(leader);
        check(postgres.startNoWait(), "starting the rewound replica");
        notStreamingSinceNanos = 0;
    }

    /**
     * The data of this node cannot be brought back by streaming or pg_rewind ({@code why}): replace it with a fresh
     * copy of the leader's, without ever leaving the cluster with fewer copies than it can afford. The old data is
     * kept aside when the disk has room for a second copy; otherwise it is deleted first only while another healthy
     * replica exists and the leader answers (so the copy can be made); otherwise nothing is touched, the node stays
     * stopped, and repair (or an operator's warden reinit) replaces it.
     */
    void replaceData(Member leader, ClusterSnapshot cluster, String why) {
        long size = postgres.dataSizeBytes();
        long free = postgres.freeBytes();
        // A second copy of about the same size, and a tenth more for the WAL the base backup brings along.
        boolean room = size != Long.MAX_VALUE && free - size / 10 > size;
        if (room) {
            publication.inProgress(MemberState.CLONING);
            publication.publishSelf(lastSeen.get(), LocalState.of(DataState.EMPTY));
            watchdog.disarm();
            postgres.kill();
            java.nio.file.Path aside = postgres.setDataAside("failed-rewind");
            LOG.warn(why + ": kept the old data at " + aside + " and re-cloning from " + leader.name());
            cloneInto(leader);
            return;
        }
        Optional<Member> healthy = cluster.members().values().stream()
                .filter(m ->
                        !m.name().equals(config.name()) && !m.name().equals(leader.name()) && m.isStreamingReplica())
                .findFirst();
        if (healthy.isPresent() && leaderAnswers(leader)) {
            LOG.warn(why + ": no room for a second copy (" + free + " bytes free, " + size + " needed); "
                    + healthy.get().name() + " is a healthy replica, so deleting this node's data and re-cloning from "
                    + leader.name());
            reclone(leader);
            return;
        }
        rewindFailedAtNanos = clock.nanoTime();
        LOG.warn(why + ": keeping this node's data and staying stopped: no room for a second copy (" + free
                + " bytes free, "
                + size + " needed) and "
                + (healthy.isEmpty() ? "no other healthy replica" : "the leader " + leader.name() + " does not answer")
                + "; repair replaces this node, or free space and run warden reinit " + config.name());
    }

    private boolean leaderAnswers(Member leader) {
        try {
            postgres.checkpointOn(upstream(leader));
            return true;
        } catch (SQLException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Replaces this node's data with a fresh copy of the leader's and starts it as a replica: deletes first. Only for
     * a node that is not the leader, when an operator asked (reinit) or {@link #replaceData} found it safe; the
     * postmaster, if any, is killed first (its data is about to go, so a clean shutdown would buy nothing).
     */
    void reclone(Member leader) {
        publication.inProgress(MemberState.CLONING);
        publication.publishSelf(lastSeen.get(), LocalState.of(DataState.EMPTY));
        watchdog.disarm();
        postgres.kill();
        postgres.removeData();
        cloneInto(leader);
    }

    private void cloneInto(Member leader) {
        check(
                postgres.baseBackup(upstream(leader), config.name(), Duration.ofMinutes(30)),
                "re-cloning from " + leader.name());
        conf.writeFollowing(leader);
        check(postgres.startNoWait(), "starting the re-cloned replica");
        rewindFailedAtNanos = 0;
        notStreamingSinceNanos = 0;
        LOG.info("re-cloned from " + leader.name() + " and started as its replica");
    }

    /**
     * pg_rewind reads the source's timeline from its control file, which only a checkpoint updates after a promotion:
     * without one a former primary sees the same timeline, skips the rewind and is stranded on WAL the new primary
     * never had. Best effort: if it fails, pg_rewind and the stranded-replica check still catch it.
     */
    private void checkpointOn(Member leader) {
        try {
            postgres.checkpointOn(upstream(leader));
        } catch (SQLException | RuntimeException e) {
            LOG.warn("could not run CHECKPOINT on " + leader.name() + " before pg_rewind: " + e.getMessage());
        }
    }
}
