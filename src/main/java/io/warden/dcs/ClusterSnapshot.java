package io.warden.dcs;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole cluster as read from the DCS in one request, at one revision, the routers' heartbeats included. Immutable: an HA cycle decides from
 * one of these and nothing else it reads from the DCS.
 */
public record ClusterSnapshot(
        long revision,
        Optional<String> initialize,
        Optional<LeaderKey> leader,
        Map<String, Member> members,
        Optional<Optime> optime,
        DynamicConfig config,
        long configRevision,
        List<HistoryEntry> history,
        Optional<Switchover> switchover,
        Optional<SyncState> sync,
        List<RouterStatus> routers) {

    public ClusterSnapshot {
        members = Map.copyOf(members);
        history = List.copyOf(history);
        routers = List.copyOf(routers);
    }

    public static ClusterSnapshot empty() {
        return new ClusterSnapshot(
                0, Optional.empty(), Optional.empty(), Map.of(), Optional.empty(), DynamicConfig.DEFAULTS, 0, List.of(),
                Optional.empty(), Optional.empty(), List.of());
    }

    public boolean isLeader(String name) {
        return leader.map(l -> l.name().equals(name)).orElse(false);
    }

    /** Is {@code member} a synchronous standby of {@code leaderName}, as that leader last published? */
    public boolean isSyncStandby(String leaderName, String member) {
        return sync.map(s -> s.holds(leaderName, member)).orElse(false);
    }

    public Optional<Member> leaderMember() {
        return leader.map(l -> members.get(l.name()));
    }
}
