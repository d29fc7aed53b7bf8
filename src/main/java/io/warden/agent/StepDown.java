package io.warden.agent;

import io.warden.dcs.Dcs;
import io.warden.dcs.DcsException;
import io.warden.dcs.Lease;
import io.warden.postgres.Postgres;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Giving up leadership: releasing it after postgres was lost, fencing a primary that must not accept writes, or
 * stopping for good on shutdown.
 */
final class StepDown {
    private static final Logger LOG = LoggerFactory.getLogger(StepDown.class);

    private final AgentConfig config;
    private final Dcs dcs;
    private final Postgres postgres;
    private final Lease lease;
    private final WatchdogArm watchdog;

    StepDown(AgentConfig config, Dcs dcs, Postgres postgres, Lease lease, WatchdogArm watchdog) {
        this.config = java.util.Objects.requireNonNull(config, "config is null");
        this.dcs = java.util.Objects.requireNonNull(dcs, "dcs is null");
        this.postgres = java.util.Objects.requireNonNull(postgres, "postgres is null");
        this.lease = java.util.Objects.requireNonNull(lease, "lease is null");
        this.watchdog = java.util.Objects.requireNonNull(watchdog, "watchdog is null");
    }

    /** Kills postgres, disarms the watchdog and releases the leader key: another node may lead. */
    void release() {
        postgres.kill();
        watchdog.disarm();
        dcs.releaseLeader(config.name(), lease.term().id());
    }

    /** Kills postgres now and releases the leader key, keeping the watchdog's deadline: this node must not accept writes. */
    void fence(String reason) {
        postgres.kill().ifPresent(what -> LOG.warn(reason + ": " + what));
        // Not disarmed: the watchdog still guards the data directory until this node starts as a replica or leads.
        watchdog.keepDeadline();
        try {
            dcs.releaseLeader(config.name(), lease.term().id());
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
            postgres.stop("fast", Duration.ofSeconds(30));
        } catch (RuntimeException e) {
            LOG.warn("could not stop postgres on shutdown", e);
        }
        watchdog.disarm();
        try {
            dcs.releaseLeader(config.name(), lease.term().id());
        } catch (DcsException e) {
            LOG.warn("could not release leadership on shutdown (it expires with the lease): " + e.getMessage());
        }
        lease.revoke();
    }
}
