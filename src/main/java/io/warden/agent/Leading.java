package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.common.Processes.Result;
import io.warden.dcs.Lease;
import io.warden.postgres.LocalState;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The leader's work: each cycle while it leads, and starting its postgres again in place when it went down. */
final class Leading {
    private static final Logger LOG = LoggerFactory.getLogger(Leading.class);

    private final Node node;
    private final WardenConf conf;
    private final SyncReplication sync;
    private final ReplicationSlots slots;
    private final Publication publication;
    private final StepDown stepDown;
    private final ClusterRecords records;

    Leading(
            Node node,
            WardenConf conf,
            SyncReplication sync,
            ReplicationSlots slots,
            Publication publication,
            StepDown stepDown,
            ClusterRecords records) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
        this.conf = java.util.Objects.requireNonNull(conf, "conf is null");
        this.sync = java.util.Objects.requireNonNull(sync, "sync is null");
        this.slots = java.util.Objects.requireNonNull(slots, "slots is null");
        this.publication = java.util.Objects.requireNonNull(publication, "publication is null");
        this.stepDown = java.util.Objects.requireNonNull(stepDown, "stepDown is null");
        this.records = java.util.Objects.requireNonNull(records, "records is null");
    }

    /**
     * One cycle of the leader: steps down when the lease changed or the watchdog does not answer, otherwise the
     * synchronous probe, the optime, the slots and the synchronous set.
     */
    void lead(ClusterSnapshot cluster, LocalState local, Lease.Term term) {
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
