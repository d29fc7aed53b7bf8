package io.warden.agent;

import io.warden.cluster.DynamicConfig;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.Role;
import io.warden.cluster.SyncMode;
import io.warden.cluster.SyncState;
import io.warden.postgres.Standby;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The leader's synchronous replication step: a pure function from what postgres and the DCS say now to at most one
 * change. Two sets are kept apart:
 *
 * <ul>
 *   <li>P, the standbys postgres waits for ({@code synchronous_standby_names = 'FIRST n (P)'} with n = |P|, so a
 *       commit returns only once every member of P has flushed it);
 *   <li>S, the published {@code sync} key: the only nodes failover may promote.
 * </ul>
 *
 * <p>The invariant is that every member of S holds every commit the primary acknowledged. It holds because S only
 * ever shrinks before P does (publish first, then reconfigure), and a node joins S only after postgres has been
 * seen waiting for it ({@code sync_state = 'sync'}, so commits from then on include it) and it has flushed past the
 * primary's position at that moment (so commits from before do too). Each cycle takes one step; the next cycle
 * sees its effect.
 */
public final class SyncPlanner {
    private SyncPlanner() {}

    /**
     * @param configured P as written in the config now; empty with {@code wildcard} false means asynchronous
     * @param wildcard P is {@code '*'}: strict mode with no named standby, any standby that connects is waited for
     * @param published S, the sync key (absent when never written or deleted)
     * @param seenSyncAt for members of P seen with sync_state 'sync': the primary's WAL position when first seen
     */
    public record Input(
            String leader,
            DynamicConfig config,
            Map<String, Member> members,
            List<Standby> standbys,
            List<String> configured,
            boolean wildcard,
            Optional<SyncState> published,
            Map<String, Lsn> seenSyncAt) {}

    /**
     * At most one of: publish S (empty optional: delete the key), reconfigure P, or start timing members just seen
     * as synchronous (the agent records the primary's current position for them).
     */
    public record Plan(
            Optional<Optional<SyncState>> publish,
            Optional<Configure> configure,
            Set<String> startTiming,
            String reason) {
        static Plan nothing() {
            return new Plan(Optional.empty(), Optional.empty(), Set.of(), "synchronous replication is as it should be");
        }
    }

    /** A new P; {@code wildcard} means {@code '*'}. */
    public record Configure(List<String> names, boolean wildcard) {
        /** The value for synchronous_standby_names. Names are quoted: node names may hold '-' or '.'. */
        public String setting() {
            if (wildcard) {
                return "*";
            }
            if (names.isEmpty()) {
                return "";
            }
            StringBuilder text =
                    new StringBuilder("FIRST ").append(names.size()).append(" (");
            for (int i = 0; i < names.size(); i++) {
                text.append(i == 0 ? "" : ", ")
                        .append('"')
                        .append(names.get(i).replace("\"", "\"\""))
                        .append('"');
            }
            return text.append(')').toString();
        }
    }

