package io.warden.agent;

import static io.warden.agent.ReasonLog.seconds;
import static io.warden.agent.Results.check;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.postgres.LocalState;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The old primary's side of a planned switchover: stop postgres cleanly, then, over the next cycles, release the
 * leader key once the candidate has received the shutdown checkpoint, or start again as primary when it has not in
 * time; the decision says which ({@link HaDecider}, from {@link HandOverProgress}). Touched by the HA loop's thread
 * only.
 */
final class HandOver {
    private static final Logger LOG = LoggerFactory.getLogger(HandOver.class);

    private final Node node;
    private final Peers peers;
    private final Publication publication;
    private final ClusterRecords records;
    /** Set when this node stopped its primary for a switchover, until postgres runs again (see HaInput). */
    private boolean handedOver;
    /** The hand-over under way: postgres stopped, the key still ours; null when there is none. */
    private Waiting waiting;

    /**
     * What the first step of a hand-over left for the next cycles: the candidate, the shutdown checkpoint, the
     * snapshot the switchover request was read from, and when postgres was asked to stop, had stopped, and the
     * checkpoint was read (for the log line that times each step).
     */
    private record Waiting(
            Member candidate,
            Lsn checkpoint,
            ClusterSnapshot startedFrom,
            long begunNanos,
            long stoppedNanos,
            long readNanos) {}

    HandOver(Node node, Peers peers, Publication publication, ClusterRecords records) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
        this.peers = java.util.Objects.requireNonNull(peers, "peers is null");
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
        waiting = null;
    }

    /** A hand-over waits for its candidate: the loop runs its next cycle soon, not a loop_wait later. */
    boolean waiting() {
        return waiting != null;
    }

    /**
     * Planned switchover, its first step: a clean ("fast") shutdown makes the WAL senders ship everything up to the
     * shutdown checkpoint. The next cycles ask the candidate whether it has received it ({@link #progress}); the
     * decision then finishes or aborts the hand-over.
     */
    void handOver(Member candidate, LocalState local, ClusterSnapshot cluster) {
        // Asked once while writes still flow: the candidate's first /status opens its API's connection to its
        // postgres and ours to its API, which took 0.2-1.9 s under load when it fell after the stop.
        livePosition(candidate);
        long begun = node.clock().nanoTime();
        // Said before the stop: the routers stop sending new sessions here and hold them for the candidate, instead
        // of passing them to a postgres that answers "the database system is shutting down". If the hand-over is
        // aborted, the next cycle publishes RUNNING again and the routers send sessions here again.
        publication.inProgress(MemberState.HANDING_OVER);
        publication.publishSelf(ClusterSnapshot.empty(), local);
        check(node.postgres().stop("fast", Duration.ofSeconds(60)), "stopping postgres for the switchover");
        handedOver = true;
        long stopped = node.clock().nanoTime();
        Lsn checkpoint = node.postgres().latestCheckpoint().location();
        waiting = new Waiting(
                candidate, checkpoint, cluster, begun, stopped, node.clock().nanoTime());
    }

    /**
     * The hand-over under way, with the candidate's received position asked from its agent just now; empty when
     * there is none, or when the key is no longer ours (then there is nothing left to hand over).
     */
    Optional<HandOverProgress> progress(ClusterSnapshot cluster, long now) {
        if (waiting != null && !cluster.isLeader(node.config().name())) {
            waiting = null;
        }
        if (waiting == null) {
            return Optional.empty();
        }
        return Optional.of(new HandOverProgress(
                waiting.candidate().name(),
                waiting.checkpoint(),
                livePosition(waiting.candidate()),
                Duration.ofNanos(now - waiting.stoppedNanos())));
    }

    /** The candidate has received the shutdown checkpoint: no acknowledged commit can be lost; the key is its. */
    void finish() {
        Waiting done = java.util.Objects.requireNonNull(waiting, "no hand-over under way");
        long confirmed = node.clock().nanoTime();
        node.watchdog().disarm();
        node.releaseLeader();
        waiting = null;
        LOG.info(String.format(
                "handed over to %s at shutdown checkpoint %s (postgres stopped in %.2f s, checkpoint read in"
                        + " %.2f s, candidate confirmed it in %.2f s, key released in %.2f s)",
                done.candidate().name(),
                done.checkpoint(),
                seconds(done.stoppedNanos() - done.begunNanos()),
                seconds(done.readNanos() - done.stoppedNanos()),
                seconds(confirmed - done.readNanos()),
                seconds(node.clock().nanoTime() - confirmed)));
    }

    /**
     * The hand-over ends without handing over ({@code reason}: the candidate did not receive the shutdown checkpoint
     * in time, or the agent is shutting down): delete the request it carried out, as it was when the hand-over
     * began (one an operator wrote since stays), so that nobody takes the key as its named candidate without the
     * race's comparison. Deleted first, before postgres is started again, which may fail.
     */
    void abandon(String reason) {
        Waiting abandoned = java.util.Objects.requireNonNull(waiting, "no hand-over under way");
        waiting = null;
        LOG.warn(reason);
        records.clearSwitchover(abandoned.startedFrom(), "hand-over aborted");
    }

    private Optional<Lsn> livePosition(Member member) {
        return peers.status(member).map(Member::position);
    }
}
