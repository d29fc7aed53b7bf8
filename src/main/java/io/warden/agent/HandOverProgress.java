package io.warden.agent;

import io.warden.cluster.Lsn;
import java.time.Duration;
import java.util.Optional;

/**
 * A switchover hand-over under way, as the HA decision sees it each cycle: this primary stopped postgres cleanly at
 * {@code checkpoint} and waits for {@code candidate} to receive it, then releases the key for it or, after {@link
 * #CANDIDATE_WAIT}, starts again as primary.
 *
 * @param candidate the member the key is handed to
 * @param checkpoint the shutdown checkpoint's position: once the candidate has received WAL past it, no commit this
 *     primary acknowledged can be lost
 * @param candidateAt the candidate's received position, asked from its agent this cycle; empty when it did not answer
 * @param waited since postgres stopped
 */
public record HandOverProgress(String candidate, Lsn checkpoint, Optional<Lsn> candidateAt, Duration waited) {
    /** How long the candidate has to receive the shutdown checkpoint before the hand-over is aborted. */
    public static final Duration CANDIDATE_WAIT = Duration.ofSeconds(30);

    public HandOverProgress {
        java.util.Objects.requireNonNull(candidate, "candidate is null");
        java.util.Objects.requireNonNull(checkpoint, "checkpoint is null");
        java.util.Objects.requireNonNull(candidateAt, "candidateAt is null");
        java.util.Objects.requireNonNull(waited, "waited is null");
    }

    /** The candidate has received WAL past the shutdown checkpoint. */
    boolean confirmed() {
        return candidateAt.filter(at -> at.compareTo(checkpoint) > 0).isPresent();
    }

    /** Where the candidate stands, for a reason: its position, or that it did not answer. */
    String candidateState() {
        return candidateAt.map(at -> "at " + at).orElse("not answering");
    }
}
