package io.warden.controller.repair;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.NodeTags;
import io.warden.cluster.RepairSettings;
import io.warden.cluster.Role;
import io.warden.cluster.SyncMode;
import io.warden.runtime.Container;
import io.warden.runtime.Host;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The repair controller's decision, a pure function of what it sees now ({@link View}: the cluster as the DCS has
 * it, the runtime's containers and hosts, whether a repair or a scaling step is under way), what it remembers
 * ({@link Memory}: since when each node has been abnormal, the postmaster starts it counted, the repairs it made and
 * the ones that failed), the policy and the time. It returns what to do and the sentence that says why, and the
 * memory to keep: nothing here reads a clock, a file or the network.
 *
 * <p>{@link RepairController} acts on it: it makes the replacement, lets it clone, then detaches the old node.
 */
public final class RepairDecider {
    private RepairDecider() {}

    /** Why a node is judged abnormal; each has a grace period in {@link Policy}. */
    public enum Abnormality {
        /** Its container is gone or its host is down (killed, removed). */
        HOST_GONE,
        /** Its host is cut off the network. */
        HOST_ISOLATED,
        /**
         * Its container runs (or its host is frozen) but its agent publishes nothing, and the supervisor's restarts
         * have not brought it back: what the supervisor heals within the grace period is not abnormal.
         */
        AGENT_UNREACHABLE,
        /** Its postmaster keeps coming up again: {@link Policy#crashLoopStarts} starts within the window. */
        CRASH_LOOP,
        /** A replica that has not streamed for the whole grace period while the primary runs. */
        REPLICATION_BROKEN,
        /**
         * Its agent tried to rejoin the running primary and failed, at least {@link Policy#rejoinFailures} times in a
         * row (a pg_rewind and the re-clone after it, or two clones), and its attempts go on failing (the count rose
         * within the grace period): it will not come back by itself.
         */
        CANNOT_REJOIN,
        /**
         * Its agent found its stopped data directory unusable (a corrupt control file, a volume that cannot be
         * written) and does not start it: no restart helps, a new volume does.
         */
        DATA_UNUSABLE,
        /** Cloning or starting past the limit for that state. */
        STUCK
    }

