package io.warden.dcs;

import com.fasterxml.jackson.core.type.TypeReference;
import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.HistoryEntry;
import io.warden.cluster.LeaderKey;
import io.warden.cluster.Member;
import io.warden.cluster.Optime;
import io.warden.cluster.RouterStatus;
import io.warden.cluster.Switchover;
import io.warden.cluster.SyncState;
import io.warden.cluster.Unreadable;
import io.warden.common.Json;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A cluster's keys as they are stored: their names under the cluster prefix, their values as text, and the one
 * way a range read of them becomes a {@link ClusterSnapshot}. {@link EtcdDcs} and the tests' fake store both go
 * through here, so the fake holds the very text etcd would and parses it with the same code; a store that wrote
 * its own JSON would drift from the real one unnoticed.
 */
final class ClusterKeys {
    static final String INITIALIZE = "initialize";
    static final String LEADER = "leader";
    static final String OPTIME = "optime";
    static final String CONFIG = "config";
    static final String SWITCHOVER = "switchover";
    static final String SYNC = "sync";
    static final String HISTORY = "history";
    static final String MEMBERS = "members/";
    static final String ROUTERS = "routers/";

    /** The value of {@code initialize} between a won bootstrap race and the system identifier. */
    static final String BOOTSTRAPPING = "bootstrapping";

    /** {@code history} keeps this many entries, newest last. */
    static final int HISTORY_LIMIT = 100;

    private static final TypeReference<List<HistoryEntry>> HISTORY_TYPE = new TypeReference<>() {};

    private ClusterKeys() {}

    /**
     * One key as a range read returns it.
     *
     * @param name relative to the cluster prefix ({@code leader}, {@code members/node-1})
     * @param leaseId the lease the key is bound to, 0 for none
     * @param modRevision the revision that last wrote it
     */
    record Stored(String name, String value, long leaseId, long modRevision) {}

    static String member(String name) {
        return MEMBERS + name;
    }

    static String router(String id) {
        return ROUTERS + id;
    }

    /** The text stored for a value: one mapper configuration for every key. */
    static String text(Object value) {
        return Json.write(value);
    }

    /** The ttl a lease is granted with: whole seconds, as etcd counts them, and never under one. */
    static long leaseSeconds(Duration ttl) {
        return Math.max(1, ttl.toSeconds());
    }

    /**
     * The cluster as read at {@code revision}, each value parsed once into typed fields by the tolerant reader
     * ({@link Json#wire()}: unknown fields are a newer version's and ignored). A value that cannot be parsed is left
     * out (the key reads as absent) and listed in {@link ClusterSnapshot#unreadable()}: another version may have
     * written it, or a person by hand, and one bad key must not stop the loop that reads them all. Reporting it is
     * the reader's job, once per change.
     */
    static ClusterSnapshot snapshot(long revision, List<Stored> keys) {
        ClusterSnapshot.Builder snapshot = ClusterSnapshot.builder(revision);
        for (Stored key : keys) {
            String name = key.name();
            String value = key.value();
            try {
                if (name.equals(INITIALIZE)) {
                    // A system identifier is a decimal number; anything else is not one, and reads as absent.
                    if (!value.equals(BOOTSTRAPPING) && !value.matches("[0-9]{1,20}")) {
                        throw new IOException("not a system identifier (a decimal number) nor '" + BOOTSTRAPPING + "'");
                    }
                    snapshot.initialize(value);
                } else if (name.equals(LEADER)) {
                    snapshot.leader(new LeaderKey(value, key.leaseId(), key.modRevision()));
                } else if (name.equals(OPTIME)) {
                    snapshot.optime(Json.wire().readValue(value, Optime.class));
                } else if (name.equals(CONFIG)) {
                    snapshot.config(Json.wire().readValue(value, DynamicConfig.class), key.modRevision());
                } else if (name.equals(SWITCHOVER)) {
                    snapshot.switchover(Json.wire().readValue(value, Switchover.class), key.modRevision());
                } else if (name.equals(SYNC)) {
                    snapshot.sync(Json.wire().readValue(value, SyncState.class));
                } else if (name.equals(HISTORY)) {
                    snapshot.history(Json.wire().readValue(value, HISTORY_TYPE));
                } else if (name.startsWith(MEMBERS)) {
                    Member member = Json.wire().readValue(value, Member.class);
                    if (!name.equals(member(member.name()))) {
                        throw new IOException("the record names member '" + member.name() + "', not its key's");
                    }
                    snapshot.member(member);
                } else if (name.startsWith(ROUTERS)) {
                    snapshot.router(Json.wire().readValue(value, RouterStatus.class));
                }
            } catch (IOException | RuntimeException e) {
                snapshot.unreadable(new Unreadable(name, key.modRevision(), problem(e)));
                if (name.startsWith(ROUTERS)) {
                    snapshot.router(RouterStatus.unreadable(name.substring(ROUTERS.length())));
                }
            }
        }
        return snapshot.build();
    }

    /** The routers' statuses from the values under {@code routers/}, by key name. */
    static List<RouterStatus> routers(Map<String, String> values) {
        List<RouterStatus> routers = new ArrayList<>();
        values.forEach((name, value) -> routers.add(router(name, value)));
        return routers;
    }

    /**
     * A router's status; one that cannot be read stands in as {@link RouterStatus#unreadable}: it is alive (its key
     * is bound to its lease) and may still route writes anywhere, so the router barrier waits for it.
     */
    private static RouterStatus router(String name, String value) {
        try {
            return Json.wire().readValue(value, RouterStatus.class);
        } catch (IOException | RuntimeException e) {
            return RouterStatus.unreadable(name.substring(ROUTERS.length()));
        }
    }

    /** The first line of what the parser said, without the value itself (it may be long, or hold anything). */
    private static String problem(Exception e) {
        String message = e instanceof com.fasterxml.jackson.core.JsonProcessingException json
                ? json.getOriginalMessage()
                : e.getMessage();
        String text = message == null
                ? e.getClass().getSimpleName()
                : message.lines().findFirst().orElse("");
        return text.length() > 200 ? text.substring(0, 200) + "..." : text;
    }

    /**
     * The text of {@code history} with {@code entry} appended to {@code current} (empty: no key yet), trimmed to
     * the newest {@link #HISTORY_LIMIT}.
     *
     * @throws DcsException when the current history cannot be read: it is never overwritten, since it is the record
     *     of which timelines exist and why (someone must repair it by hand; the newest timeline is also in
     *     {@code optime} and every member record)
     */
    static String appendedHistory(Optional<String> current, HistoryEntry entry) {
        List<HistoryEntry> history = new ArrayList<>();
        if (current.isPresent()) {
            try {
                history.addAll(Json.wire().readValue(current.get(), HISTORY_TYPE));
            } catch (IOException | RuntimeException e) {
                throw new DcsException(
                        "the history key is unreadable (" + problem(e) + "): not appending to it, so nothing"
                                + " is lost; repair or delete it with etcdctl",
                        e);
            }
        }
        history.add(entry);
        if (history.size() > HISTORY_LIMIT) {
            history = history.subList(history.size() - HISTORY_LIMIT, history.size());
        }
        return text(history);
    }
}
