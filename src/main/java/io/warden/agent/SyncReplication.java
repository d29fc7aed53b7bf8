package io.warden.agent;

import static io.warden.agent.Results.check;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Lsn;
import io.warden.cluster.SyncMode;
import io.warden.cluster.SyncState;
import io.warden.postgres.ProbeCommit;
import io.warden.postgres.Standby;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Synchronous replication on the primary: which standbys its commits wait for, one {@link SyncPlanner} step per
 * cycle, and the proof (a probe commit, after the checkpointer has applied the reload) that commits really wait
 * before a new primary is routable. Hazard: pg_stat_replication's 'sync' is not that proof. Touched by the HA loop's
 * thread only.
 */
final class SyncReplication {
    private static final Logger LOG = LoggerFactory.getLogger(SyncReplication.class);

    /** How long a synchronous probe commit may wait for its standbys: a caught-up standby answers in milliseconds. */
    private static final Duration SYNC_PROBE_TIMEOUT = Duration.ofSeconds(1);

    private final Node node;
    private final WardenConf conf;
    private final ReasonLog reasons;
    /**
     * Set by a promotion in synchronous mode while commits must wait for some standby: until a probe commit proved they
     * do, the member is published as promoting, so no router sends it writes (a checkpointer that has not applied
     * the new synchronous_standby_names yet would let them be acknowledged by this node alone).
     */
    private volatile boolean awaitingSyncProbe;
    /**
     * Whether a reload of synchronous_standby_names may not yet be applied by the checkpointer (see
     * {@link #checkpointerApplied}); true at start, when nothing is known of the reloads before this process.
     */
    private boolean syncReloadUnproven = true;

    private final Map<String, Lsn> seenSyncAt = new HashMap<>();