    /**
     * The grace periods and limits. The defaults keep a host loss within the 60 s goal: 10 s to judge, then a clone
     * of a small database and its start.
     */
    public record Policy(
            Duration hostGone,
            Duration hostIsolated,
            Duration agentUnreachable,
            int crashLoopStarts,
            Duration crashLoopWindow,
            Duration replicationBroken,
            int rejoinFailures,
            Duration cannotRejoin,
            Duration dataUnusable,
            Duration cloningLimit,
            Duration startingLimit,
            int maxRepairsPerHour,
            Duration firstBackoff,
            Duration maxBackoff) {
        public static final Policy DEFAULT = new Policy(
                RepairSettings.DEFAULTS.get(RepairSettings.HOST_GONE),
                RepairSettings.DEFAULTS.get(RepairSettings.HOST_ISOLATED),
                RepairSettings.DEFAULTS.get(RepairSettings.AGENT_UNREACHABLE),
                3,
                RepairSettings.DEFAULTS.get(RepairSettings.CRASH_LOOP_WINDOW),
                RepairSettings.DEFAULTS.get(RepairSettings.REPLICATION_BROKEN),
                2,
                RepairSettings.DEFAULTS.get(RepairSettings.CANNOT_REJOIN),
                RepairSettings.DEFAULTS.get(RepairSettings.DATA_UNUSABLE),
                RepairSettings.DEFAULTS.get(RepairSettings.CLONING),
                RepairSettings.DEFAULTS.get(RepairSettings.STARTING),
                RepairSettings.DEFAULT_MAX_PER_HOUR,
                Duration.ofSeconds(30),
                Duration.ofMinutes(10));

        /** The defaults with the grace periods {@code config} sets ({@link RepairSettings}). */
        public static Policy of(DynamicConfig config) {
            Map<String, String> set = config.repair();
            return new Policy(
                    RepairSettings.grace(set, RepairSettings.HOST_GONE),
                    RepairSettings.grace(set, RepairSettings.HOST_ISOLATED),
                    RepairSettings.grace(set, RepairSettings.AGENT_UNREACHABLE),
                    DEFAULT.crashLoopStarts,
                    RepairSettings.grace(set, RepairSettings.CRASH_LOOP_WINDOW),
                    RepairSettings.grace(set, RepairSettings.REPLICATION_BROKEN),
                    DEFAULT.rejoinFailures,
                    RepairSettings.grace(set, RepairSettings.CANNOT_REJOIN),
                    RepairSettings.grace(set, RepairSettings.DATA_UNUSABLE),
                    RepairSettings.grace(set, RepairSettings.CLONING),
                    RepairSettings.grace(set, RepairSettings.STARTING),
                    RepairSettings.maxPerHour(set),
                    DEFAULT.firstBackoff,
                    DEFAULT.maxBackoff);
        }

        Duration grace(Abnormality abnormality, Optional<Member> member) {
            return switch (abnormality) {
                case HOST_GONE -> hostGone;
                case HOST_ISOLATED -> hostIsolated;
                case AGENT_UNREACHABLE -> agentUnreachable;
                case CRASH_LOOP -> Duration.ZERO;
                case REPLICATION_BROKEN -> replicationBroken;
                case CANNOT_REJOIN -> cannotRejoin;
                case DATA_UNUSABLE -> dataUnusable;
                case STUCK ->
                    member.map(m -> m.state() == MemberState.CLONING).orElse(false) ? cloningLimit : startingLimit;
            };
        }

        /** How long to wait after {@code failures} repairs in a row failed: doubling from the first, up to the max. */
        Duration backoff(int failures) {
            Duration wait = firstBackoff.multipliedBy(1L << Math.min(20, Math.max(0, failures - 1)));
            return wait.compareTo(maxBackoff) > 0 ? maxBackoff : wait;
        }
    }

    /**
     * What the controller sees now.
     *
     * @param nodes the cluster's nodes as the inventory has them (a node whose container is gone stays listed)
     * @param repairOf the node a repair under way is replacing, if one is
     * @param scaling a scaling step is under way (no repair meanwhile)
     * @param repairFor why the repair under way began (what its node must be rid of to count as recovered)
     */
    public record View(
            ClusterSnapshot cluster,
            List<String> nodes,
            List<Container> containers,
            List<Host> hosts,
            Optional<String> repairOf,
            boolean scaling,
            Optional<Abnormality> repairFor) {
        public View(
                ClusterSnapshot cluster,
                List<String> nodes,
                List<Container> containers,
                List<Host> hosts,
                Optional<String> repairOf,
                boolean scaling) {
            this(cluster, nodes, containers, hosts, repairOf, scaling, Optional.empty());
        }
    }

    /** When a node's abnormality began, as first seen. */
    public record Since(Abnormality abnormality, Instant at) {}

    /** The postmaster starts a node's record showed when its window began. */
    public record Starts(int count, Instant at) {}

    /**
     * What a node's member record said when last seen: its replacement gets the same tags, and whether it led in
     * asynchronous mode says whether its volume may hold commits no other copy has. Kept because a node whose host
     * is gone loses its record with its lease, before its repair is planned.
     *
     * @param synchronous synchronous mode (on or strict) was set when it was last seen: a node failed over from then
     *     holds no acknowledged commit the promoted standby lacks
     */
    public record Seen(Role role, long timeline, NodeTags tags, boolean synchronous) {}

    /** What a replacement takes over from the node it replaces, and whether that node's volume is kept. */
    public record Inheritance(NodeTags tags, Optional<String> quarantine) {}

