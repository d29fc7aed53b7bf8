package io.warden.agent;

import static java.util.Objects.requireNonNull;

import io.warden.common.Clock;
import io.warden.dcs.Dcs;
import io.warden.dcs.Lease;
import io.warden.postgres.Postgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node the agent's parts act on, and what they act through: its config, the DCS, its postgres, its lease, its
 * watchdog and the clock. Built once by {@link Agent} and handed to each part, so that a part names only what is its
 * own besides.
 *
 * <p>It also makes the checks at the moment of a side effect that needs leadership: a decision made under one lease is
 * never carried out under another (a lease etcd forgot is replaced by a new one, which holds nothing). Callers check
 * right before starting, promoting or taking a key, not once per cycle.
 */
record Node(AgentConfig config, Dcs dcs, Postgres postgres, Lease lease, WatchdogArm watchdog, Clock clock) {
    private static final Logger LOG = LoggerFactory.getLogger(Node.class);

    Node {
        requireNonNull(config, "config is null");
        requireNonNull(dcs, "dcs is null");
        requireNonNull(postgres, "postgres is null");
        requireNonNull(lease, "lease is null");
        requireNonNull(watchdog, "watchdog is null");
        requireNonNull(clock, "clock is null");
    }

    /** Releases the leader key, if it is bound to this node's current lease: another node may lead. */
    void releaseLeader() {
        dcs.releaseLeader(config.name(), lease.term().id());
    }

    /**
     * Does the lease this plan was decided under still hold, right now: the same lease, its deadline ahead? Checked
     * immediately before every side effect that needs leadership, so that a decision made under one lease is never
     * carried out under another (a lease etcd forgot is replaced by a new one, which holds nothing).
     */
    boolean stillHolds(Lease.Term term, String effect) {
        Lease.Term held = lease.term();
        if (held.id() == term.id() && held.validAt(clock.nanoTime())) {
            return true;
        }
        LOG.warn("not " + effect + ": it was decided under lease " + Long.toHexString(term.id()) + ", which "
                + (held.id() != term.id()
                        ? "has been replaced by " + Long.toHexString(held.id())
                        : "is no longer valid"));
        return false;
    }

    /** Arms the watchdog with the current deadline of {@code term}'s lease; false when the lease changed or the watchdog did not answer. */
    boolean armFor(Lease.Term term) {
        Lease.Term held = lease.term();
        return held.id() == term.id() && watchdog.arm(held);
    }
}
