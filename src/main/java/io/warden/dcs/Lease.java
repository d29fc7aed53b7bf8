package io.warden.dcs;

import io.warden.common.Clock;
import io.warden.common.LogOnChange;
import io.warden.common.Poll;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One DCS lease kept alive, and the instant until which it is certainly alive: the one lease type of the agent, the
 * router and the controller.
 *
 * <p>The arithmetic behind fencing: etcd starts a renewed lease's ttl when it receives the renewal, which is after
 * we sent it. So {@code sent + ttl} is never later than the real expiry, and an owner that stops acting by
 * {@code sent + ttl - margin} has stopped before anyone else can take what the lease holds. The margin covers a
 * watchdog's check interval and scheduling delay.
 *
 * <p>Time is a parameter: {@link #step(long)} does what is due at {@code now} and returns how long until it wants to
 * run again, so a test drives it with literal times. The owner calls it from one thread (its own loop, or the
 * thread {@link #keepAliveOn} starts); {@link #term()} may be read from any thread.
 *
 * <p>Hazard: a {@link Term} is a value, not a live view. A decision made under one term must check that term again
 * right before its side effect ({@link Term#validAt}), and compare ids: a new grant is a new term.
 */
public final class Lease {
    private static final Logger LOG = LoggerFactory.getLogger(Lease.class);

    /** How long a process waits for etcd at start-up: on a loaded machine a cold client's first request can take seconds. */
    public static final Duration STARTUP_WAIT = Duration.ofSeconds(15);

    /** The shortest renewal attempt: shorter ones fail on a busy etcd that would have answered. */
    private static final Duration SHORTEST_ATTEMPT = Duration.ofMillis(400);

    /** After a failed renewal the next attempt comes this soon: several fit in the margin before the deadline. */
    static final Duration RETRY_PAUSE = Duration.ofMillis(50);

    /**
     * What a decision is made under: the lease id and the monotonic instant until which it is certainly alive.
     * Immutable; id 0 is "no lease".
     */
    public record Term(long id, long validUntilNanos) {
        public static final Term NONE = new Term(0, 0);

        /** Alive at {@code nowNanos}: a lease was granted and its deadline has not passed. */
        public boolean validAt(long nowNanos) {
            return id != 0 && validUntilNanos - nowNanos > 0;
        }
    }

    /** Told about every new term and every check that found the current one over; called on the stepping thread. */
    public interface Listener {
        /** A grant or a renewal succeeded: {@code term} is the new deadline. */
        default void renewed(Term term) {}

        /** A step found {@code term} over: its deadline passed (renewals failed) or the DCS said the lease is gone. */
        default void expired(Term term) {}
    }

    private final Dcs dcs;
    private final Duration ttl;
    private final Duration longestAttempt;
    private final Duration ownerStallLimit;
    private final Clock clock;
    private final Listener listener;
    private final long marginNanos;
    private final long renewIntervalNanos;

    private final AtomicReference<Term> term = new AtomicReference<>(Term.NONE);
    /** When the last renewal was sent that succeeded; touched by the stepping thread only. */
    private long renewedNanos;

    private volatile long ownerHeartbeatNanos;
    private final LogOnChange problems = new LogOnChange(LOG, "lease renewals succeed again");

    /**
     * @param ttl the lease's lifetime in etcd (whole seconds: etcd rounds down)
     * @param longestAttempt how long one renewal may wait for its answer while the term still holds: a late answer
     *     still renews, but a request lost on a stream to a dead etcd member must be retried on a live one
     * @param ownerStallLimit renewals stop when the owner has not called {@link #ownerAlive} for this long, so a
     *     wedged loop cannot keep its lease for ever; zero when the stepping thread is the owner's loop itself
     */
    public Lease(
            Dcs dcs, Duration ttl, Duration longestAttempt, Duration ownerStallLimit, Clock clock, Listener listener) {
        this.dcs = Objects.requireNonNull(dcs, "dcs is null");
        this.ttl = Objects.requireNonNull(ttl, "ttl is null");
        this.longestAttempt = longestAttempt.compareTo(SHORTEST_ATTEMPT) < 0 ? SHORTEST_ATTEMPT : longestAttempt;
        this.ownerStallLimit = Objects.requireNonNull(ownerStallLimit, "ownerStallLimit is null");
        this.clock = Objects.requireNonNull(clock, "clock is null");
        this.listener = Objects.requireNonNull(listener, "listener is null");
        this.marginNanos = margin(ttl).toNanos();
        this.renewIntervalNanos = renewInterval(ttl).toNanos();
        this.ownerHeartbeatNanos = clock.nanoTime();
    }

    /**
     * The safety margin below the ttl: a sixth of it, at least 500 ms. It covers the watchdog's 20 ms check and
     * scheduling delays; more would make an owner fence itself during an etcd leader election it could have renewed
     * through.
     */
    public static Duration margin(Duration ttl) {
        return Duration.ofNanos(Math.max(Duration.ofMillis(500).toNanos(), ttl.toNanos() / 6));
    }

    /** Renewals come six times per ttl (at least every 100 ms): several attempts fit in the margin. */
    public static Duration renewInterval(Duration ttl) {
        return Duration.ofMillis(Math.max(100, ttl.toMillis() / 6));
    }

    public Duration ttl() {
        return ttl;
    }

    public Term term() {
        return term.get();
    }

    /** The current term holds at {@code nowNanos}. */
    public boolean valid(long nowNanos) {
        return term.get().validAt(nowNanos);
    }

    /**
     * Grants the first lease, trying for {@code wait} while etcd does not answer.
     *
     * @throws DcsException with the last failure when etcd did not answer within {@code wait}
     */
    public Term start(Duration wait) throws InterruptedException {
        AtomicReference<DcsException> last = new AtomicReference<>();
        Optional<Term> granted = Poll.every(Duration.ofMillis(250)).clock(clock).untilAnswered(wait, () -> {
            try {
                return Optional.of(grant(clock.nanoTime()));
            } catch (DcsException e) {
                last.set(e);
                return Optional.empty();
            }
        });
        return granted.orElseThrow(
                () -> last.get() != null ? last.get() : new DcsException("no answer from etcd within " + wait, null));
    }

    /** Starts a daemon thread that steps this lease until the process ends; for owners whose loop may block. */
    public void keepAliveOn(String threadName) {
        Thread.ofPlatform().daemon().name(threadName).start(() -> {
            while (true) {
                try {
                    clock.sleep(Duration.ofNanos(step(clock.nanoTime())));
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    // Never dies: a lease keeper that stopped would fence its owner for no reason.
                    LOG.error("lease keeper step failed", e);
                }
            }
        });
    }

    /** The owner is alive at {@code nowNanos}; see {@code ownerStallLimit}. */
    public void ownerAlive(long nowNanos) {
        ownerHeartbeatNanos = nowNanos;
    }

    /**
     * Renews (or first grants) the lease if a renewal is due at {@code now}, then tells the listener when the term
     * is over. Returns the nanoseconds until the next step is due. Never throws for a DCS failure: that is logged
     * once per change and shortens the next pause.
     */
    public long step(long now) {
        Term held = term.get();
        boolean due = held.id() == 0
                || now - renewedNanos >= renewIntervalNanos
                || !held.validAt(now)
                || !problems.last().isEmpty();
        if (due) {
            renew(held, now);
        }
        Term after = term.get();
        if (!after.validAt(clock.nanoTime())) {
            listener.expired(after);
        }
        if (!problems.last().isEmpty()) {
            return RETRY_PAUSE.toNanos();
        }
        return Math.max(0, renewIntervalNanos - (now - renewedNanos));
    }

    private void renew(Term held, long now) {
        try {
            if (ownerStallLimit.isPositive() && now - ownerHeartbeatNanos > ownerStallLimit.toNanos()) {
                problem("the owner's loop has not run for over " + ownerStallLimit.toSeconds()
                        + " s: not renewing the lease");
            } else if (held.id() == 0) {
                grant(now);
                problem("");
            } else if (dcs.keepAlive(held.id(), attemptTimeout(held, now)) > 0) {
                if (!held.validAt(clock.nanoTime())) {
                    // The answer came after the deadline it was to extend: for a while nothing proved the lease
                    // alive, so whatever it held is over; the owner fences before it may go on.
                    problem("lease " + Long.toHexString(held.id()) + " was renewed only after its deadline had passed");
                    listener.expired(held);
                }
                renewed(new Term(held.id(), now + ttl.toNanos() - marginNanos), now);
                problem("");
            } else {
                problem("lease " + Long.toHexString(held.id()) + " expired in etcd: granting a new one");
                Term lost = new Term(held.id(), now);
                term.set(lost);
                // Losing the lease is losing what it held: the owner fences first, and only then is a new lease
                // granted (which holds nothing).
                listener.expired(lost);
                grant(clock.nanoTime());
            }
        } catch (DcsException e) {
            problem("cannot renew lease: " + e.getMessage());
        }
    }

    /** As long as the held term stays valid, within [400 ms, longestAttempt]. */
    private Duration attemptTimeout(Term held, long now) {
        long left = held.validUntilNanos() - now;
        return Duration.ofNanos(Math.min(longestAttempt.toNanos(), Math.max(SHORTEST_ATTEMPT.toNanos(), left)));
    }

    /** Asks for a new lease; {@code sent} is taken before the request, so the deadline errs early. */
    private Term grant(long sent) {
        long id = dcs.grantLease(ttl);
        Term granted = new Term(id, sent + ttl.toNanos() - marginNanos);
        renewed(granted, sent);
        return granted;
    }

    private void renewed(Term next, long sent) {
        term.set(next);
        renewedNanos = sent;
        listener.renewed(next);
    }

    /** Revokes the lease (its keys vanish at once); a failure only means they expire with it. */
    public void revoke() {
        Term held = term.getAndSet(Term.NONE);
        if (held.id() != 0) {
            try {
                dcs.revokeLease(held.id());
            } catch (DcsException e) {
                LOG.debug("could not revoke lease " + Long.toHexString(held.id()) + ": " + e.getMessage());
            }
        }
    }

    private void problem(String text) {
        problems.problem(text);
    }
}