    SyncReplication(Node node, WardenConf conf, ReasonLog reasons) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
        this.conf = java.util.Objects.requireNonNull(conf, "conf is null");
        this.reasons = java.util.Objects.requireNonNull(reasons, "reasons is null");
    }

    /** Whether this new primary is still to prove that its commits wait for a standby (it is published as promoting). */
    boolean awaitingProbe() {
        return awaitingSyncProbe;
    }

    /**
     * Before a promotion in synchronous mode: resets the published synchronous set to this node alone and reloads
     * the still-standby postgres with a primary's settings. False, having done nothing, when the leader key no longer
     * names this node: it must not promote.
     */
    boolean resetForPromotion(SyncMode mode) {
        // Before the first write this node acknowledges: nobody else is known to hold it, so nobody else may be
        // promoted (SyncPlanner adds standbys back as they catch up).
        if (!node.dcs()
                .publishSync(
                        node.config().name(),
                        Optional.of(new SyncState(node.config().name(), List.of())))) {
            LOG.warn("cannot reset the synchronous set (the leader key no longer names me): not promoting");
            return false;
        }
        seenSyncAt.clear();
        conf.synchronousStandbys(new SyncPlanner.Configure(List.of(), mode == SyncMode.STRICT));
        // Still a standby until promotion ends (standby.signal must stay), but with the primary's settings
        // loaded, so the first commit already waits as the mode says.
        conf.writeStandby(true, Optional.empty());
        check(conf.reload(), "reloading before promotion");
        syncReloadUnproven = true;
        return true;
    }

    /** Right after a promotion: in synchronous mode, not routable until a probe commit shows commits wait for a standby. */
    void afterPromotion(boolean synchronous) {
        awaitingSyncProbe = synchronous
                && (conf.synchronousStandbys().wildcard()
                        || !conf.synchronousStandbys().names().isEmpty());
        if (awaitingSyncProbe) {
            syncProbePassed();
        }
    }

    /** Each cycle of a leader still awaiting its probe: tries again. */
    void probeIfAwaiting() {
        if (awaitingSyncProbe) {
            syncProbePassed();
        }
    }

    /**
     * Runs a probe commit for a new synchronous primary: it passes when some standby postgres waits for had flushed the
     * probe when its COMMIT returned; then the member is published as running (routable).
     */
    private void syncProbePassed() {
        try {
            if (!checkpointerApplied()) {
                reasons.log(
                        "new primary in synchronous mode: not routable until the checkpointer has applied synchronous_standby_names");
                return;
            }
            Optional<ProbeCommit> probe = node.postgres().probeCommit(SYNC_PROBE_TIMEOUT);
            Set<String> waitedFor = Set.copyOf(conf.synchronousStandbys().names());
            boolean held = probe.isPresent()
                    && probe.get().standbys().stream()
                            .anyMatch(s -> (conf.synchronousStandbys().wildcard() || waitedFor.contains(s.name()))
                                    && probe.get().heldBy(s.name()));
            if (held) {
                awaitingSyncProbe = false;
                LOG.info("a probe commit waited for a synchronous standby: accepting writes through the routers");
            } else {
                reasons.log(
                        "new primary in synchronous mode: not routable until a probe commit is held by a synchronous standby");
            }
        } catch (SQLException e) {
            reasons.log("cannot run the synchronous probe commit: " + e.getMessage());
        }
    }

    /**
     * Whether the checkpointer has applied the last reload of synchronous_standby_names: until it has, commits may
     * return without waiting although pg_stat_replication shows a standby as sync, and a fast standby can flush a
     * probe commit before even the COMMIT's own round trip reads its position. Proved once per reload.
     */
    private boolean checkpointerApplied() throws SQLException {
        if (syncReloadUnproven && node.postgres().checkpointerApplied(SYNC_PROBE_TIMEOUT)) {
            syncReloadUnproven = false;
        }
        return !syncReloadUnproven;
    }

    /** One step of synchronous replication management (see SyncPlanner for why one step at a time). */
    void manage(ClusterSnapshot cluster) {
        try {
            List<Standby> standbys = node.postgres().standbys();
            // A standby postgres does not wait for right now must be timed again from scratch.
            seenSyncAt
                    .keySet()
                    .removeIf(name -> !conf.synchronousStandbys().names().contains(name)
                            || standbys.stream().noneMatch(s -> s.name().equals(name) && "sync".equals(s.syncState())));
            SyncPlanner.Plan plan = SyncPlanner.plan(new SyncPlanner.Input(
                    node.config().name(),
                    cluster.config(),
                    cluster.members(),
                    standbys,
                    conf.synchronousStandbys().names(),
                    conf.synchronousStandbys().wildcard(),
                    cluster.sync(),
                    Map.copyOf(seenSyncAt)));
            if (!plan.startTiming().isEmpty()) {
                // pg_stat_replication's 'sync' is not proof that commits wait: the flag that makes them wait is set
                // by the checkpointer, after the reload, and no SQL shows it. A probe commit is: a standby that had
                // flushed the probe when its COMMIT returned holds it, and every commit from then on waits for it.
                boolean applied = checkpointerApplied();
                Optional<ProbeCommit> probe =
                        applied ? node.postgres().probeCommit(SYNC_PROBE_TIMEOUT) : Optional.empty();
                if (!applied) {
                    reasons.log("the checkpointer has not applied synchronous_standby_names within "
                            + SYNC_PROBE_TIMEOUT.toMillis() + " ms: not counting " + plan.startTiming()
                            + " as synchronous yet");
                } else if (probe.isEmpty()) {
                    reasons.log(
                            "a synchronous probe commit was not acknowledged within " + SYNC_PROBE_TIMEOUT.toMillis()
                                    + " ms: not counting " + plan.startTiming() + " as synchronous yet");
                } else {
                    for (String name : plan.startTiming()) {
                        if (probe.get().heldBy(name)) {
                            seenSyncAt.put(name, probe.get().at());
                        } else {
                            reasons.log(name + " shows as sync, but a probe commit returned at "
                                    + probe.get().at() + " before it had"
                                    + " flushed that far: commits do not wait for it yet");
                        }
                    }
                }
            }
            if (plan.publish().isPresent()) {
                if (!node.dcs().publishSync(node.config().name(), plan.publish().get())) {
                    reasons.log("could not publish the synchronous set: the leader key no longer names me");
                    return;
                }
                LOG.info(plan.reason());
            }
            if (plan.configure().isPresent()) {
                conf.synchronousStandbys(plan.configure().get());
                conf.writePrimary();
                check(
                        conf.reload(),
                        "reloading with synchronous_standby_names '"
                                + conf.synchronousStandbys().setting() + "'");
                syncReloadUnproven = true;
                LOG.info(plan.reason());
            }
        } catch (SQLException e) {
            reasons.log("cannot manage synchronous replication: " + e.getMessage());
        }
    }
}
