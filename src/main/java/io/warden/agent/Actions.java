package io.warden.agent;

import static io.warden.agent.Results.check;

import io.warden.cluster.ClusterSnapshot;
import io.warden.dcs.Lease;
import io.warden.postgres.LocalState;
import io.warden.postgres.PostgresCtl.Upstream;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Carries out what the decision chose, one {@link Action} per cycle, through the part of the agent that does it.
 * Nothing here decides: a rule that waits, gives up or escalates belongs in {@link HaDecider}. Touched by the HA
 * loop's thread only.
 */
final class Actions {
    private static final Logger LOG = LoggerFactory.getLogger(Actions.class);

    private final Node node;
    private final WardenConf conf;
    private final Rejoin rejoin;
    private final Promotion promotion;
    private final Leading leading;
    private final StepDown stepDown;
    private final HandOver handOver;
    private final KeyTaken keyTaken;

    Actions(
            Node node,
            WardenConf conf,
            Rejoin rejoin,
            Promotion promotion,
            Leading leading,
            StepDown stepDown,
            HandOver handOver,
            KeyTaken keyTaken) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
        this.conf = java.util.Objects.requireNonNull(conf, "conf is null");
        this.rejoin = java.util.Objects.requireNonNull(rejoin, "rejoin is null");
        this.promotion = java.util.Objects.requireNonNull(promotion, "promotion is null");
        this.leading = java.util.Objects.requireNonNull(leading, "leading is null");
        this.stepDown = java.util.Objects.requireNonNull(stepDown, "stepDown is null");
        this.handOver = java.util.Objects.requireNonNull(handOver, "handOver is null");
        this.keyTaken = java.util.Objects.requireNonNull(keyTaken, "keyTaken is null");
    }

    /**
     * Acts on {@code decision}, made from {@code cluster} and {@code local} under the lease {@code term}; then, for a
     * node that leads or follows on, brings a changed cluster config to its running postgres.
     */
    void carryOut(Decision decision, ClusterSnapshot cluster, LocalState local, Lease.Term term) {
        act(decision, cluster, local, term);
        if (decision.action() == Action.LEAD || decision.action() == Action.KEEP_FOLLOWING) {
            applyParameters(decision);
        }
    }

    private void act(Decision decision, ClusterSnapshot cluster, LocalState local, Lease.Term term) {
        switch (decision.action()) {
            case BOOTSTRAP -> promotion.bootstrap(cluster, term);
            case CLONE -> rejoin.cloneFrom(decision.target().orElseThrow());
            case START_REPLICA -> rejoin.startReplica(decision.target());
            case REPOINT -> rejoin.repoint(decision.target().orElseThrow());
            case REWIND -> rejoin.rewind(decision.target().orElseThrow());
            case RECLONE -> rejoin.replaceData(decision.target().orElseThrow(), true, decision.reason());
            case RECLONE_IN_PLACE -> rejoin.replaceData(decision.target().orElseThrow(), false, decision.reason());
            case TAKE_LEADERSHIP -> {
                long begun = node.clock().nanoTime();
                if (promotion.takeLeadership(local, term)) {
                    // The router barrier is decided across the next cycles (RouterBarrier), from the moment of the
                    // take.
                    keyTaken.took(begun, decision, local.data());
                }
            }
            case PROMOTE -> {
                keyTaken.since(node.clock().nanoTime())
                        .ifPresent(waited -> LOG.info(String.format(
                                "routers acknowledged in %.2f s: promoting", ReasonLog.seconds(waited.toNanos()))));
                // The history says why this node leads: the race or the operator's request that took the key.
                promotion.promote(term, cluster, keyTaken.reason(decision));
            }
            case RESTART_PRIMARY -> leading.restartPrimary(term);
            case RELEASE_LEADERSHIP -> stepDown.release();
            case FENCE -> stepDown.fence(decision.reason());
            case HAND_OVER -> handOver.handOver(decision.target().orElseThrow(), local, cluster);
            case FINISH_HAND_OVER -> handOver.finish();
            case ABORT_HAND_OVER -> {
                handOver.abandon(decision.reason());
                // Started as any primary restarted in place is: under this term, with the watchdog armed first.
                leading.restartPrimary(term);
            }
            case LEAD -> {
                keyTaken.ledOn();
                leading.lead(cluster, local, term);
            }
            case KEEP_FOLLOWING, WAIT -> {}
        }
    }

    /** A changed cluster config reaches a running postgres: rewrite the file, reload if it changed. */
    private void applyParameters(Decision decision) {
        boolean primary = decision.action() == Action.LEAD;
        Optional<Upstream> upstream =
                primary ? Optional.empty() : decision.target().map(WardenConf::upstream);
        if (conf.write(primary, upstream)) {
            check(node.postgres().reload(), "reloading changed parameters");
            LOG.info("the configuration changed: reloaded postgres");
        }
    }
}
