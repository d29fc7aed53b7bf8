package io.warden.agent;

import io.warden.cluster.Member;
import java.util.Optional;

/**
 * The outcome of one HA cycle: an action, the member it concerns (the leader to follow, clone or rewind from),
 * and the reason as a sentence, which the agent logs when it changes and tests assert on.
 */
public record Decision(Action action, Optional<Member> target, String reason) {

    static Decision of(Action action, String reason) {
        return new Decision(action, Optional.empty(), reason);
    }

    static Decision of(Action action, Member target, String reason) {
        return new Decision(action, Optional.ofNullable(target), reason);
    }

    @Override
    public String toString() {
        return action + ": " + reason;
    }
}
