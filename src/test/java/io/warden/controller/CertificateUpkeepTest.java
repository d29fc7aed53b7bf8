package io.warden.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.WardenException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class CertificateUpkeepTest {
    private static final Instant NOW = Instant.parse("2026-12-02T05:00:00Z");
    private static final Duration HOURLY = Duration.ofHours(1);

    @Test
    void aRoundRenewsWhatIsDueAtTheTimeItIsGivenAndLooksAgainAfterTheInterval() {
        List<Instant> askedAt = new ArrayList<>();
        CertificateUpkeep upkeep = new CertificateUpkeep(
                now -> {
                    askedAt.add(now);
                    return List.of("node-1's certificates (expires 2026-12-06T00:00:00Z)");
                },
                HOURLY);

        CertificateUpkeep.Round round = upkeep.step(NOW);

        assertThat(askedAt).containsExactly(NOW);
        assertThat(round.renewed()).containsExactly("node-1's certificates (expires 2026-12-06T00:00:00Z)");
        assertThat(round.failed()).isFalse();
        assertThat(round.nextIn()).isEqualTo(HOURLY);
    }

    @Test
    void aRoundThatFailsDoesNotEndTheControllerAndIsTriedAgainSoonerThanTheInterval() {
        List<Instant> askedAt = new ArrayList<>();
        CertificateUpkeep upkeep = new CertificateUpkeep(
                now -> {
                    askedAt.add(now);
                    if (askedAt.size() == 1) {
                        throw new WardenException("cannot write /d/tls/node-1/server.crt: No space left", "free space");
                    }
                    return List.of();
                },
                HOURLY);

        CertificateUpkeep.Round failed = upkeep.step(NOW);
        CertificateUpkeep.Round next = upkeep.step(NOW.plus(failed.nextIn()));

        assertThat(failed.failed()).isTrue();
        assertThat(failed.renewed()).singleElement().asString().contains("No space left");
        assertThat(failed.nextIn()).isEqualTo(CertificateUpkeep.RETRY).isLessThan(HOURLY);
        assertThat(next.failed()).isFalse();
        assertThat(next.nextIn()).isEqualTo(HOURLY);
        assertThat(askedAt).containsExactly(NOW, NOW.plus(CertificateUpkeep.RETRY));
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
