package io.warden.agent;

import io.warden.cluster.Member;
import java.time.Duration;
import java.util.Optional;

/**
 * The rules that escalate a replica's way back, or give it up: when pg_rewind is tried again, when a fresh copy
 * replaces the data instead, and whether the old data is kept aside, deleted first, or kept while the node waits.
 * Pure functions of the cycle's input, so every branch is a unit test; the agent only carries them out.
 *
 * <p>A fresh copy never leaves the cluster with fewer copies than it can afford: the old data is kept aside when
 * the disk has room for a second copy; otherwise it is deleted first only while another replica streams (so one
 * healthy copy besides the leader's remains); otherwise the node keeps its data and waits for repair to replace it
 * or an operator to free space and run {@code warden reinit}.
 */
final class RejoinRules {
    /** How long a failed rewind, or a rewind that left the replica still stranded, counts against trying again. */
    static final Duration RETRY = Duration.ofMinutes(5);

    private RejoinRules() {}

    /** A former primary that must follow {@code leader}: rewind, unless a rewind failed and its data must go. */
    static Decision rewind(HaInput in, Member leader, String reason) {
        Optional<Duration> failedAgo = in.rejoin().rewindFailedAgo();
        if (failedAgo.isEmpty()) {
            return Decision.of(Action.REWIND, leader, reason);
        }
        String why = "pg_rewind failed " + failedAgo.get().toSeconds() + " s ago";
        Optional<Decision> replace = replace(in, leader, why);
        if (replace.isPresent()) {
            return replace.get();
        }
        if (failedAgo.get().compareTo(RETRY) < 0) {
            return Decision.of(Action.WAIT, keepWaiting(in, why));
        }
        return Decision.of(Action.REWIND, leader, why + " and its data could not be replaced safely: trying again");
    }

    /**
     * A running replica on an older timeline than {@code leader}'s that has not streamed for the grace: rewind it,
     * unless it was rewound within {@link #RETRY} and is still stranded (the WAL it needs is typically gone): then
     * only a fresh copy helps.
     */
    static Decision stranded(HaInput in, Member leader, String reason) {
        Optional<Duration> rewoundAgo = in.rejoin().strandedRewindAgo();
        if (rewoundAgo.isEmpty() || rewoundAgo.get().compareTo(RETRY) >= 0) {
            return Decision.of(Action.REWIND, leader, reason);
        }
        return replaceOrWait(in, leader, "still stranded " + rewoundAgo.get().toSeconds() + " s after a rewind");
    }

    /** Data that neither streaming nor pg_rewind can bring back ({@code why}): replace it if that is safe, else wait. */
    static Decision replaceOrWait(HaInput in, Member leader, String why) {
        return replace(in, leader, why).orElseGet(() -> Decision.of(Action.WAIT, keepWaiting(in, why)));
    }

    private static Optional<Decision> replace(HaInput in, Member leader, String why) {
        if (in.rejoin().roomForSecondCopy()) {
            return Optional.of(Decision.of(
                    Action.RECLONE, leader, why + ": keeping the old data aside and re-cloning from " + leader.name()));
        }
        Optional<Member> healthy = otherHealthyReplica(in, leader);
        return healthy.map(h -> Decision.of(
                Action.RECLONE_IN_PLACE,
                leader,
                why + ": no room for a second copy; " + h.name()
                        + " is a healthy replica, so deleting this node's data and re-cloning from " + leader.name()));
    }

    /** Only reached when {@link #replace} found neither room nor another healthy replica. */
    private static String keepWaiting(HaInput in, String why) {
        return why + ": keeping this node's data and waiting (no room for a second copy and no other healthy"
                + " replica); repair replaces this node, or free space and run warden reinit " + in.name();
    }

    private static Optional<Member> otherHealthyReplica(HaInput in, Member leader) {
        return in.cluster().members().values().stream()
                .filter(m -> !m.name().equals(in.name()) && !m.name().equals(leader.name()) && m.isStreamingReplica())
                .findFirst();
    }
}
