package io.warden.agent;

import static io.warden.agent.Results.check;
import static io.warden.agent.WardenConf.upstream;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
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

    private final Node node;
    private final WardenConf conf;
    private final Publication publication;
    private final ReasonLog reasons;
    /** The cluster as the last cycle saw it, which the record published at the start of a long action shows. */
    private final Supplier<ClusterSnapshot> lastSeen;

    private long notStreamingSinceNanos;
    /** When this node was last rewound as a running replica that could not stream (0: not since it last streamed). */
    private long strandedRewindAtNanos;
    /** When a pg_rewind last failed and left this node stopped with its data (0: not since it last rejoined). */
    private long rewindFailedAtNanos;
    /**
     * When the leader was last asked whether it still holds our WAL (0: never). Only consulted once the replica has
     * not streamed for the grace period, which is longer than the interval, so a check from before it last streamed
     * never delays the next one.
     */
    private long walCheckedAtNanos;

    Rejoin(Node node, WardenConf conf, Publication publication, ReasonLog reasons, Supplier<ClusterSnapshot> lastSeen) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
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
        if (local.data() == DataState.RUNNING_REPLICA && local.streaming()) {
            // Back to streaming: a later stranding is a new one, and gets a rewind again.
            strandedRewindAtNanos = 0;
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
                .filter(m ->
                        !m.name().equals(node.config().name()) && m.role() == Role.PRIMARY && m.postgresPid() != 0);
        if (leader.isEmpty()) {
            return false;
        }
        try {
            Lsn resumeAt = local.timeline() != 0
                    ? local.lsn()
                    : node.postgres().latestCheckpoint().redo();
            Postgres.WalCheck check = node.postgres().walGone(upstream(leader.get()), resumeAt);
            String seen = "leader " + leader.get().name() + " holds WAL from segment " + check.oldestSegment()
                    + " on; I resume at " + resumeAt + " (segment " + check.neededSegment() + ")"
                    + check.refusedFile()
                            .map(f -> "; its walsender refused me " + f + ", which it "
                                    + (check.gone() ? "no longer holds" : "holds again"))
                            .orElse("");
            if (check.gone()) {
                LOG.warn(seen + ": that WAL is gone");
            } else {
                // Said once per change: when a replica stays unable to stream, the log shows what was compared.
                reasons.log("not streaming, but the WAL I need is not known to be gone: " + seen);
            }
            return check.gone();
        } catch (SQLException | RuntimeException e) {
            reasons.log("cannot tell whether leader " + leader.get().name() + " still holds the WAL I need: "
                    + e.getMessage());
            return false;
        }
    }

    /** A replica follows on from {@code leader}, if known: a changed cluster config reaches its running postgres. */
    void followOn(Optional<Member> leader) {
        conf.apply(false, leader.map(WardenConf::upstream));
    }

    void cloneFrom(Member leader) {
        cloningBegins();
        cloneInto(leader, false);
    }

    /** The member is published as cloning, from an empty data directory, and the watchdog is disarmed. */
    private void cloningBegins() {
        // The data it found unusable is about to be replaced.
        publication.dataUnusable(Optional.empty());
        publication.inProgress(MemberState.CLONING);
        publication.publishSelf(lastSeen.get(), LocalState.of(DataState.EMPTY));
        node.watchdog().disarm();
    }

    void startReplica(Optional<Member> leader) {
        // A data directory that cannot start however often it is tried is said so in the member record, where repair
        // reads it, and not started again: each try would only add a failed postmaster to the log.
        Optional<String> unusable = node.postgres().dataProblem();
        publication.dataUnusable(unusable);
        if (unusable.isPresent()) {
            reasons.log("not starting postgres: " + unusable.get() + "; repair replaces this node (or run warden"
                    + " reinit " + node.config().name() + ")");
            return;
        }
        // Started as a replica after all: an earlier failed rewind no longer says anything about this data.
        rewindFailedAtNanos = 0;
        node.watchdog().disarm();
        conf.writeStandby(false, leader.map(WardenConf::upstream));
        check(node.postgres().startNoWait(), "starting postgres as a replica");
    }

    /** Points this running replica at {@code leader} and reloads: no restart. */
    void repoint(Member leader) {
        conf.writeFollowing(leader);
        check(conf.reload(), "reloading to follow " + leader.name());
        // A new upstream: the stranded-replica grace counts from now, not from when the old upstream went away.
        notStreamingSinceNanos = 0;
    }

    /**
     * pg_rewind from {@code leader}, then start as its replica. A failure leaves the node stopped with its data and
     * is remembered: the next cycle decides whether to replace the data, wait, or try again ({@link RejoinRules}).
     */
    void rewind(Member leader) {
        publication.inProgress(MemberState.REWINDING);
        publication.publishSelf(lastSeen.get(), LocalState.of(DataState.STOPPED_PRIMARY));
        node.watchdog().disarm();
        if (node.postgres().postmasterPid().isPresent()) {
            // A replica stranded on an older timeline: pg_rewind needs it shut down cleanly, and single-user
            // crash recovery refuses to run with standby.signal present.
            strandedRewindAtNanos = node.clock().nanoTime();
            check(
                    node.postgres().stop("fast", Duration.ofSeconds(60)),
                    "stopping the stranded replica before pg_rewind");
            conf.writePrimary();
        }
        checkpointOn(leader);
        Result result = node.postgres().rewind(upstream(leader), Duration.ofMinutes(10));
        if (!result.ok()) {
            rewindFailedAtNanos = node.clock().nanoTime();
            publication.rejoinFailed("pg_rewind from " + leader.name() + " failed: " + lastLine(result));
            LOG.warn("pg_rewind from " + leader.name() + " failed; the node stays stopped with its data:\n"
                    + result.tail());
            return;
        }
        rewindFailedAtNanos = 0;
        publication.rejoinSucceeded();
        LOG.info("pg_rewind from " + leader.name() + ": "
                + result.tail().lines().reduce((a, b) -> b).orElse(""));
        conf.writeFollowing(leader);
        check(node.postgres().startNoWait(), "starting the rewound replica");
        notStreamingSinceNanos = 0;
    }

    /**
     * What the decision needs to know of earlier rewinds, and of the disk: its room is measured (a walk of the data
     * directory) only when a replacement may be decided, that is after a failed or unhelpful rewind or when the
     * leader has recycled our WAL.
     */
    RejoinFacts facts(long now, boolean walGone) {
        Optional<Duration> failedAgo = since(rewindFailedAtNanos, now);
        Optional<Duration> strandedAgo = since(strandedRewindAtNanos, now);
        boolean measure = failedAgo.isPresent() || walGone || (strandedAgo.isPresent() && notStreamingSinceNanos != 0);
        boolean room = measure && node.postgres().diskUsage().roomForASecondCopy();
        return new RejoinFacts(failedAgo, strandedAgo, room);
    }

    private static Optional<Duration> since(long atNanos, long now) {
        return atNanos == 0 ? Optional.empty() : Optional.of(Duration.ofNanos(now - atNanos));
    }

    /**
     * Replaces this node's data with a fresh copy of the leader's, as the decision chose ({@code why}): with the old
     * data kept aside, or deleted first. Deleting first is refused when the leader does not answer just now: the
     * copy could not be made and this node would be left with nothing.
     */
    void replaceData(Member leader, boolean keepAside, String why) {
        if (keepAside) {
            cloningBegins();
            node.postgres().kill();
            java.nio.file.Path aside = node.postgres().setDataAside("failed-rewind");
            LOG.warn(why + "; the old data is at " + aside);
            cloneInto(leader, true);
            return;
        }
        if (!leaderAnswers(leader)) {
            // Not counted as a failed rejoin: it is this node holding back for safety, and the leader may only be
            // slow to answer a CHECKPOINT.
            reasons.log(why + ", but leader " + leader.name() + " does not answer: not deleting this node's data");
            return;
        }
        LOG.warn(why);
        reclone(leader);
    }

    private boolean leaderAnswers(Member leader) {
        try {
            node.postgres().checkpointOn(upstream(leader));
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
        cloningBegins();
        node.postgres().kill();
        node.postgres().removeData();
        cloneInto(leader, true);
    }

    /**
     * Copies the leader's data into the empty data directory and starts it as the leader's replica; {@code again}
     * when it replaces data this node had (the log says re-cloned).
     */
    private void cloneInto(Member leader, boolean again) {
        String re = again ? "re-" : "";
        Result copied = copy(leader);
        // A member that just appeared is let in by the leader's pg_hba.conf only once the leader's next cycle has
        // seen its record (WardenConf): a refusal for that is retried here at short intervals, not a loop later,
        // and counts as no failure unless it lasts. A new replica's clone starts about a second sooner.
        for (int retry = 0; !copied.ok() && notLetInYet(copied) && retry < HBA_RETRIES; retry++) {
            try {
                node.clock().sleep(HBA_RETRY_PAUSE);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            copied = copy(leader);
        }
        if (!copied.ok()) {
            publication.rejoinFailed(re + "cloning from " + leader.name() + " failed: " + lastLine(copied));
        }
        check(copied, re + "cloning from " + leader.name());
        publication.rejoinSucceeded();
        conf.writeFollowing(leader);
        check(node.postgres().startNoWait(), again ? "starting the re-cloned replica" : "starting the new replica");
        rewindFailedAtNanos = 0;
        strandedRewindAtNanos = 0;
        notStreamingSinceNanos = 0;
        LOG.info(re + "cloned from " + leader.name() + " and started as its replica");
    }

    private Result copy(Member leader) {
        return node.postgres().baseBackup(upstream(leader), node.config().name(), Duration.ofMinutes(30));
    }

    /** How often, and how far apart, a clone refused for want of a pg_hba.conf entry is tried again at once. */
    private static final int HBA_RETRIES = 10;

    private static final Duration HBA_RETRY_PAUSE = Duration.ofMillis(200);

    private static boolean notLetInYet(Result result) {
        return result.tail().contains("no pg_hba.conf entry");
    }

    /** The last line a program printed: for the member record, which says why in one line. */
    private static String lastLine(Result result) {
        return result.tail().strip().lines().reduce((a, b) -> b).orElse("exit " + result.exitCode());
    }

    /**
     * pg_rewind reads the source's timeline from its control file, which only a checkpoint updates after a promotion:
     * without one a former primary sees the same timeline, skips the rewind and is stranded on WAL the new primary
     * never had. Best effort: if it fails, pg_rewind and the stranded-replica check still catch it.
     */
    private void checkpointOn(Member leader) {
        try {
            node.postgres().checkpointOn(upstream(leader));
        } catch (SQLException | RuntimeException e) {
            LOG.warn("could not run CHECKPOINT on " + leader.name() + " before pg_rewind: " + e.getMessage());
        }
    }
}
