package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.dcs.Lease;
import io.warden.postgres.DataState;
import io.warden.postgres.LocalState;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Everything a cycle decides from besides the snapshot and the local postgres: what the agent tracks across cycles
 * (how long postgres has been down under the key, how long a replica has not streamed, when the key was taken, a
 * hand-over under way, earlier rewinds) and what it asks just now (the peers, in a race; the leader, whether our WAL
 * is gone; the candidate of a hand-over). Assembled into one {@link HaInput} at the cycle's one reading of the clock.
 * Touched by the HA loop's thread only.
 */
final class CycleInput {
    private final Node node;
    private final PeerProbe peerProbe;
    private final Rejoin rejoin;
    private final HandOver handOver;
    private final KeyTaken keyTaken;

    private long primaryDownSinceNanos;

    CycleInput(Node node, PeerProbe peerProbe, Rejoin rejoin, HandOver handOver, KeyTaken keyTaken) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
        this.peerProbe = java.util.Objects.requireNonNull(peerProbe, "peerProbe is null");
        this.rejoin = java.util.Objects.requireNonNull(rejoin, "rejoin is null");
        this.handOver = java.util.Objects.requireNonNull(handOver, "handOver is null");
        this.keyTaken = java.util.Objects.requireNonNull(keyTaken, "keyTaken is null");
    }

    /** The DCS was read at {@code seenAt}: the peers seen in it count as recently alive for the race. */
    void saw(ClusterSnapshot cluster, long seenAt) {
        peerProbe.saw(cluster, seenAt);
    }

    /**
     * The input of this cycle's decision, as of {@code now} (and {@code calendar}, for scheduled switchovers), under
     * the lease {@code term}.
     */
    HaInput read(
            ClusterSnapshot cluster,
            LocalState local,
            boolean configKnown,
            Lease.Term term,
            long now,
            Instant calendar) {
        if (local.running()) {
            handOver.postgresRuns();
        }
        Optional<HandOverProgress> handingOver = handOver.progress(cluster, now);
        trackPrimaryDowntime(cluster, local, handingOver.isPresent(), now);
        rejoin.trackNotStreaming(local, now);
        // The switchover's named candidate does not race (HaDecider ignores the peers for it): asking them would
        // only delay its promotion by a round trip to each.
        boolean namedCandidate =
                HaDecider.isNamedCandidate(cluster, node.config().name(), calendar);
        // A primary taking the key back asks too: another primary's agent may answer that its postgres runs.
        PeerProbe.Report peers = cluster.leader().isEmpty() && local.running() && !namedCandidate
                ? peerProbe.probePeers(cluster)
                : PeerProbe.Report.NONE;
        Duration notStreamingFor = rejoin.notStreamingFor(now);
        keyTaken.check(
                cluster.leader()
                        .map(l -> l.name().equals(node.config().name()) && l.leaseId() == term.id())
                        .orElse(false),
                local.data(),
                now);
        boolean walGone = notStreamingFor.compareTo(HaInput.STRANDED_REPLICA_GRACE) > 0
                && rejoin.upstreamWalGone(cluster, local, now);
        return new HaInput(
                node.config().name(),
                term.id(),
                node.config().tags(),
                cluster,
                local,
                term.validAt(now),
                node.watchdog().reachable(term),
                peers.positions(),
                Duration.ofNanos(primaryDownSinceNanos == 0 ? 0 : now - primaryDownSinceNanos),
                node.config().primaryStartTimeoutDuration(),
                notStreamingFor,
                walGone,
                calendar,
                handOver.handedOver(),
                configKnown,
                peers.unreadable(),
                peers.primaries(),
                local.data() == DataState.EMPTY ? "" : node.postgres().systemIdentifier(),
                keyTaken.replicaWaited(now),
                node.config().ttlDuration(),
                rejoin.facts(now, walGone),
                handingOver,
                keyTaken.takenBackFor(now));
    }

    private void trackPrimaryDowntime(ClusterSnapshot cluster, LocalState local, boolean handingOver, long now) {
        boolean holdsKey = cluster.isLeader(node.config().name());
        // In maintenance mode the clock does not run: resuming must not count the paused time against
        // primary_start_timeout and fail over at once. Nor while a hand-over waits for its candidate: postgres was
        // stopped on purpose, and an aborted hand-over whose restart fails must get its retries in place.
        if (holdsKey
                && local.data() == DataState.STOPPED_PRIMARY
                && !cluster.config().pause()
                && !handingOver) {
            if (primaryDownSinceNanos == 0) {
                primaryDownSinceNanos = now;
            }
        } else {
            primaryDownSinceNanos = 0;
        }
    }
}
