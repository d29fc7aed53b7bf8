package io.warden.agent;

import io.warden.cluster.RouterStatus;
import io.warden.common.Clock;
import io.warden.common.Poll;
import io.warden.common.WardenException;
import io.warden.dcs.Dcs;
import io.warden.dcs.DcsException;
import io.warden.dcs.Lease;
import java.time.Duration;
import java.util.List;

/**
 * The wait, before this node accepts writes, until no live router routes writes to any other node. Hazard: it fails
 * closed; a caller that goes on without an empty answer risks two primaries behind the routers.
 */
final class RouterBarrier {
    private final NodeConfig config;
    private final Dcs dcs;
    private final Clock clock;
    private final ReasonLog reasons;

    RouterBarrier(NodeConfig config, Dcs dcs, Clock clock, ReasonLog reasons) {
        this.config = java.util.Objects.requireNonNull(config, "config is null");
        this.dcs = java.util.Objects.requireNonNull(dcs, "dcs is null");
        this.clock = java.util.Objects.requireNonNull(clock, "clock is null");
        this.reasons = java.util.Objects.requireNonNull(reasons, "reasons is null");
    }

    /**
     * The router barrier: before this node accepts writes, every live router must have stopped routing writes to
     * any other node (it publishes the primary it routes to; empty once the old leader key is gone). A router cut
     * off from the DCS fences itself and its key expires with its lease, so waiting for the keys of silent routers
     * to vanish is enough: at most the longest of their ttls plus its margin. A router still alive after that and
     * still routing elsewhere is faulty, and the barrier fails closed. Returns the routers that did not acknowledge
     * (empty: all did).
     *
     * @param unreadableHold whether a router whose status cannot be read holds the barrier (it may route anywhere)
     */
    List<String> await(boolean unreadableHold) {
        Duration limit = barrierLimit();
        java.util.concurrent.atomic.AtomicReference<List<String>> stale =
                new java.util.concurrent.atomic.AtomicReference<>(List.of());
        try {
            boolean acknowledged = Poll.every(Duration.ofMillis(20))
                    .clock(clock)
                    .until(limit, () -> {
                        try {
                            stale.set(unacknowledged(dcs.readRouters(), config.name(), unreadableHold));
                            if (!stale.get().isEmpty()) {
                                reasons.log("waiting for routers to stop routing to the old primary: " + stale.get());
                            }
                            return stale.get().isEmpty();
                        } catch (DcsException e) {
                            stale.set(List.of("(router statuses unreadable: " + e.getMessage() + ")"));
                            reasons.log("cannot read router acknowledgements: " + e.getMessage());
                            return false;
                        }
                    });
            return acknowledged ? List.of() : stale.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WardenException(
                    "interrupted while waiting for the routers' acknowledgements: not promoting",
                    "none: the agent is stopping");
        }
    }

    /**
     * The longest any live router can take to fence itself and lose its key: its ttl plus the lease margin (this
     * agent's own ttl for a router that did not publish one). Zero with no router.
     */
    private Duration barrierLimit() {
        try {
            return limit(dcs.readRouters(), config.ttlDuration());
        } catch (DcsException e) {
            // Unknown: as long as this agent's own lease, and the wait itself fails closed if it cannot read.
            return ownTtl(config.ttlDuration());
        }
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
