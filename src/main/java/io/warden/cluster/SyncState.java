package io.warden.cluster;

import java.util.List;

/**
 * The {@code sync} key: the standbys that hold every commit {@code leader} acknowledged, and so the only nodes
 * that may be promoted automatically while synchronous_mode is on. Written only by that leader, guarded by the
 * leader key; see docs/agent.md "Synchronous replication" for the order of steps that keeps it true.
 */
public record SyncState(String leader, List<String> standbys) {
    public SyncState {
        standbys = standbys == null ? List.of() : List.copyOf(standbys);
    }

    public boolean holds(String leaderName, String member) {
        return leader.equals(leaderName) && standbys.contains(member);
    }
}
