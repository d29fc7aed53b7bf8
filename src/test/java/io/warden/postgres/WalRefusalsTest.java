package io.warden.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Reading a replica's log for the file its upstream's walsender refused (lines as postgres 15 writes them). */
class WalRefusalsTest {
    private static final String STARTED =
            "2026-12-01 22:20:58.278 UTC [20696] LOG:  started streaming WAL from primary at 0/3000000 on timeline 1";
    private static final String REFUSED = "2026-12-01 22:20:58.278 UTC [20696] FATAL:  could not receive data from WAL"
            + " stream: ERROR:  requested WAL segment 000000010000000000000003 has already been removed";
    private static final String WAITING =
            "2026-12-01 22:20:58.278 UTC [12104] LOG:  waiting for WAL to become available at 0/3000040";
    private static final String STARTING_UP =
            "2026-12-01 22:20:58.689 UTC [20700] FATAL:  the database system is starting up";

    @Test
    void theFileRefusedAfterTheLastStreamingAttemptIsFound() {
        assertThat(WalRefusals.lastRefused(List.of(STARTED, REFUSED, WAITING, STARTING_UP, STARTED, REFUSED, WAITING)))
                .contains("000000010000000000000003");
    }

    @Test
    void aRefusalBeforeALaterAttemptThatStreamsCountsForNothing() {
        String streaming =
                "2026-12-01 22:21:03.313 UTC [12075] LOG:  started streaming WAL from primary at 0/5000000 on timeline 2";

        assertThat(WalRefusals.lastRefused(List.of(STARTED, REFUSED, WAITING, streaming)))
                .isEmpty();
    }

    @Test
    void aLogWithoutAStreamingAttemptOrInAnotherLanguageYieldsNothing() {
        assertThat(WalRefusals.lastRefused(List.of(REFUSED, WAITING))).isEmpty();
        assertThat(WalRefusals.lastRefused(List.of(
                        "LOG:  réplication en flux démarrée à partir du primaire à 0/3000000 sur la timeline 1",
                        "FATAL:  le segment WAL 000000010000000000000003 demandé a déjà été supprimé")))
                .isEmpty();
    }

    @Test
    void aMissingLogYieldsNothing() {
        assertThat(WalRefusals.lastRefused(java.nio.file.Path.of("/nonexistent/postgres.log")))
                .isEmpty();
    }
}
