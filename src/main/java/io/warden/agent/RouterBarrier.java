package io.warden.agent;

import io.warden.cluster.RouterStatus;
import io.warden.dcs.Lease;
import java.time.Duration;
import java.util.List;

/**
 * The router barrier, decided from the routers' keys in the cycle's snapshot: before this node accepts writes as the
 * leader, every live router must have stopped routing writes to any other node (a router publishes the primary it
 * routes to; empty once the old leader key is gone). A router cut off from the DCS fences itself and its key expires
 * with its lease, so the wait is at most the longest of their ttls plus its margin; a router still alive after that
 * and still routing elsewhere is faulty, and the barrier fails closed. It is a state across cycles: the agent only
 * says how long ago it took the key. Pure functions; hazard: a caller that goes on past a failed barrier risks two
 * primaries behind the routers.
 */
final class RouterBarrier {
    private RouterBarrier() {}

    /**
     * A replica holding the leader key promotes only once every live router acknowledged. A router whose status
     * cannot be read holds the barrier: it may route anywhere.
     */
    static Decision beforePromotion(HaInput in) {
        List<String> waitingFor = unacknowledged(in.cluster().routers(), in.name(), true);
        if (waitingFor.isEmpty()) {
            return Decision.of(Action.PROMOTE, "the leader key is mine and every router acknowledged: promoting");
        }
        Duration limit = limit(in.cluster().routers(), in.ttl());
        if (in.keyHeldFor().compareTo(limit) <= 0) {
            return Decision.of(
                    Action.WAIT,
                    "the leader key is mine; waiting for routers to stop routing to the old primary: " + waitingFor);
        }
        return Decision.of(
                Action.RELEASE_LEADERSHIP,
                "not promoting: routers " + waitingFor + " did not stop routing to the old primary within their lease"
                        + " and its margin (" + limit.toMillis()
                        + " ms); releasing the leader key, the race runs again");
    }

    /**
     * A primary whose postgres survived took its key back ({@code takenFor} ago): no router may still send writes
     * to another node that led meanwhile. It leads on (LEAD ends the wait) once every router acknowledged; until
     * then it waits, and past the limit it is fenced. A router whose status cannot be read is not waited for here:
     * the timeline check already proved nobody else was promoted, and this postgres accepts writes anyway.
     */
    static Decision afterTakeBack(HaInput in, Duration takenFor) {
        List<String> waitingFor = unacknowledged(in.cluster().routers(), in.name(), false);
        if (waitingFor.isEmpty()) {
            return Decision.of(Action.LEAD, "took the leader key back and every router acknowledged: leading");
        }
        Duration limit = limit(in.cluster().routers(), in.ttl());
        if (takenFor.compareTo(limit) <= 0) {
            return Decision.of(
                    Action.WAIT,
                    "took the leader key back; waiting for routers to stop routing to another node: " + waitingFor);
        }
        return Decision.of(
                Action.FENCE,
                "fencing: the router barrier failed after taking the leader key back: routers " + waitingFor
                        + " still route elsewhere after " + limit.toMillis() + " ms");
    }

    /**
     * The routers of {@code routers} that still route writes to a node other than {@code self}, each with why, for
     * the log; empty when all acknowledged. A pure function of what the routers published.
     *
     * @param unreadableHold whether a router whose status cannot be read holds the barrier (it may route anywhere)
     */
    static List<String> unacknowledged(List<RouterStatus> routers, String self, boolean unreadableHold) {
        return routers.stream()
                .filter(r -> !r.primary().isEmpty() && !r.primary().equals(self))
                .filter(r -> unreadableHold || !r.primary().equals(RouterStatus.UNKNOWN_PRIMARY))
                .map(r -> r.id()
                        + (r.primary().equals(RouterStatus.UNKNOWN_PRIMARY)
                                ? " (its status is unreadable)"
                                : " (still routing to " + r.primary() + ")"))
                .toList();
    }

    /**
     * How long the barrier may wait for {@code routers}: the longest of their ttls plus its margin ({@code ownTtl}
     * for a router that did not publish one). Zero with no router.
     */
    static Duration limit(List<RouterStatus> routers, Duration ownTtl) {
        Duration longest = Duration.ZERO;
        for (RouterStatus router : routers) {
            Duration ttl = router.ttlMillis() > 0 ? Duration.ofMillis(router.ttlMillis()) : ownTtl;
            Duration own = ownTtl(ttl);
            longest = own.compareTo(longest) > 0 ? own : longest;
        }
        return longest;
    }

    private static Duration ownTtl(Duration ttl) {
        return ttl.plus(Lease.margin(ttl));
    }
}