    /**
     * What the controller remembers between decisions (kept durable by the controller, so a new leader goes on
     * where the old one stopped).
     *
     * @param rejoins per node, the failed rejoins its record last showed and when that count last rose
     */
    public record Memory(
            Map<String, Since> abnormal,
            Map<String, Starts> starts,
            List<Instant> repairs,
            int failuresInARow,
            Optional<Instant> lastFailure,
            Map<String, Seen> seen,
            Map<String, Starts> rejoins) {
        public static final Memory EMPTY =
                new Memory(Map.of(), Map.of(), List.of(), 0, Optional.empty(), Map.of(), Map.of());

        public Memory {
            abnormal = Map.copyOf(abnormal);
            starts = Map.copyOf(starts);
            repairs = List.copyOf(repairs);
            seen = seen == null ? Map.of() : Map.copyOf(seen);
            rejoins = rejoins == null ? Map.of() : Map.copyOf(rejoins);
        }

        /** After a repair began at {@code at}. */
        public Memory repairBegan(Instant at) {
            List<Instant> all = new ArrayList<>(repairs);
            all.add(at);
            return new Memory(abnormal, starts, all, failuresInARow, lastFailure, seen, rejoins);
        }

        /** After a repair failed at {@code at}: the next waits longer. */
        public Memory repairFailed(Instant at) {
            return new Memory(abnormal, starts, repairs, failuresInARow + 1, Optional.of(at), seen, rejoins);
        }

        /** After a repair completed: the backoff starts over. */
        public Memory repairSucceeded() {
            return new Memory(abnormal, starts, repairs, 0, Optional.empty(), seen, rejoins);
        }
    }

    /** What to do. */
    public enum Action {
        /** Nothing is abnormal (or not for long enough yet). */
        NONE,
        /** Something is abnormal but a rule holds the repair back (paused, a switchover, the last healthy copy...). */
        HOLD,
        /** Replace {@link Decision#node()} with a new node on another host. */
        REPLACE,
        /** The node under repair recovered: cancel the repair and remove its half-made replacement. */
        CANCEL
    }

    public record Decision(Action action, String node, Optional<Abnormality> abnormality, String reason) {
        static Decision of(Action action, String node, Optional<Abnormality> abnormality, String reason) {
            return new Decision(action, node, abnormality, reason);
        }
    }

    /** The decision and the memory to keep for the next one. */
    public record Outcome(Decision decision, Memory memory) {}

    public static Outcome decide(View view, Memory memory, Policy policy, Instant now) {
        Map<String, Starts> starts = new HashMap<>();
        Map<String, Since> abnormal = new HashMap<>();
        Map<String, Seen> seen = new HashMap<>();
        Map<String, Starts> rejoins = new HashMap<>();
        for (String node : new TreeSet<>(view.nodes())) {
            Optional<Member> member =
                    Optional.ofNullable(view.cluster().members().get(node));
            // Synchronous in fact, not only in the config: in mode on, a primary with no standby left commits alone.
            boolean synchronous = view.cluster().config().synchronousMode() != SyncMode.OFF
                    && view.cluster()
                            .sync()
                            .map(s -> s.leader().equals(node) && !s.standbys().isEmpty())
                            .orElse(false);
            Optional.ofNullable(lastSeen(member, memory.seen().get(node), synchronous))
                    .ifPresent(last -> seen.put(node, last));
            Optional<Starts> counted = countStarts(member, memory.starts().get(node), policy, now);
            counted.ifPresent(s -> starts.put(node, s));
            Optional<Starts> failing =
                    countRejoinFailures(member, memory.rejoins().get(node), now);
            failing.ifPresent(f -> rejoins.put(node, f));
            boolean stillFailing = failing.map(f ->
                            f.count() >= policy.rejoinFailures() && now.isBefore(f.at().plus(policy.cannotRejoin())))
                    .orElse(false);
            Optional<Abnormality> observed = observe(view, node, member, counted, stillFailing, policy);
            observed.ifPresent(a -> {
                Since before = memory.abnormal().get(node);
                abnormal.put(node, before != null && before.abnormality() == a ? before : new Since(a, now));
            });
        }
        List<Instant> recent = memory.repairs().stream()
                .filter(at -> at.isAfter(now.minus(Duration.ofHours(1))))
                .toList();
        Memory kept =
                new Memory(abnormal, starts, recent, memory.failuresInARow(), memory.lastFailure(), seen, rejoins);
        return new Outcome(choose(view, kept, policy, now), kept);
    }

