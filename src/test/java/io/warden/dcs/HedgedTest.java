package io.warden.dcs;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The hedged call as a function of which attempt answers, with "later" decided by the test. */
class HedgedTest {
    private final List<CompletableFuture<String>> attempts = new ArrayList<>();
    private final List<Runnable> later = new ArrayList<>();

    private CompletableFuture<String> call() {
        return Hedged.call(
                () -> {
                    CompletableFuture<String> attempt = new CompletableFuture<>();
                    attempts.add(attempt);
                    return attempt;
                },
                Duration.ofMillis(150),
                (delay, task) -> later.add(task));
    }

    @Test
    void aPromptAnswerSendsNothingMore() {
        CompletableFuture<String> result = call();
        attempts.get(0).complete("ttl 3");
        later.forEach(Runnable::run);
        assertThat(result).isCompletedWithValue("ttl 3");
        assertThat(attempts).hasSize(1);
    }

    @Test
    void anUnansweredFirstAttemptIsOvertakenByTheSecond() {
        CompletableFuture<String> result = call();
        later.forEach(Runnable::run);
        assertThat(attempts).hasSize(2);
        assertThat(result).isNotDone();
        attempts.get(1).complete("second");
        assertThat(result).isCompletedWithValue("second");
        attempts.get(0).complete("first, late");
        assertThat(result).isCompletedWithValue("second");
    }

    @Test
    void aSlowFirstAttemptStillCounts() {
        CompletableFuture<String> result = call();
        later.forEach(Runnable::run);
        attempts.get(0).complete("first");
        assertThat(result).isCompletedWithValue("first");
    }

    @Test
    void aFailureIsAnAnswerToo() {
        CompletableFuture<String> result = call();
        attempts.get(0).completeExceptionally(new IllegalStateException("lease not found"));
        assertThat(result).isCompletedExceptionally();
        later.forEach(Runnable::run);
        assertThat(attempts).as("no second attempt after an answer").hasSize(1);
    }
}
