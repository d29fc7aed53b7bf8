package io.warden.router;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a router routes by, derived from one DCS snapshot: the primary (only a member that holds the leader key and
 * runs as primary), whether it is handing over to a switchover candidate, and the replicas that may take reads.
 *
 * @param primary the node whose read-write sessions may stay open; any other node's are closed
 * @param handingOver the primary is about to stop for a switchover: its open sessions stay (postgres ends them
 *     with its own message as it shuts down), but new ones wait for the candidate ({@link #writeTarget})
 */
public record Topology(
        Optional<RouteTarget> primary,
        boolean handingOver,
        List<Replica> replicas,
        Map<String, Long> sessionsElsewhere) {

    /** A streaming replica with its lag, and whether it is tagged noloadbalance. */
    public record Replica(RouteTarget target, long lagBytes, boolean noloadbalance) {}

    public static final Topology EMPTY = new Topology(Optional.empty(), false, List.of(), Map.of());

    /**
     * @param sessionsElsewhere active sessions per node held by the other routers, as they published them
     */
    public static Topology from(ClusterSnapshot cluster, Map<String, Long> sessionsElsewhere) {
        Optional<Member> primary = cluster.leaderMember()
                .filter(m -> m.role() == Role.PRIMARY
                        && (m.state() == MemberState.RUNNING || m.state() == MemberState.HANDING_OVER));
        List<Replica> replicas = cluster.members().values().stream()
                .filter(m -> m.role() == Role.REPLICA && m.state() == MemberState.STREAMING)
                .map(m -> new Replica(target(m), m.lagBytes(), m.tags().noloadbalance()))
                .sorted(Comparator.comparing(r -> r.target().name()))
                .toList();
        return new Topology(
                primary.map(Topology::target),
                primary.map(m -> m.state() == MemberState.HANDING_OVER).orElse(false),
                replicas,
                Map.copyOf(sessionsElsewhere));
    }

    /** Where a new read-write session goes: the primary, unless it is handing over. */
    public Optional<RouteTarget> writeTarget() {
        return handingOver ? Optional.empty() : primary;
    }

    private static RouteTarget target(Member m) {
        return new RouteTarget(m.name(), m.host(), m.port());
    }

    /**
     * The read target: the replica with the fewest active sessions counted across every router, under the lag
     * ceiling, not tagged noloadbalance and not failing the router's own health check; the primary when none
     * qualifies and {@code fallbackToPrimary}.
     */
    public Optional<RouteTarget> readTarget(
            Map<String, Long> localSessions,
            long maxLagBytes,
            boolean fallbackToPrimary,
            java.util.Set<String> unreachable) {
        Optional<RouteTarget> best = replicas.stream()
                .filter(r -> !r.noloadbalance()
                        && r.lagBytes() <= maxLagBytes
                        && !unreachable.contains(r.target().name()))
                .min(Comparator.comparingLong((Replica r) -> load(r.target().name(), localSessions))
                        .thenComparing(r -> r.target().name()))
                .map(Replica::target);
        return best.isPresent() || !fallbackToPrimary ? best : writeTarget();
    }

    long load(String node, Map<String, Long> localSessions) {
        return localSessions.getOrDefault(node, 0L) + sessionsElsewhere.getOrDefault(node, 0L);
    }

    /** Every node a cancel request might belong to. */
    public List<RouteTarget> all() {
        java.util.ArrayList<RouteTarget> all = new java.util.ArrayList<>();
        primary.ifPresent(all::add);
        replicas.forEach(r -> {
            if (!all.contains(r.target())) {
                all.add(r.target());
            }
        });
        return all;
    }
}