    /**
     * What the replacement of {@code node} takes over: its tags, as last seen; and whether its volume is kept
     * (quarantined) rather than deleted. A node that led in asynchronous mode and was failed over may hold commits
     * it acknowledged that the promoted node never received: they are on its volume alone, so the volume is kept.
     * A node last seen as a replica, or leading in synchronous mode (only a synchronous standby, which had every
     * acknowledged commit, is promoted then), holds nothing the cluster lacks. A node never seen is kept: nothing
     * says it did not lead.
     */
    public static Inheritance inheritance(String node, Memory memory) {
        Seen last = memory.seen().get(node);
        if (last == null) {
            return new Inheritance(
                    NodeTags.NONE,
                    Optional.of("its last role is unknown (this controller never saw its member record)"));
        }
        if (last.role() == Role.PRIMARY && !last.synchronous()) {
            return new Inheritance(
                    last.tags(),
                    Optional.of("it led timeline " + last.timeline() + " in asynchronous mode: commits it"
                            + " acknowledged after the last one a replica received are on its volume alone"));
        }
        return new Inheritance(last.tags(), Optional.empty());
    }

    /**
     * What to remember of a node now: its record as it is, except that a node that led in asynchronous mode stays
     * remembered so until it streams on a later timeline (it has rejoined; what it held alone is gone by then), so
     * that a record republished as a stopped replica after a crash does not hide what its volume may hold.
     */
    private static Seen lastSeen(Optional<Member> member, Seen before, boolean synchronous) {
        if (member.isEmpty()) {
            return before;
        }
        Member m = member.get();
        boolean ledAsync = before != null && before.role() == Role.PRIMARY && !before.synchronous();
        if (ledAsync && m.role() != Role.PRIMARY && !(m.isStreamingReplica() && m.timeline() > before.timeline())) {
            return new Seen(Role.PRIMARY, before.timeline(), m.tags(), false);
        }
        return new Seen(m.role(), m.timeline(), m.tags(), synchronous);
    }

    /** The node's postmaster starts since its window began; a new window once the old one is over. */
    private static Optional<Starts> countStarts(Optional<Member> member, Starts before, Policy policy, Instant now) {
        if (member.isEmpty()) {
            return Optional.ofNullable(before);
        }
        int count = member.get().postgresStarts();
        if (before == null
                || count < before.count()
                || !now.isBefore(before.at().plus(policy.crashLoopWindow()))) {
            return Optional.of(new Starts(count, now));
        }
        return Optional.of(before);
    }

    /**
     * The node's failed rejoins as its record shows them, and when that count last rose. A count that stopped rising
     * means the agent is at a long attempt that has not failed (a clone of a large database) or no longer tries: only
     * attempts that go on failing say it cannot rejoin.
     */
    private static Optional<Starts> countRejoinFailures(Optional<Member> member, Starts before, Instant now) {
        if (member.isEmpty()) {
            return Optional.ofNullable(before);
        }
        int count = member.get().rejoinFailures();
        if (count == 0) {
            return Optional.empty();
        }
        if (before == null || count != before.count()) {
            return Optional.of(new Starts(count, now));
        }
        return Optional.of(before);
    }

