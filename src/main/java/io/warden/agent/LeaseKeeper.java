package io.warden.agent;

import io.warden.dcs.Dcs;
import io.warden.dcs.DcsException;
import io.warden.watchdog.WatchdogClient;
import java.time.Duration;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * Keeps this agent's etcd lease alive and knows, conservatively, until when it is certainly alive.
 *
 * <p>The arithmetic behind fencing: etcd starts a renewed lease's ttl when it receives the renewal, which is after
 * we sent it. So {@code sent + ttl} is never later than the real expiry, and a primary that stops writing by
 * {@code sent + ttl - margin} has stopped before any other node can take the leader key. The margin covers the
 * watchdog's check interval and scheduling delay. The watchdog is armed with the same instant, so a frozen agent
 * is fenced on time too.
 *
 * <p>Renewals happen on this keeper's own thread, every ttl/6, so a slow HA action does not starve them; but
 * only while the HA loop keeps starting cycles, so a wedged loop cannot keep a lease alive forever.
 */
final class LeaseKeeper {
    private static final Logger LOG = Logger.getLogger(LeaseKeeper.class.getName());

    /**
     * Lease lifetimes the HA loop may spend in one action (initdb, pg_rewind, a promotion) before renewals stop.
     * Safety does not depend on it (renewals are what fencing counts); it only keeps a wedged loop from holding
     * leadership forever.
     */
    private static final int LOOP_STALL_TTLS = 20;

    /** One renewal attempt; several fit in the margin between the last renewal and the fencing deadline. */
    private static final Duration ATTEMPT_TIMEOUT = Duration.ofMillis(400);

    private static final long RETRY_PAUSE_MILLIS = 50;

    private final Dcs dcs;
    private final Duration ttl;
    private final long marginNanos;
    private final Optional<WatchdogClient> watchdog;
    private final Runnable onExpiredWhileArmed;

    private volatile long leaseId;
    private volatile long validUntilNanos;
    private volatile boolean armed;
    private volatile long loopHeartbeatNanos = System.nanoTime();
    private volatile String lastProblem = "";

    LeaseKeeper(Dcs dcs, Duration ttl, Optional<WatchdogClient> watchdog, Runnable onExpiredWhileArmed) {
        this.dcs = dcs;
        this.ttl = ttl;
        // A sixth of the ttl, at least 500 ms: covers the watchdog's 20 ms check and scheduling delays. More would
        // make a primary fence itself during an etcd leader election it could have renewed through.
        this.marginNanos = Math.max(Duration.ofMillis(500).toNanos(), ttl.toNanos() / 6);
        this.watchdog = watchdog;
        this.onExpiredWhileArmed = onExpiredWhileArmed;
    }

    /** Grants the first lease; throws DcsException when etcd cannot be reached. */
    void start() {
        grant(System.nanoTime());
        Thread.ofPlatform().daemon().name("lease-keeper").start(this::run);
    }

    long leaseId() {
        return leaseId;
    }

    boolean valid(long nowNanos) {
        return validUntilNanos - nowNanos > 0;
    }

    long validUntilNanos() {
        return validUntilNanos;
    }

    /** The HA loop calls this once per cycle; renewals stop when it has not for a whole ttl. */
    void loopAlive(long nowNanos) {
        loopHeartbeatNanos = nowNanos;
    }

    /** Arms the watchdog with the current deadline. Returns false when the watchdog is required but unreachable. */
    boolean arm() {
        armed = true;
        return watchdog.map(w -> w.arm(validUntilNanos)).orElse(true);
    }

    void disarm() {
        armed = false;
        watchdog.ifPresent(WatchdogClient::disarm);
    }

    boolean watchdogReachable() {
        return watchdog.map(w -> armed ? w.arm(validUntilNanos) : w.disarm()).orElse(true);
    }

    private void run() {
        long interval = Math.max(100, ttl.toMillis() / 6);
        while (true) {
            step(System.nanoTime());
            try {
                Thread.sleep(lastProblem.isEmpty() ? interval : RETRY_PAUSE_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    void step(long now) {
        try {
            if (now - loopHeartbeatNanos > ttl.multipliedBy(LOOP_STALL_TTLS).toNanos()) {
                problem("the HA loop has not started a cycle for over " + ttl.multipliedBy(LOOP_STALL_TTLS).toSeconds()
                        + "s: not renewing the lease");
            } else if (leaseId == 0) {
                grant(now);
            } else {
                // Short attempts, retried at once on failure: a renewal sent on a stream to an etcd member that just
                // died may never be answered, while a fresh attempt reaches a live member.
                long remaining = dcs.keepAlive(leaseId, ATTEMPT_TIMEOUT);
                if (remaining > 0) {
                    validUntilNanos = now + ttl.toNanos() - marginNanos;
                    if (armed) {
                        watchdog.ifPresent(w -> w.arm(validUntilNanos));
                    }
                    problem("");
                } else {
                    problem("lease " + Long.toHexString(leaseId) + " expired in etcd: granting a new one");
                    validUntilNanos = now;
                    grant(System.nanoTime());
                }
            }
        } catch (DcsException e) {
            problem("cannot renew lease: " + e.getMessage());
        } catch (RuntimeException e) {
            problem("lease keeper error: " + e);
        }
        if (armed && !valid(System.nanoTime())) {
            onExpiredWhileArmed.run();
        }
    }

    private void grant(long now) {
        long id = dcs.grantLease(ttl);
        validUntilNanos = now + ttl.toNanos() - marginNanos;
        leaseId = id;
    }

    private void problem(String text) {
        if (!text.equals(lastProblem)) {
            if (text.isEmpty()) {
                LOG.info("lease renewals succeed again");
            } else {
                LOG.warning(text);
            }
            lastProblem = text;
        }
    }
}
