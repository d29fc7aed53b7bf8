package io.warden.dcs;

import com.fasterxml.jackson.core.type.TypeReference;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.warden.common.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@link Dcs} on etcd v3 through jetcd. Keys live under {@code /warden/<cluster>/}; see docs/dcs.md.
 *
 * <p>Every request is bounded by {@code requestTimeout}: jetcd retries internally and would otherwise wait for
 * as long as etcd is unreachable, while the agent must know within a fraction of its lease whether a renewal
 * went through.
 */
public final class EtcdDcs implements Dcs {
    private static final String BOOTSTRAPPING = "bootstrapping";
    private static final int HISTORY_LIMIT = 100;

    private final Client client;
    private final String prefix;
    private final String endpoints;
    private final Duration requestTimeout;

    public EtcdDcs(List<String> endpoints, String cluster, Duration requestTimeout) {
        this.endpoints = String.join(",", endpoints);
        this.prefix = "/warden/" + cluster + "/";
        this.requestTimeout = requestTimeout;
        this.client = Client.builder()
                .endpoints(endpoints.toArray(String[]::new))
                .connectTimeout(requestTimeout)
                // jetcd requires this to exceed its retry delay; our own deadline (await) bounds every call anyway.
                .retryMaxDuration(requestTimeout.compareTo(Duration.ofSeconds(1)) > 0 ? requestTimeout : Duration.ofSeconds(1))
                .keepaliveTime(Duration.ofSeconds(2))
                .keepaliveTimeout(Duration.ofSeconds(2))
                .build();
    }

    private ByteSequence key(String name) {
        return ByteSequence.from(prefix + name, StandardCharsets.UTF_8);
    }

    private static ByteSequence bytes(String value) {
        return ByteSequence.from(value, StandardCharsets.UTF_8);
    }

    private <T> T await(CompletableFuture<T> future, String what) {
        return await(future, what, requestTimeout);
    }

