package io.warden.agent;

import io.warden.dcs.Member;
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
    /** Each member's own report of itself right now ({@code GET /status}); members that did not answer are absent. */
    Map<String, Member> statuses(Collection<Member> members);

    /** One member's report of itself right now; empty when it did not answer. */
    Optional<Member> status(Member member);

    /** The status code of the member's {@code GET /liveness}; empty when nothing answered at its address. */
    OptionalInt liveness(Member member);
}
