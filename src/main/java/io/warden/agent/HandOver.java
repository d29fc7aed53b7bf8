package io.warden.agent;

import static io.warden.agent.ReasonLog.seconds;
import static io.warden.agent.Results.check;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.common.Clock;
import io.warden.common.Poll;
import io.warden.common.WardenException;
import io.warden.dcs.Dcs;
import io.warden.dcs.Lease;
import io.warden.postgres.LocalState;
import io.warden.postgres.Postgres;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The old primary's side of a planned switchover: stop postgres cleanly, wait until the candidate has received the
 * shutdown checkpoint, then release the leader key for it (or start again as primary when it has not). Touched by
 * the HA loop's thread only.
 */
final class HandOver {
    private static final Logger LOG = LoggerFactory.getLogger(HandOver.class);

    private final NodeConfig config;
    private final Dcs dcs;
    private final Postgres postgres;
    private final Peers peers;
    private final Lease lease;
    private final WatchdogArm watchdog;
    private final Clock clock;
    private final Publication publication;
    private final ClusterRecords records;
    /** Set when this node stopped its primary for a switchover, until postgres runs again (see HaInput). */
    private boolean handedOver;

    HandOver(
            NodeConfig config,
            Dcs dcs,
            Postgres postgres,
            Peers peers,
            Lease lease,
            WatchdogArm watchdog,
            Clock clock,
            Publication publication,
            ClusterRecords records) {
        this.config = java.util.Objects.requireNonNull(config, "config is null");
        this.dcs = java.util.Objects.requireNonNull(dcs, "dcs is null");
        this.postgres = java.util.Objects.requireNonNull(postgres, "postgres is null");
        this.peers = java.util.Objects.requireNonNull(peers, "peers is null");
        this.lease = java.util.Objects.requireNonNull(lease, "lease is null");
        this.watchdog = java.util.Objects.requireNonNull(watchdog, "watchdog is null");
        this.clock = java.util.Objects.requireNonNull(clock, "clock is null");
        this.publication = java.util.Objects.requireNonNull(publication, "publication is null");
        this.records = java.util.Objects.requireNonNull(records, "records is null");
    }

    /** Whether this node stopped its primary for a switchover and postgres has not run since. */
    boolean handedOver() {
        return handedOver;
    }

    /** Postgres runs again: the hand-over, if any, is over. */
    void postgresRuns() {
        handedOver = false;
    }

    /**
     * Planned switchover: a clean ("fast") shutdown makes the WAL senders ship everything up to the shutdown
     * checkpoint; once the candidate has received it no acknowledged commit can be lost, and the key is released.
     */
    void handOver(Member candidate, LocalState local, ClusterSnapshot cluster) {
        // Asked once while writes still flow: the candidate's first /status opens its API's connection to its
        // postgres and ours to its API, which took 0.2-1.9 s under load when it fell after the stop.
        livePosition(candidate);
        long begun = clock.nanoTime();
        // Said before the stop: the routers stop sending new sessions here and hold them for the candidate, instead
        // of passing them to a postgres that answers "the database system is shutting down". If the hand-over is
        // aborted below, the next cycle publishes RUNNING again and the routers send sessions here again.
        publication.inProgress(MemberState.HANDING_OVER);
        publication.publishSelf(ClusterSnapshot.empty(), local);
        check(postgres.stop("fast", Duration.ofSeconds(60)), "stopping postgres for the switchover");
        handedOver = true;
        long stopped = clock.nanoTime();
        Lsn checkpoint = postgres.latestCheckpoint();
        long read = clock.nanoTime();
        Lsn received;
        try {
            received = Poll.every(Duration.ofMillis(20))
                    .clock(clock)
                    .untilAnswered(
                            Duration.ofSeconds(30),
                            () -> livePosition(candidate).filter(at -> at.compareTo(checkpoint) > 0))
                    .orElseGet(() -> livePosition(candidate).orElse(Lsn.ZERO));
        } catch (InterruptedException e) {
            // Stopping: postgres stays down and the key stays ours until the lease runs out; the candidate may still
            // have everything, and a restarted agent starts this primary again only while it holds the key.
            Thread.currentThread().interrupt();
            throw new WardenException(
                    "interrupted while waiting for " + candidate.name() + " to confirm the shutdown checkpoint",
                    "none: the agent is stopping");
        }
        long confirmed = clock.nanoTime();
        if (received.compareTo(checkpoint) <= 0) {
            LOG.warn("switchover candidate " + candidate.name() + " has not received the shutdown checkpoint "
                    + checkpoint + " (at " + received + "); restarting as primary instead");
            check(postgres.start(Duration.ofSeconds(60)), "restarting after an aborted switchover");
            records.clearSwitchover(cluster, "hand-over aborted");
            return;
        }
        watchdog.disarm();
        dcs.releaseLeader(config.name(), lease.term().id());
        LOG.info(String.format(
                "handed over to %s at shutdown checkpoint %s (postgres stopped in %.2f s, checkpoint read in"
                        + " %.2f s, candidate confirmed it in %.2f s, key released in %.2f s)",
                candidate.name(),
                checkpoint,
                seconds(stopped - begun),
                seconds(read - stopped),
                seconds(confirmed - read),
                seconds(clock.nanoTime() - confirmed)));
    }

    private Optional<Lsn> livePosition(Member member) {
        return peers.status(member).map(Member::position);
    }
}
