package io.warden.agent;

import io.warden.postgres.DataState;
import java.time.Duration;
import java.util.Optional;

/**
 * When this agent took the leader key, and why, while the router barrier after it is pending: for a replica until it
 * promotes, for a primary that took its key back until it leads on. The barrier itself is decided each cycle
 * ({@link RouterBarrier}); this only remembers the moment it counts from. Touched by the HA loop's thread only.
 */
final class KeyTaken {
    /** When the key was taken (0: no barrier pending). */
    private long atNanos;
    /** The decision that took it: the promotion that follows records its reason in the history. */
    private Decision takenFor;
    /** Taken back by a primary whose postgres survived, rather than by a replica that is to promote. */
    private boolean takenBack;

    /** The key was taken at {@code atNanos} under {@code decision}, by a node whose postgres was in {@code data}. */
    void took(long atNanos, Decision decision, DataState data) {
        this.atNanos = atNanos;
        this.takenFor = decision;
        this.takenBack = data == DataState.RUNNING_PRIMARY;
    }

    /**
     * Each cycle, before deciding: the barrier stays pending only while the key is still ours and postgres is what it
     * was when the key was taken. A replica found holding the key without having taken it (a restarted agent, say)
     * counts its wait from now.
     */
    void check(boolean ownKey, DataState data, long now) {
        boolean pending =
                ownKey && (data == DataState.RUNNING_REPLICA || (data == DataState.RUNNING_PRIMARY && takenBack));
        if (!pending) {
            atNanos = 0;
            takenFor = null;
            takenBack = false;
        } else if (atNanos == 0) {
            atNanos = now;
        }
    }

    /** A replica's wait for the barrier so far (zero when none is pending). */
    Duration replicaWaited(long now) {
        return atNanos == 0 || takenBack ? Duration.ZERO : Duration.ofNanos(now - atNanos);
    }

    /** How long ago a primary took its key back, while it has not led on past the barrier. */
    Optional<Duration> takenBackFor(long now) {
        return atNanos != 0 && takenBack ? Optional.of(Duration.ofNanos(now - atNanos)) : Optional.empty();
    }

    /** Since the key was taken, for the log of a promotion (empty when no barrier was pending). */
    Optional<Duration> since(long now) {
        return atNanos == 0 ? Optional.empty() : Optional.of(Duration.ofNanos(now - atNanos));
    }

    /** The decision the history records for a promotion: the one that took the key, if known, else {@code promote}. */
    Decision reason(Decision promote) {
        return takenFor != null ? takenFor : promote;
    }

    /** The primary that took its key back leads on: the barrier passed. */
    void ledOn() {
        takenBack = false;
        atNanos = 0;
        takenFor = null;
    }
}
