package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.dcs.Lease;
import io.warden.postgres.LocalState;

/**
 * Carries out what the decision chose, one {@link Action} per cycle, through the part of the agent that does it.
 * Nothing here decides: a rule that waits, gives up or escalates belongs in {@link HaDecider}. Touched by the HA
 * loop's thread only.
 */
final class Actions {
    private final Rejoin rejoin;
    private final Primary primary;
    private final StepDown stepDown;
    private final HandOver handOver;

    Actions(Rejoin rejoin, Primary primary, StepDown stepDown, HandOver handOver) {
        this.rejoin = java.util.Objects.requireNonNull(rejoin, "rejoin is null");
        this.primary = java.util.Objects.requireNonNull(primary, "primary is null");
        this.stepDown = java.util.Objects.requireNonNull(stepDown, "stepDown is null");
        this.handOver = java.util.Objects.requireNonNull(handOver, "handOver is null");
    }

    /** Acts on {@code decision}, made from {@code cluster} and {@code local} under the lease {@code term}. */
    void carryOut(Decision decision, ClusterSnapshot cluster, LocalState local, Lease.Term term) {
        switch (decision.action()) {
            case BOOTSTRAP -> primary.bootstrap(cluster, term);
            case CLONE -> rejoin.cloneFrom(decision.target().orElseThrow());
            case START_REPLICA -> rejoin.startReplica(decision.target());
            case REPOINT -> rejoin.repoint(decision.target().orElseThrow());
            case REWIND -> rejoin.rewind(decision.target().orElseThrow());
            case RECLONE -> rejoin.replaceData(decision.target().orElseThrow(), true, decision.reason());
            case RECLONE_IN_PLACE -> rejoin.replaceData(decision.target().orElseThrow(), false, decision.reason());
            case TAKE_LEADERSHIP -> primary.takeLeadership(decision, local, term);
            case PROMOTE -> primary.promote(term, cluster, decision);
            case RESTART_PRIMARY -> primary.restartPrimary(term);
            case RELEASE_LEADERSHIP -> stepDown.release();
            case FENCE -> stepDown.fence(decision.reason());
            case HAND_OVER -> handOver.handOver(decision.target().orElseThrow(), local, cluster);
            case FINISH_HAND_OVER -> handOver.finish();
            case ABORT_HAND_OVER -> {
                handOver.abandon(decision.reason());
                // Started as any primary restarted in place is: under this term, with the watchdog armed first.
                primary.restartPrimary(term);
            }
            case LEAD -> primary.lead(cluster, local, term);
            case KEEP_FOLLOWING -> rejoin.followOn(decision.target());
            case WAIT -> {}
        }
    }
}
