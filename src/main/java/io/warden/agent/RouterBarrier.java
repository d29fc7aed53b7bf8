package io.warden.agent;

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
                            stale.set(dcs.readRouters().stream()
                                    .filter(r -> !r.primary().isEmpty()
                                            && !r.primary().equals(config.name()))
                                    .filter(r -> unreadableHold
                                            || !r.primary().equals(io.warden.cluster.RouterStatus.UNKNOWN_PRIMARY))
                                    .map(r -> r.id()
                                            + (r.primary().equals(io.warden.cluster.RouterStatus.UNKNOWN_PRIMARY)
                                                    ? " (its status is unreadable)"
                                                    : " (still routing to " + r.primary() + ")"))
                                    .toList());
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
        Duration longest = Duration.ZERO;
        try {
            for (io.warden.cluster.RouterStatus router : dcs.readRouters()) {
                Duration ttl = router.ttlMillis() > 0 ? Duration.ofMillis(router.ttlMillis()) : config.ttlDuration();
                Duration own = ttl.plus(Lease.margin(ttl));
                longest = own.compareTo(longest) > 0 ? own : longest;
            }
        } catch (DcsException e) {
            // Unknown: as long as this agent's own lease, and the wait itself fails closed if it cannot read.
            longest = config.ttlDuration().plus(Lease.margin(config.ttlDuration()));
        }
        return longest;
    }
}
