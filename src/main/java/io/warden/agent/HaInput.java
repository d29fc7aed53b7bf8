package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.NodeTags;
import io.warden.postgres.LocalState;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * Everything one HA cycle decides from, read once at its start.
 *
 * @param leaseId the lease this agent holds now; the leader key is ours only if bound to this very lease
 * @param leaseValid this agent's lease is known to be alive (renewed within ttl minus the safety margin)
 * @param canLead the watchdog is reachable, or not required: a node that cannot be fenced from outside must not
 *     lead
 * @param peerPositions WAL positions (timeline and LSN) reported just now by the other members' agents, for the
 *     failover race; members that did not answer are absent
 * @param notStreamingFor how long postgres has run as a replica without a connected WAL receiver
 * @param upstreamWalGone the leader no longer holds WAL this replica needs to resume streaming (its oldest WAL file
 *     is past the replica's position); the agent asks only once the replica has not streamed for {@link
 *     #STRANDED_REPLICA_GRACE}, and says false when it cannot tell
 * @param primaryDownFor how long postgres has been down while this node held the leader key (zero if up)
 * @param now wall-clock time, for scheduled switchovers (the only decision that depends on the calendar)
 * @param handedOver this agent stopped its primary itself for a switchover and has not started postgres since:
 *     even in maintenance mode it then rejoins as a replica, as the operator asked
 * @param configKnown the cluster config in {@code cluster} was read, now or earlier; false when the key is
 *     unreadable and this agent has no copy of an earlier one (then it only keeps doing what it does)
 * @param unreadablePeers members whose agents answered with a status this version cannot read: alive, and maybe
 *     further ahead than we can tell
 * @param primaryPeers members whose agents reported just now that their postgres runs as a primary: one is alive
 * @param systemIdentifier this node's data directory's system identifier, empty when it has none (or cannot tell)
 * @param keyHeldFor how long this agent has held the leader key as a replica not yet promoted: the router barrier's
 *     wait, which fails closed once it exceeds the routers' longest ttl plus margin (zero when not waiting)
 * @param ttl this agent's lease ttl: the barrier's wait for a router that did not publish its own
 * @param rejoin earlier rewinds and their outcome, and the disk's room: for the rules that escalate to a fresh copy
 * @param handOver the switchover hand-over this primary has begun (postgres stopped, key still held), if any
 * @param keyTakenBackFor present while this primary, which took its leader key back, has not yet led on past the
 *     router barrier: how long ago it took the key
 */
public record HaInput(
        String name,
        long leaseId,
        NodeTags tags,
        ClusterSnapshot cluster,
        LocalState local,
        boolean leaseValid,
        boolean canLead,
        Map<String, Position> peerPositions,
        Duration primaryDownFor,
        Duration primaryStartTimeout,
        Duration notStreamingFor,
        boolean upstreamWalGone,
        Instant now,
        boolean handedOver,
        boolean configKnown,
        java.util.Set<String> unreadablePeers,
        java.util.Set<String> primaryPeers,
        String systemIdentifier,
        Duration keyHeldFor,
        Duration ttl,
        RejoinFacts rejoin,
        Optional<HandOverProgress> handOver,
        Optional<Duration> keyTakenBackFor) {

    public HaInput {
        peerPositions = Map.copyOf(peerPositions);
        unreadablePeers = java.util.Set.copyOf(unreadablePeers);
        primaryPeers = java.util.Set.copyOf(primaryPeers);
    }

    /**
     * How long a replica may fail to stream before the agent looks for a cause it can repair: an older timeline
     * than its leader's (rewind), or WAL the leader has already recycled (re-clone).
     */
    public static final Duration STRANDED_REPLICA_GRACE = Duration.ofSeconds(10);
}