    private <T> T await(CompletableFuture<T> future, String what, Duration timeout) {
        try {
            return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new DcsException(
                    "etcd at " + endpoints + " did not answer " + what + " within " + timeout.toMillis() + " ms",
                    e);
        } catch (ExecutionException e) {
            throw new DcsException("etcd at " + endpoints + " failed " + what + ": " + e.getCause().getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DcsException("interrupted during " + what, e);
        }
    }

    @Override
    public ClusterSnapshot read() {
        GetResponse response = await(
                client.getKVClient().get(bytes(prefix), GetOption.newBuilder().isPrefix(true).build()), "read");
        Optional<String> initialize = Optional.empty();
        Optional<LeaderKey> leader = Optional.empty();
        Optional<Optime> optime = Optional.empty();
        Map<String, Member> members = new HashMap<>();
        DynamicConfig config = DynamicConfig.DEFAULTS;
        long configRevision = 0;
        List<HistoryEntry> history = List.of();
        Optional<Switchover> switchover = Optional.empty();
        Optional<SyncState> sync = Optional.empty();
        List<RouterStatus> routers = new ArrayList<>();
        for (KeyValue kv : response.getKvs()) {
            String name = kv.getKey().toString(StandardCharsets.UTF_8).substring(prefix.length());
            String value = kv.getValue().toString(StandardCharsets.UTF_8);
            try {
                if (name.equals("initialize")) {
                    initialize = Optional.of(value);
                } else if (name.equals("leader")) {
                    leader = Optional.of(new LeaderKey(value, kv.getLease(), kv.getModRevision()));
                } else if (name.equals("optime")) {
                    optime = Optional.of(Json.json().readValue(value, Optime.class));
                } else if (name.equals("config")) {
                    config = Json.json().readValue(value, DynamicConfig.class);
                    configRevision = kv.getModRevision();
                } else if (name.equals("switchover")) {
                    switchover = Optional.of(Json.json().readValue(value, Switchover.class));
                } else if (name.equals("sync")) {
                    sync = Optional.of(Json.json().readValue(value, SyncState.class));
                } else if (name.equals("history")) {
                    history = Json.json().readValue(value, new TypeReference<List<HistoryEntry>>() {});
                } else if (name.startsWith("members/")) {
                    Member member = Json.json().readValue(value, Member.class);
                    members.put(member.name(), member);
                } else if (name.startsWith("routers/")) {
                    routers.add(Json.json().readValue(value, RouterStatus.class));
                }
            } catch (IOException e) {
                // A value another version wrote or a person edited by hand: skip it rather than stop the loop.
                System.err.println("ignoring unreadable DCS key " + prefix + name + ": " + e.getMessage());
            }
        }
        return new ClusterSnapshot(
                response.getHeader().getRevision(),
                initialize,
                leader,
                members,
                optime,
                config,
                configRevision,
                history,
                switchover,
                sync,
                routers);
    }

    @Override
    public long grantLease(Duration ttl) {
        return await(client.getLeaseClient().grant(Math.max(1, ttl.toSeconds())), "lease grant").getID();
    }

    /** A renewal not answered within this is sent again beside the first (see {@link Hedged}): healthy ones take 1-7 ms. */
    static final Duration RENEWAL_HEDGE = Duration.ofMillis(150);

    @Override
    public long keepAlive(long leaseId, Duration timeout) {
        try {
            return await(Hedged.call(() -> client.getLeaseClient().keepAliveOnce(leaseId), RENEWAL_HEDGE, Hedged.Delay.SYSTEM),
                    "lease renewal", timeout).getTTL();
        } catch (DcsException e) {
            if (String.valueOf(e.getMessage()).contains("not found")) {
                return 0;
            }
            throw e;
        }
    }

    @Override
    public void revokeLease(long leaseId) {
        await(client.getLeaseClient().revoke(leaseId), "lease revoke");
    }

    private boolean commit(CompletableFuture<TxnResponse> txn, String what) {
        return await(txn, what).isSucceeded();
    }

    private static Cmp absent(ByteSequence key) {
        return new Cmp(key, Cmp.Op.EQUAL, CmpTarget.createRevision(0));
    }

    private static PutOption withLease(long leaseId) {
        return PutOption.newBuilder().withLeaseId(leaseId).build();
    }

    @Override
    public boolean claimBootstrap(String name, long leaseId) {
        return commit(
                client.getKVClient()
                        .txn()
                        .If(absent(key("initialize")), absent(key("leader")))
                        .Then(
                                Op.put(key("initialize"), bytes(BOOTSTRAPPING), withLease(leaseId)),
                                Op.put(key("leader"), bytes(name), withLease(leaseId)))
                        .commit(),
                "bootstrap claim");
    }

    @Override
    public void completeBootstrap(String systemIdentifier) {
        await(client.getKVClient().put(key("initialize"), bytes(systemIdentifier)), "bootstrap completion");
    }

    @Override
    public boolean acquireLeader(String name, long leaseId) {
        return commit(
                client.getKVClient()
                        .txn()
                        .If(absent(key("leader")))
                        .Then(Op.put(key("leader"), bytes(name), withLease(leaseId)))
                        .commit(),
                "leader race");
    }

    @Override
    public boolean releaseLeader(String name, long leaseId) {
        GetResponse current = await(client.getKVClient().get(key("leader")), "leader read");
        if (current.getKvs().isEmpty()) {
            return false;
        }
        KeyValue kv = current.getKvs().getFirst();
        if (!kv.getValue().toString(StandardCharsets.UTF_8).equals(name) || kv.getLease() != leaseId) {
            return false;
        }
        // jetcd has no compare on the lease; the mod revision proves the key is still the one just checked.
        return commit(
                client.getKVClient()
                        .txn()
                        .If(new Cmp(key("leader"), Cmp.Op.EQUAL, CmpTarget.modRevision(kv.getModRevision())))
                        .Then(Op.delete(key("leader"), DeleteOption.DEFAULT))
                        .commit(),
                "leader release");
    }

    @Override
    public void publishMember(Member member, long leaseId) {
        await(
                client.getKVClient().put(key("members/" + member.name()), bytes(Json.write(member)), withLease(leaseId)),
                "member update");
    }

    @Override
    public boolean publishOptime(String leaderName, Optime optime) {
        return commit(
                client.getKVClient()
                        .txn()
                        .If(new Cmp(key("leader"), Cmp.Op.EQUAL, CmpTarget.value(bytes(leaderName))))
                        .Then(Op.put(key("optime"), bytes(Json.write(optime)), PutOption.DEFAULT))
                        .commit(),
                "optime update");
    }

    @Override
    public boolean compareAndSetConfig(long expectedRevision, DynamicConfig config) {
        Cmp guard = expectedRevision == 0
                ? absent(key("config"))
                : new Cmp(key("config"), Cmp.Op.EQUAL, CmpTarget.modRevision(expectedRevision));
        return commit(
                client.getKVClient()
                        .txn()
                        .If(guard)
                        .Then(Op.put(key("config"), bytes(Json.write(config)), PutOption.DEFAULT))
                        .commit(),
                "config update");
    }

    @Override
    public void appendHistory(HistoryEntry entry) {
        for (int attempt = 0; attempt < 10; attempt++) {
            GetResponse current = await(client.getKVClient().get(key("history")), "history read");
            List<HistoryEntry> history = new ArrayList<>();
            long revision = 0;
            if (!current.getKvs().isEmpty()) {
                KeyValue kv = current.getKvs().getFirst();
                revision = kv.getModRevision();
                try {
                    history.addAll(Json.json()
                            .readValue(kv.getValue().toString(StandardCharsets.UTF_8), new TypeReference<List<HistoryEntry>>() {}));
                } catch (IOException e) {
                    System.err.println("replacing unreadable history: " + e.getMessage());
                }
            }
            history.add(entry);
            if (history.size() > HISTORY_LIMIT) {
                history = history.subList(history.size() - HISTORY_LIMIT, history.size());
            }
            Cmp guard = revision == 0
                    ? absent(key("history"))
                    : new Cmp(key("history"), Cmp.Op.EQUAL, CmpTarget.modRevision(revision));
            if (commit(
                    client.getKVClient()
                            .txn()
                            .If(guard)
                            .Then(Op.put(key("history"), bytes(Json.write(history)), PutOption.DEFAULT))
                            .commit(),
                    "history append")) {
                return;
            }
        }
    }

    @Override
    public AutoCloseable watch(Runnable onChange) {
        Watch.Watcher watcher = client.getWatchClient()
                .watch(
                        key("leader"),
                        WatchOption.DEFAULT,
                        Watch.listener(response -> onChange.run(), error -> onChange.run()));
        return watcher::close;
    }

    @Override
    public boolean requestSwitchover(Switchover switchover, Duration ttl) {
        PutOption put = ttl == null ? PutOption.DEFAULT : withLease(grantLease(ttl));
        return commit(
                client.getKVClient()
                        .txn()
                        .If(absent(key("switchover")))
                        .Then(Op.put(key("switchover"), bytes(Json.write(switchover)), put))
                        .commit(),
                "switchover request");
    }

    @Override
    public boolean publishSync(String leaderName, Optional<SyncState> sync) {
        Op op = sync.isPresent()
                ? Op.put(key("sync"), bytes(Json.write(sync.get())), PutOption.DEFAULT)
                : Op.delete(key("sync"), DeleteOption.DEFAULT);
        return commit(
                client.getKVClient()
                        .txn()
                        .If(new Cmp(key("leader"), Cmp.Op.EQUAL, CmpTarget.value(bytes(leaderName))))
                        .Then(op)
                        .commit(),
                "sync update");
    }

    @Override
    public void clearSwitchover() {
        await(client.getKVClient().delete(key("switchover")), "switchover clear");
    }

    @Override
    public void publishRouter(RouterStatus status, long leaseId) {
        await(client.getKVClient().put(key("routers/" + status.id()), bytes(Json.write(status)), withLease(leaseId)), "router update");
    }

    @Override
    public List<RouterStatus> readRouters() {
        GetResponse response = await(
                client.getKVClient().get(key("routers/"), GetOption.newBuilder().isPrefix(true).build()), "router read");
        List<RouterStatus> routers = new ArrayList<>();
        for (KeyValue kv : response.getKvs()) {
            try {
                routers.add(Json.json().readValue(kv.getValue().toString(StandardCharsets.UTF_8), RouterStatus.class));
            } catch (IOException e) {
                System.err.println("ignoring unreadable router key: " + e.getMessage());
            }
        }
        return routers;
    }

    @Override
    public AutoCloseable watchAll(java.util.function.Consumer<List<String>> onChange) {
        Watch.Watcher watcher = client.getWatchClient()
                .watch(bytes(prefix), WatchOption.newBuilder().isPrefix(true).build(),
                        Watch.listener(
                                response -> onChange.accept(response.getEvents().stream()
                                        .map(event -> event.getKeyValue().getKey().toString(StandardCharsets.UTF_8).substring(prefix.length()))
                                        .toList()),
                                error -> onChange.accept(List.of())));
        return watcher::close;
    }

    @Override
    public void close() {
        client.close();
    }
}
