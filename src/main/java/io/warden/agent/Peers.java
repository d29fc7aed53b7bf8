package io.warden.agent;

import io.warden.cluster.Member;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What this agent asks the other members' agents over their REST APIs. {@link HttpPeers} is the real one; a test
 * hands the agent a fake. Every call is bounded by a short timeout and never throws: a peer that does not answer in
 * time is reported as not answering.
 */
public interface Peers {
    /**
     * Each member's own report of itself right now ({@code GET /status}), by name; members that did not answer (in
     * time, or at all) are absent.
     */
    Map<String, PeerStatus> statuses(Collection<Member> members);

    /** What a peer that answered said about itself. */
    sealed interface PeerStatus {
        /** Its member record, read by this version's tolerant reader. */
        record Reported(Member member) implements PeerStatus {}

        /**
         * It answered 200 with a body this version cannot read (a newer version's format, or a broken one): it is
         * alive and may be further ahead than we can tell.
         */
        record Unreadable(String problem) implements PeerStatus {}
    }

    /** One member's report of itself right now; empty when it did not answer. */
    Optional<Member> status(Member member);

    /**
     * The status code of the member's {@code GET /liveness}; empty when nothing answered at its address; 0 when a TLS
     * server answered there that could not be verified (alive, status unknown).
     */
    OptionalInt liveness(Member member);
}
