package io.warden.cluster;

import java.util.ArrayList;
import java.util.LinkedHashMap;
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
        return new Builder(this).config(replacement, configRevision).build();
    }

    /** The {@code config} key is present but could not be read. */
    public boolean configUnreadable() {
        return unreadable.containsKey("config");
    }

    /** No key at all: a cluster nobody has bootstrapped, or one not read yet. */
    public static ClusterSnapshot empty() {
        return builder(0).build();
    }

    /** A snapshot of the keys as read at {@code revision}, built key by key: how a read of the DCS becomes one. */
    public static Builder builder(long revision) {
        return new Builder(revision);
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

    /** Collects a snapshot's fields one key at a time; each field not given stays as in {@link #empty}. */
    public static final class Builder {
        private final long revision;
        private Optional<String> initialize = Optional.empty();
        private Optional<LeaderKey> leader = Optional.empty();
        private final Map<String, Member> members = new LinkedHashMap<>();
        private Optional<Optime> optime = Optional.empty();
        private DynamicConfig config = DynamicConfig.DEFAULTS;
        private long configRevision;
        private List<HistoryEntry> history = List.of();
        private Optional<Switchover> switchover = Optional.empty();
        private long switchoverRevision;
        private Optional<SyncState> sync = Optional.empty();
        private final List<RouterStatus> routers = new ArrayList<>();
        private final Map<String, Unreadable> unreadable = new LinkedHashMap<>();

        private Builder(long revision) {
            this.revision = revision;
        }

        private Builder(ClusterSnapshot from) {
            revision = from.revision;
            initialize = from.initialize;
            leader = from.leader;
            members.putAll(from.members);
            optime = from.optime;
            config = from.config;
            configRevision = from.configRevision;
            history = from.history;
            switchover = from.switchover;
            switchoverRevision = from.switchoverRevision;
            sync = from.sync;
            routers.addAll(from.routers);
            unreadable.putAll(from.unreadable);
        }

        public Builder initialize(String value) {
            initialize = Optional.of(value);
            return this;
        }

        public Builder leader(LeaderKey value) {
            leader = Optional.of(value);
            return this;
        }

        /** Adds {@code value} under its name, in place of any member of that name. */
        public Builder member(Member value) {
            members.put(value.name(), value);
            return this;
        }

        public Builder optime(Optime value) {
            optime = Optional.of(value);
            return this;
        }

        /** The config as written at {@code writtenAt}. */
        public Builder config(DynamicConfig value, long writtenAt) {
            config = value;
            configRevision = writtenAt;
            return this;
        }

        public Builder history(List<HistoryEntry> value) {
            history = value;
            return this;
        }

        /** The request as written at {@code writtenAt}: whoever carries it out deletes it by that revision. */
        public Builder switchover(Switchover value, long writtenAt) {
            switchover = Optional.of(value);
            switchoverRevision = writtenAt;
            return this;
        }

        public Builder sync(SyncState value) {
            sync = Optional.of(value);
            return this;
        }

        public Builder router(RouterStatus value) {
            routers.add(value);
            return this;
        }

        /** A key whose value could not be read: it reads as absent. */
        public Builder unreadable(Unreadable value) {
            unreadable.put(value.key(), value);
            return this;
        }

        public ClusterSnapshot build() {
            return new ClusterSnapshot(
                    revision,
                    initialize,
                    leader,
                    members,
                    optime,
                    config,
                    configRevision,
                    history,
                    switchover,
                    switchoverRevision,
                    sync,
                    routers,
                    unreadable);
        }
    }
}
