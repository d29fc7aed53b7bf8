package io.warden.watchdog;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RestartBackoffTest {
    @Test
    void anAgentThatCrashesAtOnceIsRetriedEverMoreSlowlyUpToThirtySeconds() {
        RestartBackoff backoff = RestartBackoff.initial();
        StringBuilder waits = new StringBuilder();
        for (int i = 0; i < 9; i++) {
            backoff = backoff.next(Duration.ofSeconds(2));
            waits.append(backoff.previous().toMillis()).append(' ');
        }

        assertThat(waits.toString().strip()).isEqualTo("500 1000 2000 4000 8000 16000 30000 30000 30000");
    }

    @Test
    void anAgentThatRanForAMinuteIsRestartedAfterTheFirstWaitAgain() {
        RestartBackoff slow = new RestartBackoff(Duration.ofSeconds(16));

        assertThat(slow.next(Duration.ofSeconds(59)).previous()).isEqualTo(Duration.ofSeconds(30));
        assertThat(slow.next(Duration.ofSeconds(60)).previous()).isEqualTo(RestartBackoff.FIRST);
    }
}