    private static Optional<Abnormality> observe(
            View view,
            String node,
            Optional<Member> member,
            Optional<Starts> counted,
            boolean rejoinsStillFailing,
            Policy policy) {
        Optional<Container> container =
                view.containers().stream().filter(c -> c.name().equals(node)).findFirst();
        Optional<Host> host = container.flatMap(
                c -> view.hosts().stream().filter(h -> h.id().equals(c.host())).findFirst());
        if (container.isEmpty() || host.map(h -> h.state() == Host.State.DOWN).orElse(false)) {
            return Optional.of(Abnormality.HOST_GONE);
        }
        if (host.map(h -> h.state() == Host.State.ISOLATED).orElse(false)) {
            return Optional.of(Abnormality.HOST_ISOLATED);
        }
        if (member.isEmpty()) {
            return Optional.of(Abnormality.AGENT_UNREACHABLE);
        }
        Member m = member.get();
        if (!m.dataUnusable().isEmpty()) {
            return Optional.of(Abnormality.DATA_UNUSABLE);
        }
        if (counted.isPresent() && m.postgresStarts() - counted.get().count() >= policy.crashLoopStarts()) {
            return Optional.of(Abnormality.CRASH_LOOP);
        }
        boolean primaryRuns = view.cluster()
                .leaderMember()
                .map(l -> l.role() == Role.PRIMARY && l.state() == MemberState.RUNNING)
                .orElse(false);
        // Only against a running primary: while there is none (a failover under way), every rejoin fails.
        if (!view.cluster().isLeader(node) && primaryRuns && rejoinsStillFailing) {
            return Optional.of(Abnormality.CANNOT_REJOIN);
        }
        if (m.state() == MemberState.CLONING
                || m.state() == MemberState.STARTING
                || m.state() == MemberState.INITIALIZING) {
            return Optional.of(Abnormality.STUCK);
        }
        if (!view.cluster().isLeader(node) && primaryRuns && !m.isStreamingReplica()) {
            return Optional.of(Abnormality.REPLICATION_BROKEN);
        }
        return Optional.empty();
    }

    private static Decision choose(View view, Memory memory, Policy policy, Instant now) {
        if (view.repairOf().isPresent()) {
            String node = view.repairOf().get();
            // Gone from the inventory is not recovered: the repair removed it, and only finishing is left.
            if (!memory.abnormal().containsKey(node)
                    && view.nodes().contains(node)
                    && !stillCrashLooping(view, node, policy, now)) {
                return Decision.of(
                        Action.CANCEL,
                        node,
                        Optional.empty(),
                        node + " recovered before its replacement was ready: cancelling the repair");
            }
            return Decision.of(
                    Action.HOLD,
                    node,
                    Optional.ofNullable(memory.abnormal().get(node)).map(Since::abnormality),
                    "replacing " + node + ": one repair at a time");
        }
        List<String> due = new ArrayList<>();
        List<String> waiting = new ArrayList<>();
        for (var entry : new java.util.TreeMap<>(memory.abnormal()).entrySet()) {
            String node = entry.getKey();
            Since since = entry.getValue();
            Duration grace = policy.grace(
                    since.abnormality(),
                    Optional.ofNullable(view.cluster().members().get(node)));
            Duration lasted = Duration.between(since.at(), now);
            String what = node + ": " + describe(since.abnormality()) + " for " + seconds(lasted);
            if (lasted.compareTo(grace) >= 0) {
                due.add(node);
            } else {
                waiting.add(what + " (grace " + seconds(grace) + ")");
            }
        }
        if (due.isEmpty()) {
            return Decision.of(
                    Action.NONE,
                    "",
                    Optional.empty(),
                    waiting.isEmpty() ? "every node is healthy" : String.join("; ", waiting));
        }
        String node = due.getFirst();
        Abnormality abnormality = memory.abnormal().get(node).abnormality();
        String what = node + ": " + describe(abnormality) + " for "
                + seconds(Duration.between(memory.abnormal().get(node).at(), now))
                + Optional.ofNullable(view.cluster().members().get(node))
                        .map(m -> detail(abnormality, m))
                        .orElse("");
        Optional<String> held = holdReason(view, memory, policy, now, node);
        if (held.isPresent()) {
            return Decision.of(Action.HOLD, node, Optional.of(abnormality), what + ", but " + held.get());
        }
        return Decision.of(Action.REPLACE, node, Optional.of(abnormality), what + ": replacing it with a new node");
    }

