package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.common.FakeClock;
import io.warden.dcs.FakeDcs;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The router's own lease, driven with literal times: it serves while its lease holds and fences (closes its
 * listeners) the moment the lease's deadline passes without a renewal, whatever else it could still read.
 */
class RouterFencingTest {
    private static final Duration TTL = Duration.ofSeconds(6);
    private static final long MARGIN = Duration.ofSeconds(1).toNanos();

    private final FakeClock clock = new FakeClock();
    private final FakeDcs dcs = new FakeDcs(clock);
    // Ports 0: the listeners bind wherever the kernel says, on loopback.
    private final Router router = new Router(RouterDriver.config("router-1", Duration.ofSeconds(6)), dcs, clock);

    @AfterEach
    void close() {
        router.close();
    }

    @Test
    void servesOnceItsLeaseIsGrantedAndTheTopologyRead() {
        router.step(clock.nanoTime());

        assertThat(router.serving()).isTrue();
        assertThat(dcs.readRouters())
                .singleElement()
                .satisfies(r -> assertThat(r.id()).isEqualTo("router-1"));
    }

    @Test
    void fencesExactlyWhenItsLeaseDeadlinePassesWithoutARenewal() {
        long granted = clock.nanoTime();
        router.step(granted);
        dcs.failRenewals(true);
        long deadline = granted + TTL.toNanos() - MARGIN;

        while (clock.nanoTime() < deadline - 1) {
            long delay = router.step(clock.nanoTime());
            clock.advance(Duration.ofNanos(Math.min(delay, deadline - 1 - clock.nanoTime())));
        }
        router.step(clock.nanoTime());
        assertThat(router.serving()).isTrue();

        clock.advance(Duration.ofNanos(1));
        router.step(clock.nanoTime());

        assertThat(router.serving()).isFalse();
        assertThat(router.describe()).containsEntry("state", "fenced");
    }

    @Test
    void servesAgainOnceARenewalSucceedsAfterTheFence() {
        router.step(clock.nanoTime());
        dcs.failRenewals(true);
        clock.advanceMillis(5000);
        router.step(clock.nanoTime());
        assertThat(router.serving()).isFalse();

        dcs.failRenewals(false);
        clock.advanceMillis(50);
        router.step(clock.nanoTime());

        assertThat(router.serving()).isTrue();
    }

    @Test
    void aDcsItCannotReachAtAllFencesItAtTheSameDeadline() {
        long granted = clock.nanoTime();
        router.step(granted);
        dcs.setUnreachable(true);

        clock.advance(Duration.ofNanos(TTL.toNanos() - MARGIN - 1));
        router.step(clock.nanoTime());
        assertThat(router.serving()).isTrue();

        clock.advance(Duration.ofNanos(1));
        router.step(clock.nanoTime());
        assertThat(router.serving()).isFalse();
    }
}
