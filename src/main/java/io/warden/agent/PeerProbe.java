package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.cluster.Role;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Asks the other members' agents, for the failover race, where their postgres is right now; remembers the members
 * recently published, so that one whose record went with its lease is still asked. Touched by the HA loop's thread only.
 */
final class PeerProbe {
    private final Node node;
    private final Peers peers;
    private final ReasonLog reasons;
    /** Members as last published, and when: see {@link #probePeers}. */
    private final Map<String, SeenMember> recentMembers = new HashMap<>();

    private record SeenMember(Member member, long atNanos) {}

    PeerProbe(Node node, Peers peers, ReasonLog reasons) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
        this.peers = java.util.Objects.requireNonNull(peers, "peers is null");
        this.reasons = java.util.Objects.requireNonNull(reasons, "reasons is null");
    }

    /** Remembers the members {@code cluster} holds as seen at {@code seenAt}. */
    void saw(ClusterSnapshot cluster, long seenAt) {
        cluster.members().forEach((name, member) -> recentMembers.put(name, new SeenMember(member, seenAt)));
    }

    /**
     * What the other members' agents said just now: replicas' WAL positions, whose postgres runs as a primary, and
     * who answered unreadably.
     */
    record Report(Map<String, Position> positions, Set<String> primaries, Set<String> unreadable) {
        static final Report NONE = new Report(Map.of(), Set.of(), Set.of());
    }

    /**
     * Asks every other member's agent for its WAL position right now, for the failover race: those published now,
     * and those seen within the last two ttls. A leader whose lease etcd revoked loses its record with it while its
     * postgres may still run; its agent must still be asked, or a replica races a live primary.
     */
    Report probePeers(ClusterSnapshot cluster) {
        long now = node.clock().nanoTime();
        recentMembers
                .values()
                .removeIf(seen -> now - seen.atNanos()
                        > node.config().ttlDuration().multipliedBy(2).toNanos());
        Map<String, Member> asked = new HashMap<>();
        recentMembers.forEach((name, seen) -> asked.put(name, seen.member()));
        asked.putAll(cluster.members());
        asked.remove(node.config().name());
        List<Member> others = List.copyOf(asked.values());
        Map<String, Position> positions = new HashMap<>();
        Set<String> primaries = new java.util.HashSet<>();
        Set<String> unreadable = new java.util.HashSet<>();
        // A peer that does not answer in time cannot promote either; it is left out of the comparison. One that
        // answered something this version cannot read is alive and may be ahead.
        peers.statuses(others).forEach((name, status) -> {
            switch (status) {
                case Peers.PeerStatus.Reported(Member reported) -> {
                    if (reported.role() == Role.REPLICA) {
                        positions.put(name, new Position(reported.timeline(), reported.position()));
                    } else if (reported.role() == Role.PRIMARY) {
                        primaries.add(name);
                    }
                }
                case Peers.PeerStatus.Unreadable(String problem) -> {
                    reasons.log("the agent of " + name + " answered with a status I cannot read: " + problem);
                    unreadable.add(name);
                }
            }
        });
        return new Report(positions, primaries, unreadable);
    }
}
