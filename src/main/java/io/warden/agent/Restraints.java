package io.warden.agent;

import io.warden.cluster.Switchover;
import io.warden.postgres.DataState;
import java.util.Optional;

/**
 * What the decision holds back, whatever the rules chose: in maintenance mode, and while the cluster config cannot be
 * read. A decision held back becomes a WAIT that says what was not done and how the hold ends. Pure functions.
 */
final class Restraints {
    private Restraints() {}

    /**
     * The cluster config cannot be read and this agent never read an earlier one: whether synchronous mode is on,
     * how much lag a failover may lose, whether the cluster is paused, are all unknown. So it keeps doing what it
     * does (a primary leads, a replica follows, fencing goes on) and starts nothing that needs the config's answer.
     */
    static Decision withoutConfig(HaInput in, Decision decision) {
        boolean allowed = switch (decision.action()) {
            case LEAD,
                    KEEP_FOLLOWING,
                    WAIT,
                    REPOINT,
                    FENCE,
                    RELEASE_LEADERSHIP,
                    START_REPLICA,
                    RESTART_PRIMARY,
                    FINISH_HAND_OVER,
                    ABORT_HAND_OVER -> true;
            // A running primary taking its key back keeps doing what it does; refusing it would leave a primary
            // running without the key (and without routes) for as long as the config stays unreadable.
            case TAKE_LEADERSHIP -> in.local().data() == DataState.RUNNING_PRIMARY;
            case PROMOTE, BOOTSTRAP, HAND_OVER, CLONE, RECLONE, RECLONE_IN_PLACE, REWIND -> false;
        };
        return allowed
                ? decision
                : heldBack(
                        decision,
                        "the cluster config in the DCS is unreadable and I have no copy of an earlier one",
                        "fix it with warden edit-config or etcdctl");
    }

    /**
     * Maintenance mode: nothing starts, stops or promotes postgres by itself; fencing, following, and what an
     * operator asked for (a switchover or failover to a named node, and the old primary rejoining after it) go on.
     */
    static Decision whilePaused(HaInput in, Decision decision) {
        Optional<Switchover> request = HaDecider.dueRequest(in);
        boolean allowed = switch (decision.action()) {
            // A hand-over the operator asked for is finished or aborted in maintenance mode too.
            case LEAD,
                    KEEP_FOLLOWING,
                    WAIT,
                    REPOINT,
                    FENCE,
                    HAND_OVER,
                    FINISH_HAND_OVER,
                    ABORT_HAND_OVER,
                    PROMOTE,
                    BOOTSTRAP -> true;
            case TAKE_LEADERSHIP ->
                in.local().data() == DataState.RUNNING_PRIMARY
                        || request.map(r -> r.candidate().equals(in.name())).orElse(false);
            case START_REPLICA, REWIND -> in.handedOver() && in.local().data() == DataState.STOPPED_PRIMARY;
            case RELEASE_LEADERSHIP -> request.map(Switchover::failover).orElse(false);
            case CLONE, RECLONE, RECLONE_IN_PLACE, RESTART_PRIMARY -> false;
        };
        return allowed ? decision : heldBack(decision, "maintenance mode", "warden resume ends it");
    }

    /** {@code decision} not carried out: a WAIT that says why, what was not done, and what ends the hold. */
    private static Decision heldBack(Decision decision, String why, String until) {
        return Decision.of(Action.WAIT, why + ": not acting on \"" + decision.reason() + "\" (" + until + ")");
    }
}
