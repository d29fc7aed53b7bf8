package io.warden.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.WardenException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class CertificateUpkeepTest {
    private static final Instant NOW = Instant.parse("2026-12-02T05:00:00Z");
    private static final Duration HOURLY = Duration.ofHours(1);

    /** A renewal that records when it was asked, and answers round by round as scripted (the last answer repeats). */
    private static final class Scripted implements CertificateUpkeep.Renewal {
        final List<Instant> askedAt = new ArrayList<>();
        private final List<Supplier<List<String>>> answers;

        @SafeVarargs
        Scripted(Supplier<List<String>>... answers) {
            this.answers = List.of(answers);
        }

        @Override
        public List<String> renewDue(Instant now) {
            askedAt.add(now);
            return answers.get(Math.min(askedAt.size(), answers.size()) - 1).get();
        }
    }

    @Test
    void aRoundRenewsWhatIsDueAtTheTimeItIsGivenAndLooksAgainAfterTheInterval() {
        Scripted renewal = new Scripted(() -> List.of("node-1's certificates (expires 2026-12-06T00:00:00Z)"));
        CertificateUpkeep upkeep = new CertificateUpkeep(renewal, HOURLY);

        CertificateUpkeep.Round round = upkeep.step(NOW);

        assertThat(renewal.askedAt).containsExactly(NOW);
        assertThat(round.renewed()).containsExactly("node-1's certificates (expires 2026-12-06T00:00:00Z)");
        assertThat(round.failed()).isFalse();
        assertThat(round.nextIn()).isEqualTo(HOURLY);
    }

    @Test
    void aRoundThatFailsDoesNotEndTheControllerAndIsTriedAgainSoonerThanTheInterval() {
        Scripted renewal = new Scripted(
                () -> {
                    throw new WardenException("cannot write /d/tls/node-1/server.crt: No space left", "free space");
                },
                List::of);
        CertificateUpkeep upkeep = new CertificateUpkeep(renewal, HOURLY);

        CertificateUpkeep.Round failed = upkeep.step(NOW);
        CertificateUpkeep.Round next = upkeep.step(NOW.plus(failed.nextIn()));

        assertThat(failed.failed()).isTrue();
        assertThat(failed.renewed()).singleElement().asString().contains("No space left");
        assertThat(failed.nextIn()).isEqualTo(CertificateUpkeep.RETRY).isLessThan(HOURLY);
        assertThat(next.failed()).isFalse();
        assertThat(next.nextIn()).isEqualTo(HOURLY);
        assertThat(renewal.askedAt).containsExactly(NOW, NOW.plus(CertificateUpkeep.RETRY));
    }

    @Test
    void aRetryNeverWaitsLongerThanTheIntervalItself() {
        CertificateUpkeep upkeep = new CertificateUpkeep(
                now -> {
                    throw new IllegalStateException("boom");
                },
                Duration.ofSeconds(2));

        assertThat(upkeep.step(NOW).nextIn()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void anIntervalThatIsNotPositiveIsRefused() {
        assertThatThrownBy(() -> new CertificateUpkeep(now -> List.of(), Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("must be positive");
    }
}
