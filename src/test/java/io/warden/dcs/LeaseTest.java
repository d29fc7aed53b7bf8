package io.warden.dcs;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.common.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The lease arithmetic, driven with literal times on a fake clock and a fake DCS. */
class LeaseTest {
    private static final Duration TTL = Duration.ofSeconds(6);
    /** A sixth of 6 s: 1 s. */
    private static final long MARGIN = Duration.ofSeconds(1).toNanos();

    private static final long INTERVAL = Duration.ofSeconds(1).toNanos();

    private final FakeClock clock = new FakeClock();
    private final FakeDcs dcs = new FakeDcs(clock);
    private final List<String> events = new ArrayList<>();
    private final Lease lease =
            new Lease(dcs, TTL, Duration.ofMillis(400), Duration.ofSeconds(120), clock, new Lease.Listener() {
                @Override
                public void renewed(Lease.Term term) {
                    events.add("renewed " + Long.toHexString(term.id()));
                }

                @Override
                public void expired(Lease.Term term) {
                    events.add("expired " + Long.toHexString(term.id()));
                }
            });
    private final long t0 = clock.nanoTime();

    @Test
    void aGrantedTermRunsUntilSentPlusTtlMinusTheMargin() {
        Lease.Term term = grant();

        assertThat(term.validUntilNanos()).isEqualTo(t0 + TTL.toNanos() - MARGIN);
        assertThat(term.validAt(t0 + TTL.toNanos() - MARGIN - 1)).isTrue();
        assertThat(term.validAt(t0 + TTL.toNanos() - MARGIN)).isFalse();
    }

    @Test
    void theMarginIsASixthOfTheTtlButNeverUnderHalfASecond() {
        assertThat(Lease.margin(Duration.ofSeconds(12))).isEqualTo(Duration.ofSeconds(2));
        assertThat(Lease.margin(Duration.ofSeconds(2))).isEqualTo(Duration.ofMillis(500));
    }

    @Test
    void aRenewalExtendsTheTermFromWhenItWasSentAndAsksToRunAgainAfterTheInterval() {
        Lease.Term first = grant();
        clock.advanceMillis(1000);
        long sent = clock.nanoTime();

        long delay = lease.step(sent);

        assertThat(lease.term()).isEqualTo(new Lease.Term(first.id(), sent + TTL.toNanos() - MARGIN));
        assertThat(delay).isEqualTo(INTERVAL);
    }

    @Test
    void aStepBeforeTheRenewalIsDueSendsNothingAndSaysHowLongToWait() {
        Lease.Term first = grant();
        dcs.failRenewals(true);
        clock.advanceMillis(300);

        long delay = lease.step(clock.nanoTime());

        // Had it sent a renewal, the failure would have asked for a quick retry instead.
        assertThat(delay).isEqualTo(INTERVAL - Duration.ofMillis(300).toNanos());
        assertThat(lease.term()).isEqualTo(first);
    }

    @Test
    void failedRenewalsAreRetriedQuicklyAndTheTermEndsAtItsDeadlineNotBefore() {
        Lease.Term first = grant();
        dcs.failRenewals(true);
        long deadline = first.validUntilNanos();

        clock.advanceMillis(1000);
        assertThat(lease.step(clock.nanoTime())).isEqualTo(Duration.ofMillis(50).toNanos());
        clock.advance(Duration.ofNanos(deadline - clock.nanoTime() - 1));
        lease.step(clock.nanoTime());
        assertThat(lease.valid(clock.nanoTime())).isTrue();
        assertThat(events).noneMatch(e -> e.startsWith("expired"));

        clock.advance(Duration.ofNanos(1));
        lease.step(clock.nanoTime());

        assertThat(lease.valid(clock.nanoTime())).isFalse();
        assertThat(events).contains("expired " + Long.toHexString(first.id()));
    }

    @Test
    void aRenewalAnsweredNotFoundGrantsANewLeaseUnderANewId() {
        Lease.Term first = grant();
        dcs.revokeFromOutside(first.id());
        clock.advanceMillis(1000);

        lease.step(clock.nanoTime());

        assertThat(lease.term().id()).isNotEqualTo(first.id()).isNotZero();
        assertThat(lease.term().validUntilNanos()).isEqualTo(clock.nanoTime() + TTL.toNanos() - MARGIN);
    }

    @Test
    void renewalsStopWhenTheOwnerStoppedCallingIn() {
        Lease.Term first = grant();
        // The owner's loop is wedged: no ownerAlive() for longer than the stall limit (120 s).
        for (int second = 1; second <= 130; second++) {
            clock.advanceMillis(1000);
            lease.step(clock.nanoTime());
        }

        assertThat(lease.valid(clock.nanoTime())).isFalse();
        assertThat(lease.term().id()).isEqualTo(first.id());

        lease.ownerAlive(clock.nanoTime());
        lease.step(clock.nanoTime());
        assertThat(lease.valid(clock.nanoTime())).isTrue();
    }

    @Test
    void aRevokedLeaseTakesItsKeysWithIt() {
        Lease.Term term = grant();
        assertThat(dcs.acquireLeader("node-1", term.id())).isTrue();

        lease.revoke();

        assertThat(dcs.read().leader()).isEmpty();
        assertThat(lease.term()).isEqualTo(Lease.Term.NONE);
    }

    @Test
    void noTermIsValidBeforeTheFirstGrant() {
        assertThat(lease.term().validAt(clock.nanoTime())).isFalse();
        assertThat(Lease.Term.NONE.validAt(Long.MIN_VALUE)).isFalse();
    }

    private Lease.Term grant() {
        lease.step(clock.nanoTime());
        assertThat(lease.term().id()).isNotZero();
        return lease.term();
    }
}