    public static Plan plan(Input in) {
        SyncMode mode = in.config().synchronousMode();
        List<String> published = in.published()
                .filter(s -> s.leader().equals(in.leader()))
                .map(SyncState::standbys)
                .orElse(List.of());
        boolean keyIsMine =
                in.published().map(s -> s.leader().equals(in.leader())).orElse(false);
        if (mode == SyncMode.OFF) {
            if (in.published().isPresent()) {
                return new Plan(
                        Optional.of(Optional.empty()),
                        Optional.empty(),
                        Set.of(),
                        "synchronous_mode is off: removing the sync key");
            }
            if (!in.configured().isEmpty() || in.wildcard()) {
                return new Plan(
                        Optional.empty(),
                        Optional.of(new Configure(List.of(), false)),
                        Set.of(),
                        "synchronous_mode is off: commits no longer wait for standbys");
            }
            return Plan.nothing();
        }
        if (!keyIsMine) {
            // Never written by this leader (mode just turned on, or a previous leader's set): start from nobody.
            return new Plan(
                    Optional.of(Optional.of(new SyncState(in.leader(), List.of()))),
                    Optional.empty(),
                    Set.of(),
                    "synchronous_mode is " + mode.label() + ": publishing an empty synchronous set to start from");
        }
        List<String> desired = desired(in, published);
        // 1. Shrink S before P: a standby that is gone or no longer wanted stops being promotable first.
        List<String> kept = published.stream().filter(desired::contains).toList();
        if (kept.size() < published.size()) {
            return new Plan(
                    Optional.of(Optional.of(new SyncState(in.leader(), kept))),
                    Optional.empty(),
                    Set.of(),
                    "removing " + minus(published, kept) + " from the synchronous set");
        }
        // 2. Make P the desired set (it contains S after step 1).
        boolean wildcard = desired.isEmpty() && mode == SyncMode.STRICT;
        if (!sameSet(desired, in.configured()) || wildcard != in.wildcard()) {
            Configure next = new Configure(desired, wildcard);
            return new Plan(
                    Optional.empty(),
                    Optional.of(next),
                    Set.of(),
                    "setting synchronous_standby_names to '" + next.setting() + "'");
        }
        // 3. Grow S with members of P that postgres waits for and that have caught up.
        Set<String> startTiming = new LinkedHashSet<>();
        List<String> grown = new ArrayList<>(published);
        for (String name : desired) {
            if (published.contains(name)) {
                continue;
            }
            Optional<Standby> row = row(in, name).filter(r -> "sync".equals(r.syncState()));
            if (row.isEmpty()) {
                continue;
            }
            Lsn since = in.seenSyncAt().get(name);
            if (since == null) {
                startTiming.add(name);
            } else if (row.get().flush().compareTo(since) >= 0) {
                grown.add(name);
            }
        }
        if (grown.size() > published.size()) {
            return new Plan(
                    Optional.of(Optional.of(new SyncState(in.leader(), grown))),
                    Optional.empty(),
                    startTiming,
                    "adding " + minus(grown, published) + " to the synchronous set");
        }
        if (!startTiming.isEmpty()) {
            return new Plan(
                    Optional.empty(), Optional.empty(), startTiming, "waiting for " + startTiming + " to catch up");
        }
        return Plan.nothing();
    }

    /**
     * Up to synchronous_node_count standbys: streaming now, published as replicas, not tagged nosync. Those already
     * in S come first so the set does not churn, then the furthest ahead.
     */
    private static List<String> desired(Input in, List<String> published) {
        return in.standbys().stream()
                .filter(r -> "streaming".equals(r.state()))
                .filter(r -> {
                    Member m = in.members().get(r.name());
                    return m != null && m.role() == Role.REPLICA && !m.tags().nosync();
                })
                .sorted(Comparator.comparing((Standby r) -> !published.contains(r.name()))
                        .thenComparing(Standby::flush, Comparator.reverseOrder())
                        .thenComparing(Standby::name))
                .map(Standby::name)
                .distinct()
                .limit(in.config().synchronousNodeCount())
                .toList();
    }

    private static Optional<Standby> row(Input in, String name) {
        return in.standbys().stream().filter(r -> r.name().equals(name)).findFirst();
    }

    private static boolean sameSet(List<String> a, List<String> b) {
        return Set.copyOf(a).equals(Set.copyOf(b));
    }

    private static List<String> minus(List<String> a, List<String> b) {
        return a.stream().filter(x -> !b.contains(x)).toList();
    }

    /** Parses what {@link Configure#setting()} writes, for reading the current value back. */
    public static Configure parse(String setting) {
        String text = setting == null ? "" : setting.trim();
        if (text.isEmpty()) {
            return new Configure(List.of(), false);
        }
        if (text.equals("*")) {
            return new Configure(List.of(), true);
        }
        int open = text.indexOf('(');
        int close = text.lastIndexOf(')');
        String inner = open >= 0 && close > open ? text.substring(open + 1, close) : text;
        List<String> names = new ArrayList<>();
        for (String part : inner.split(",")) {
            String name = part.trim();
            if (name.startsWith("\"") && name.endsWith("\"") && name.length() >= 2) {
                name = name.substring(1, name.length() - 1).replace("\"\"", "\"");
            }
            if (!name.isEmpty()) {
                names.add(name);
            }
        }
        return new Configure(names, false);
    }
}
