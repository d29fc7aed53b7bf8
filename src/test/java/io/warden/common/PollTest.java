package io.warden.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PollTest {
    private final FakeClock clock = new FakeClock();
    private final long start = clock.nanoTime();

    @Test
    void theFirstAttemptRunsAtOnceAndAnAnswerEndsTheWait() throws InterruptedException {
        Optional<String> answer = Poll.every(Duration.ofSeconds(1))
                .clock(clock)
                .untilAnswered(Duration.ofSeconds(10), () -> Optional.of("up"));

        assertThat(answer).contains("up");
        assertThat(clock.nanoTime()).isEqualTo(start);
    }

    @Test
    void attemptsEveryIntervalUntilTheConditionHolds() throws InterruptedException {
        List<Long> attemptsAt = new ArrayList<>();

        boolean held = Poll.every(Duration.ofMillis(200)).clock(clock).until(Duration.ofSeconds(10), () -> {
            attemptsAt.add(Duration.ofNanos(clock.nanoTime() - start).toMillis());
            return attemptsAt.size() == 4;
        });

        assertThat(held).isTrue();
        assertThat(attemptsAt).containsExactly(0L, 200L, 400L, 600L);
    }

    @Test
    void givesUpAtTheDeadlineWithALastAttemptThere() throws InterruptedException {
        List<Long> attemptsAt = new ArrayList<>();

        boolean held = Poll.every(Duration.ofMillis(400)).clock(clock).until(Duration.ofMillis(1000), () -> {
            attemptsAt.add(Duration.ofNanos(clock.nanoTime() - start).toMillis());
            return false;
        });

        assertThat(held).isFalse();
        // Never sleeps past the deadline: the last pause is shortened to end exactly on it.
        assertThat(attemptsAt).containsExactly(0L, 400L, 800L, 1000L);
    }

    @Test
    void backoffGrowsThePauseUpToItsCeiling() throws InterruptedException {
        List<Long> attemptsAt = new ArrayList<>();

        Poll.every(Duration.ofMillis(100))
                .backoff(2, Duration.ofMillis(500))
                .clock(clock)
                .until(Duration.ofMillis(2000), () -> {
                    attemptsAt.add(Duration.ofNanos(clock.nanoTime() - start).toMillis());
                    return false;
                });

        assertThat(attemptsAt).containsExactly(0L, 100L, 300L, 700L, 1200L, 1700L, 2000L);
    }

    @Test
    void anAttemptThatThrowsEndsTheWaitWithItsException() {
        AtomicInteger attempts = new AtomicInteger();

        assertThatThrownBy(() -> Poll.every(Duration.ofMillis(100)).clock(clock).until(Duration.ofSeconds(5), () -> {
                    attempts.incrementAndGet();
                    throw new IllegalStateException("etcd said no");
                }))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("etcd said no");
        assertThat(attempts).hasValue(1);
    }

    @Test
    void anInterruptedWaitThrowsInsteadOfPollingOn() {
        AtomicInteger attempts = new AtomicInteger();
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> Poll.every(Duration.ofMillis(10)).until(Duration.ofSeconds(5), () -> {
                        attempts.incrementAndGet();
                        return false;
                    }))
                    .isInstanceOf(InterruptedException.class);
            assertThat(attempts).hasValue(1);
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void refusesAnIntervalThatWouldSpin() {
        assertThatThrownBy(() -> Poll.every(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("positive");
    }
}
