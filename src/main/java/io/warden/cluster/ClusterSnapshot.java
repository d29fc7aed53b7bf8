package io.warden.cluster;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole cluster as read from the DCS in one request, at one revision, the routers' heartbeats included. Immutable: an HA cycle decides from
 * one of these and nothing else it reads from the DCS.
 *
 * @param config the dynamic config; the defaults when the key is absent or unreadable (see {@link #configUnreadable})
 * @param switchoverRevision the revision that wrote {@code switchover}, 0 when there is none (or it is unreadable):
 *     whoever carries the request out deletes it by this revision, so a request written since survives
 * @param unreadable the keys whose values could not be read, by key: each of them reads as absent
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
        long switchoverRevision,
        Optional<SyncState> sync,
        List<RouterStatus> routers,
        Map<String, Unreadable> unreadable) {

    public ClusterSnapshot {
        members = Map.copyOf(members);
        history = List.copyOf(history);
        routers = List.copyOf(routers);
        unreadable = Map.copyOf(unreadable);
    }

    /** This snapshot with {@code replacement} as its config (the last one that could be read, when this one could not). */
    public ClusterSnapshot withConfig(DynamicConfig replacement) {
        return new ClusterSnapshot(
                revision,
                initialize,
                leader,
                members,
                optime,
                replacement,
                configRevision,
                history,
                switchover,
                switchoverRevision,
                sync,
                routers,
                unreadable);
    }

    /** The {@code config} key is present but could not be read. */
    public boolean configUnreadable() {
        return unreadable.containsKey("config");
    }

    public static ClusterSnapshot empty() {
        return new ClusterSnapshot(
                0,
                Optional.empty(),
                Optional.empty(),
                Map.of(),
                Optional.empty(),
                DynamicConfig.DEFAULTS,
                0,
                List.of(),
                Optional.empty(),
                0,
                Optional.empty(),
                List.of(),
                Map.of());
    }

    public boolean isLeader(String name) {
        return leader.map(l -> l.name().equals(name)).orElse(false);
    }

    /** Is {@code member} a synchronous standby of {@code leaderName}, as that leader last published? */
    public boolean isSyncStandby(String leaderName, String member) {
        return sync.map(s -> s.holds(leaderName, member)).orElse(false);
    }

    /**
     * The newest timeline the cluster has published: in {@code history}, in {@code optime}, or in a member's record
     * (each carries it, so an unreadable history alone cannot hide it). A node on an older one holds WAL the cluster
     * forked away from: it must rewind and follow, never lead.
     */
    public long newestTimeline() {
        long newest = optime.map(Optime::timeline).orElse(0L);
        for (HistoryEntry entry : history) {
            newest = Math.max(newest, entry.timeline());
        }
        for (Member member : members.values()) {
            newest = Math.max(newest, member.timeline());
        }
        return newest;
    }

    /** The system identifier in {@code initialize}, once the bootstrap has completed. */
    public Optional<String> systemIdentifier() {
        return initialize.filter(value -> !value.equals("bootstrapping"));
    }

    public Optional<Member> leaderMember() {
        return leader.map(l -> members.get(l.name()));
    }
}
