package io.warden.agent;

import static io.warden.agent.ReasonLog.seconds;
import static io.warden.agent.Results.check;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.HistoryEntry;
import io.warden.cluster.MemberState;
import io.warden.common.Processes.Result;
import io.warden.common.WardenException;
import io.warden.dcs.Lease;
import io.warden.postgres.DataState;
import io.warden.postgres.LocalState;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Becoming and being the primary: bootstrapping a new cluster, or taking the leader key in the failover race and
 * promoting this replica once the routers stopped routing to the old primary; then each cycle while it leads, and
 * starting its postgres again in place when it went down. Every step that needs leadership checks the lease term the
 * decision was made under, right before it happens. The moment the key was taken, which the router barrier counts
 * from, is kept in {@link KeyTaken} from the take until the promotion or until a primary that took its key back leads
 * on.
 */
final class Primary {
    private static final Logger LOG = LoggerFactory.getLogger(Primary.class);

    private final Node node;
    private final WardenConf conf;
    private final SyncReplication sync;
    private final ReplicationSlots slots;
    private final Publication publication;
    private final StepDown stepDown;
    private final ClusterRecords records;
    private final AgentMetrics metrics;
    private final KeyTaken keyTaken;

    Primary(
            Node node,
            WardenConf conf,
            SyncReplication sync,
            ReplicationSlots slots,
            Publication publication,
            StepDown stepDown,
            ClusterRecords records,
            AgentMetrics metrics,
            KeyTaken keyTaken) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
        this.conf = java.util.Objects.requireNonNull(conf, "conf is null");
        this.sync = java.util.Objects.requireNonNull(sync, "sync is null");
        this.slots = java.util.Objects.requireNonNull(slots, "slots is null");
        this.publication = java.util.Objects.requireNonNull(publication, "publication is null");
        this.stepDown = java.util.Objects.requireNonNull(stepDown, "stepDown is null");
        this.records = java.util.Objects.requireNonNull(records, "records is null");
        this.metrics = java.util.Objects.requireNonNull(metrics, "metrics is null");
        this.keyTaken = java.util.Objects.requireNonNull(keyTaken, "keyTaken is null");
    }

    /** Won or holds the bootstrap race under {@code term}: initdb, start as the first primary, record it; undone if it fails. */
    void bootstrap(ClusterSnapshot cluster, Lease.Term term) {
        if (!cluster.isLeader(node.config().name())
                && !node.dcs().claimBootstrap(node.config().name(), term.id())) {
            LOG.info("another node won the bootstrap race");
            return;
        }
        if (!node.armFor(term)) {
            node.releaseLeader();
            throw new WardenException(
                    "watchdog at " + node.config().watchdogSocket() + " is not reachable", "start the node's watchdog");
        }
        publication.inProgress(MemberState.INITIALIZING);
        publication.publishSelf(cluster, LocalState.of(DataState.EMPTY));
        try {
            node.postgres().initdb(node.config().superuserPassword());
            conf.writePrimary();
            if (!node.stillHolds(term, "starting the new primary")) {
                throw new WardenException(
                        "the lease changed during the bootstrap", "none: the next cycle decides again");
            }
            check(node.postgres().start(Duration.ofSeconds(60)), "starting the new primary");
            node.postgres().createWardenRoles(node.config().replicationPassword());
            if (node.config().adminVerifier().isPresent()) {
                node.postgres()
                        .createAdmin(
                                node.config().adminVerifier().get(),
                                node.config().cluster());
            }
            node.dcs().completeBootstrap(node.postgres().systemIdentifier());
            records.appendHistory(new HistoryEntry(
                    1, "0/0", node.config().name(), node.clock().instant().toString(), "bootstrap"));
            LOG.info("bootstrapped the cluster as primary");
        } catch (RuntimeException | SQLException e) {
            LOG.error("bootstrap failed, removing the half-made data directory: " + e.getMessage());
            node.postgres().kill();
            node.postgres().removeData();
            node.watchdog().disarm();
            node.lease().revoke();
        }
    }

    /**
     * Takes the leader key under {@code term}, as {@code decision} chose. A replica promotes in a later cycle, once
     * the router barrier has passed (HaDecider); so does a primary whose postgres survived, before it leads on.
     */
    void takeLeadership(Decision decision, LocalState local, Lease.Term term) {
        long begun = node.clock().nanoTime();
        if (!node.stillHolds(term, "taking the leader key")) {
            return;
        }
        // Bound to the lease the race was decided under: if etcd no longer has it, the write is refused.
        if (!node.dcs().acquireLeader(node.config().name(), term.id())) {
            LOG.info("lost the leader race");
            return;
        }
        if (local.data() == DataState.RUNNING_REPLICA) {
            LOG.info(String.format(
                    "took the leader key in %.2f s: promoting once every router has stopped routing to the old primary",
                    seconds(node.clock().nanoTime() - begun)));
        } else if (!node.armFor(term)) {
            stepDown.release();
        }
        // The router barrier is decided across the next cycles (RouterBarrier; RouterBarrier.afterTakeBack for a
        // primary whose postgres survived), from the moment of the take.
        keyTaken.took(begun, decision, local.data());
    }

    /**
     * Promotes this replica, which holds the leader key under {@code term}: arms the watchdog first, then, in
     * synchronous mode, resets the synchronous set; publishes the new primary before its history and optime.
     * {@code current} is the snapshot the cycle decided from; the history records why this node leads: the race or
     * the operator's request that took the key, else {@code decision}.
     */
    void promote(Lease.Term term, ClusterSnapshot current, Decision decision) {
        keyTaken.since(node.clock().nanoTime())
                .ifPresent(waited -> LOG.info(
                        String.format("routers acknowledged in %.2f s: promoting", seconds(waited.toNanos()))));
        Decision reason = keyTaken.reason(decision);
        if (!node.stillHolds(term, "promoting")) {
            // The key was bound to that lease and went with it: nothing to release.
            return;
        }
        // Arm first: from the moment postgres accepts writes, something that cannot freeze with us must be able to stop
        // it.
        if (!node.armFor(term)) {
            LOG.warn("cannot promote safely (watchdog unreachable or lease not valid): releasing the leader key");
            stepDown.release();
            return;
        }
        if (current.config().synchronous()
                && !sync.resetForPromotion(current.config().synchronousMode())) {
            return;
        }
        publication.inProgress(MemberState.PROMOTING);
        if (!node.stillHolds(term, "promoting")) {
            return;
        }
        // standby.signal stays until postgres removes it itself at the end of promotion: deleting it first
        // makes the startup process fail, and a later start would then run as primary without a new timeline.
        long begun = node.clock().nanoTime();
        check(node.postgres().promote(Duration.ofSeconds(60)), "promoting");
        long promotedAt = node.clock().nanoTime();
        conf.writePrimary();
        publication.actionEnded();
        sync.afterPromotion(current.config().synchronous());
        LocalState promoted = node.postgres().observe();
        // The routers route writes by this record: publish it before the history and the optime, not after them
        // at the end of the cycle. (A primary's record does not depend on the snapshot passed.)
        publication.publishSelf(ClusterSnapshot.empty(), promoted);
        records.appendHistory(new HistoryEntry(
                promoted.timeline(),
                promoted.lsn().toString(),
                node.config().name(),
                node.clock().instant().toString(),
                "promoted: " + reason));
        publication.publishOptime(promoted);
        records.clearSwitchover(current, "promoted");
        LOG.info(String.format(
                "promoted to primary on timeline %d (pg_ctl promote took %.2f s, recording it %.2f s)",
                promoted.timeline(),
                seconds(promotedAt - begun),
                seconds(node.clock().nanoTime() - promotedAt)));
        metrics.promotionTook(node.clock().nanoTime() - begun);
    }

    /**
     * One cycle of the leader: steps down when the lease changed or the watchdog does not answer, otherwise the
     * synchronous probe, the optime, the slots and the synchronous set; then a changed cluster config reaches its
     * postgres.
     */
    void lead(ClusterSnapshot cluster, LocalState local, Lease.Term term) {
        // A primary that took its key back leads on: its barrier passed.
        keyTaken.ledOn();
        leadOn(cluster, local, term);
        conf.apply(true, Optional.empty());
    }

    private void leadOn(ClusterSnapshot cluster, LocalState local, Lease.Term term) {
        if (node.lease().term().id() != term.id()) {
            stepDown.fence(
                    "stepping down: my lease was replaced after this cycle decided to lead (the key went with the old one)");
            return;
        }
        if (!node.armFor(term)) {
            LOG.warn("watchdog unreachable while leading: stepping down");
            stepDown.fence("stepping down: watchdog unreachable");
            return;
        }
        sync.probeIfAwaiting();
        publication.publishOptimeIfChanged(local);
        slots.manage(cluster);
        sync.manage(cluster);
        if (cluster.switchover().isPresent()
                && !cluster.switchover().get().concerns(node.config().name())) {
            // Requested against a former leader: it can never run, and would block new requests.
            LOG.info("clearing a switchover request for former leader "
                    + cluster.switchover().get().leader());
            records.clearSwitchover(cluster, "it names a former leader");
        }
    }

    /** Starts postgres again in place as primary, same timeline, while {@code term} still holds the key. */
    void restartPrimary(Lease.Term term) {
        if (!node.stillHolds(term, "restarting postgres as primary") || !node.armFor(term)) {
            return;
        }
        conf.writePrimary();
        if (!node.stillHolds(term, "restarting postgres as primary")) {
            return;
        }
        Result result = node.postgres()
                .start(Duration.ofSeconds(
                        Math.max(5, node.config().primaryStartTimeoutDuration().toSeconds())));
        if (result.ok()) {
            LOG.info("restarted postgres in place as primary");
        } else {
            LOG.warn("restart of postgres failed (will retry until primary_start_timeout):\n" + result.tail());
        }
    }
}
