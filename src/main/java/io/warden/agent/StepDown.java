package io.warden.agent;

import io.warden.dcs.DcsException;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Giving up leadership: releasing it after postgres was lost, fencing a primary that must not accept writes, or
 * stopping for good on shutdown.
 */
final class StepDown {
    private static final Logger LOG = LoggerFactory.getLogger(StepDown.class);

    private final Node node;

    StepDown(Node node) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
    }

    /** Kills postgres, disarms the watchdog and releases the leader key: another node may lead. */
    void release() {
        node.postgres().kill();
        node.watchdog().disarm();
        node.releaseLeader();
    }

    /** Kills postgres now and releases the leader key, keeping the watchdog's deadline: this node must not accept writes. */
    void fence(String reason) {
        node.postgres().kill().ifPresent(what -> LOG.warn(reason + ": " + what));
        // Not disarmed: the watchdog still guards the data directory until this node starts as a replica or leads.
        node.watchdog().keepDeadline();
        try {
            node.releaseLeader();
        } catch (DcsException e) {
            // The lease runs out on its own; releasing early only speeds up the next leader.
        }
    }

    /**
     * The shutdown command, the last thing the HA loop does: postgres stops (fast mode) and leadership is given
     * up, so a replica takes over at once. Each step is tried even when one before it failed.
     */
    void shutdownLast() {
        LOG.info("shutting down: stopping postgres and giving up leadership");
        try {
            node.postgres().stop("fast", Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            LOG.warn("could not stop postgres on shutdown", e);
        }
        node.watchdog().disarm();
        try {
            node.releaseLeader();
        } catch (DcsException e) {
            LOG.warn("could not release leadership on shutdown (it expires with the lease): " + e.getMessage());
        }
        node.lease().revoke();
    }
}
