package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.HistoryEntry;
import io.warden.cluster.LeaderKey;
import io.warden.dcs.Dcs;
import io.warden.dcs.DcsException;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster-wide records the agent writes besides its own member: a timeline in the history, the removal of a
 * switchover request once acted on, and of a leader key bound to no lease.
 */
final class ClusterRecords {
    private static final Logger LOG = LoggerFactory.getLogger(ClusterRecords.class);

    private final Dcs dcs;

    ClusterRecords(Dcs dcs) {
        this.dcs = java.util.Objects.requireNonNull(dcs, "dcs is null");
    }

    /**
     * Records a timeline in {@code history}. A failure is logged, not thrown: the timeline is also in {@code optime}
     * and the member records, and what follows a promotion (publishing it) must not be skipped for it.
     */
    void appendHistory(HistoryEntry entry) {
        try {
            dcs.appendHistory(entry);
        } catch (DcsException e) {
            LOG.warn("could not record timeline " + entry.timeline() + " in the history: " + e.getMessage());
        }
    }

    /**
     * Deletes the switchover request {@code cluster} holds, the one this agent acted on, by the revision it was read
     * at: a request written since (an operator may cancel one and ask for the next while a promotion or a hand-over
     * runs) is left for the next cycle to see.
     */
    void clearSwitchover(ClusterSnapshot cluster, String why) {
        if (cluster.switchover().isPresent() && !dcs.clearSwitchover(cluster.switchoverRevision())) {
            LOG.info("left the switchover request alone (" + why + "): it was rewritten or removed since revision "
                    + cluster.switchoverRevision());
        }
    }

    /**
     * A {@code leader} key bound to no lease was written by hand (no agent writes one): it would never expire, and
     * its holder would fence itself for not holding it under its own lease. It is removed by compare-and-swap on
     * the revision just read (a newer write is left alone), with an event in the log; the race then runs normally.
     */
    ClusterSnapshot removeUnleasedLeader(ClusterSnapshot cluster) {
        Optional<LeaderKey> leader = cluster.leader().filter(l -> l.leaseId() == 0);
        if (leader.isEmpty()) {
            return cluster;
        }
        if (dcs.removeLeader(leader.get().modRevision())) {
            LOG.warn("removed a leader key naming " + leader.get().name()
                    + " that was bound to no lease (written by hand?):" + " the leader race runs again");
        }
        return dcs.read();
    }
}
