package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.postgres.PostgresCtl;
import java.sql.SQLException;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The primary's physical replication slots: one per other member, dropped when the member is gone. */
final class ReplicationSlots {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicationSlots.class);

    private final Node node;
    private final ReasonLog reasons;

    ReplicationSlots(Node node, ReasonLog reasons) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
        this.reasons = java.util.Objects.requireNonNull(reasons, "reasons is null");
    }

    /** One physical slot per other member; a member gone from the DCS (its lease expired) loses its slot. */
    void manage(ClusterSnapshot cluster) {
        try {
            Set<String> wanted = cluster.members().keySet().stream()
                    .filter(n -> !n.equals(node.config().name()))
                    .map(PostgresCtl::slotName)
                    .collect(Collectors.toSet());
            Map<String, Boolean> existing = node.postgres().physicalSlots();
            for (String slot : wanted) {
                if (!existing.containsKey(slot)) {
                    node.postgres().createSlot(slot);
                    LOG.info("created replication slot " + slot);
                }
            }
            for (Map.Entry<String, Boolean> slot : existing.entrySet()) {
                if (!wanted.contains(slot.getKey()) && !slot.getValue()) {
                    node.postgres().dropSlot(slot.getKey());
                    LOG.info("dropped replication slot " + slot.getKey() + ": its member is gone");
                }
            }
        } catch (SQLException e) {
            reasons.log("cannot manage replication slots: " + e.getMessage());
        }
    }
}
