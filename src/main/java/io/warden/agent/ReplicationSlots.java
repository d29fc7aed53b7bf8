package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.postgres.Postgres;
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

    private final AgentConfig config;
    private final Postgres postgres;
    private final ReasonLog reasons;

    ReplicationSlots(AgentConfig config, Postgres postgres, ReasonLog reasons) {
        this.config = java.util.Objects.requireNonNull(config, "config is null");
        this.postgres = java.util.Objects.requireNonNull(postgres, "postgres is null");
        this.reasons = java.util.Objects.requireNonNull(reasons, "reasons is null");
    }

    /** One physical slot per other member; a member gone from the DCS (its lease expired) loses its slot. */
    void manage(ClusterSnapshot cluster) {
        try {
            Set<String> wanted = cluster.members().keySet().stream()
                    .filter(n -> !n.equals(config.name()))
                    .map(PostgresCtl::slotName)
                    .collect(Collectors.toSet());
            Map<String, Boolean> existing = postgres.physicalSlots();
            for (String slot : wanted) {
                if (!existing.containsKey(slot)) {
                    postgres.createSlot(slot);
                    LOG.info("created replication slot " + slot);
                }
            }
            for (Map.Entry<String, Boolean> slot : existing.entrySet()) {
                if (!wanted.contains(slot.getKey()) && !slot.getValue()) {
                    postgres.dropSlot(slot.getKey());
                    LOG.info("dropped replication slot " + slot.getKey() + ": its member is gone");
                }
            }
        } catch (SQLException e) {
            reasons.log("cannot manage replication slots: " + e.getMessage());
        }
    }
}
