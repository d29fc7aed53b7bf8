package io.warden.agent;

import java.time.Duration;
import java.util.Optional;

/**
 * What the HA decision knows of this node's earlier attempts to rejoin, and of its disk: the facts behind the rules
 * that give up on pg_rewind, replace the data with a fresh copy, or keep it and wait ({@link RejoinRules}).
 *
 * @param rewindFailedAgo how long ago a pg_rewind failed and left this node stopped with its data; empty when no
 *     rewind has failed since this node last rejoined
 * @param strandedRewindAgo how long ago this node was rewound while it ran as a replica that could not stream;
 *     empty when it has not been since it last rejoined
 * @param roomForSecondCopy the disk has room for a second copy of the data (and a tenth more for its WAL) beside
 *     the first; false when unknown, and measured only when a replacement may be decided
 */
public record RejoinFacts(
        Optional<Duration> rewindFailedAgo, Optional<Duration> strandedRewindAgo, boolean roomForSecondCopy) {

    /** Nothing failed, nothing rewound; room for a second copy. */
    public static final RejoinFacts NONE = new RejoinFacts(Optional.empty(), Optional.empty(), true);

    public RejoinFacts {
        java.util.Objects.requireNonNull(rewindFailedAgo, "rewindFailedAgo is null");
        java.util.Objects.requireNonNull(strandedRewindAgo, "strandedRewindAgo is null");
    }
}