    /**
     * Whether a node replaced for crash-looping may only be between two crashes: its postmaster came up less than a
     * crash-loop window ago. Such a node looks healthy for a while after each start (and its start count begins a
     * new window), which must not cancel its repair.
     */
    private static boolean stillCrashLooping(View view, String node, Policy policy, Instant now) {
        if (view.repairFor().filter(a -> a == Abnormality.CRASH_LOOP).isEmpty()) {
            return false;
        }
        return Optional.ofNullable(view.cluster().members().get(node))
                .map(Member::postgresStartedAt)
                .filter(at -> !at.isEmpty())
                .map(at -> {
                    try {
                        return now.isBefore(Instant.parse(at).plus(policy.crashLoopWindow()));
                    } catch (java.time.format.DateTimeParseException e) {
                        return true;
                    }
                })
                .orElse(true);
    }

    /**
     * What holds every repair back, the one under way included: maintenance mode, the operator's switch, a
     * switchover or a scaling step. The controller rolls back a repair whose old node is still untouched, and
     * leaves one past that point where it is until this clears.
     */
    public static Optional<String> suspension(ClusterSnapshot cluster, boolean scaling) {
        if (!cluster.config().autoRepair()) {
            return Optional.of("automatic repair is off (auto_repair: false; ./warden edit-config --set"
                    + " auto_repair=true turns it on)");
        }
        if (cluster.config().pause()) {
            return Optional.of("the cluster is paused (maintenance mode)");
        }
        if (cluster.switchover().isPresent()) {
            return Optional.of("a switchover is under way");
        }
        if (scaling) {
            return Optional.of("a scaling step is under way");
        }
        return Optional.empty();
    }

    /** The rule that holds back the repair of {@code node}, if one does. */
    private static Optional<String> holdReason(View view, Memory memory, Policy policy, Instant now, String node) {
        ClusterSnapshot cluster = view.cluster();
        Optional<String> suspended = suspension(cluster, view.scaling());
        if (suspended.isPresent()) {
            return suspended;
        }
        if (cluster.isLeader(node)) {
            return Optional.of("it holds the leader key: a primary is failed over or switched over first, never"
                    + " replaced while it leads");
        }
        long healthyOthers = cluster.members().values().stream()
                .filter(m -> !m.name().equals(node))
                .filter(m -> !memory.abnormal().containsKey(m.name()))
                .filter(m -> (cluster.isLeader(m.name()) && m.state() == MemberState.RUNNING) || m.isStreamingReplica())
                .count();
        if (healthyOthers == 0) {
            return Optional.of("no other node is healthy: a replacement would have nothing to clone from, and the"
                    + " last copy is never removed");
        }
        if (memory.lastFailure().isPresent()) {
            Instant retry = memory.lastFailure().get().plus(policy.backoff(memory.failuresInARow()));
            if (now.isBefore(retry)) {
                return Optional.of(memory.failuresInARow() + " repairs in a row failed: backing off until " + retry);
            }
        }
        if (memory.repairs().size() >= policy.maxRepairsPerHour()) {
            return Optional.of(
                    memory.repairs().size() + " repairs in the last hour (at most " + policy.maxRepairsPerHour() + ")");
        }
        return Optional.empty();
    }

    /** What the node's own record says of its trouble, for the sentence (empty for the conditions judged from outside). */
    private static String detail(Abnormality abnormality, Member m) {
        return switch (abnormality) {
            case CANNOT_REJOIN -> " (" + m.rejoinFailures() + " attempts failed, the last: " + m.rejoinFailure() + ")";
            case DATA_UNUSABLE -> " (" + m.dataUnusable() + ")";
            default -> "";
        };
    }

    private static String describe(Abnormality abnormality) {
        return switch (abnormality) {
            case HOST_GONE -> "host gone";
            case HOST_ISOLATED -> "host isolated";
            case AGENT_UNREACHABLE -> "agent unreachable";
            case CRASH_LOOP -> "postgres crash-looping";
            case REPLICATION_BROKEN -> "not streaming while the primary runs";
            case CANNOT_REJOIN -> "cannot rejoin the primary";
            case DATA_UNUSABLE -> "data directory unusable";
            case STUCK -> "stuck";
        };
    }

    private static String seconds(Duration duration) {
        return duration.toSeconds() + " s";
    }
}
