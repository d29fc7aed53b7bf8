package io.warden.dcs;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
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
import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.HistoryEntry;
import io.warden.cluster.Member;
import io.warden.cluster.Optime;
import io.warden.cluster.RouterStatus;
import io.warden.cluster.Switchover;
import io.warden.cluster.SyncState;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
    private final Client client;
    private final String prefix;
    private final List<String> endpointUrls;
    private final String endpoints;
    private final Duration requestTimeout;

    /**
     * A client of the etcd members at {@code endpoints}, over TLS with {@code tls}'s client certificate when given
     * (see {@link EtcdTls#configured}, which also says when it may be absent).
     */
    public EtcdDcs(List<String> endpoints, String cluster, Duration requestTimeout, Optional<EtcdTls> tls) {
        this.endpointUrls = List.copyOf(endpoints);
        this.endpoints = String.join(",", endpoints);
        this.prefix = "/warden/" + cluster + "/";
        this.requestTimeout = requestTimeout;
        ClientBuilder builder = Client.builder().endpoints(endpoints.toArray(String[]::new));
        // Each connection is verified against the address it dials (jetcd gives each endpoint its own authority), so
        // every member's certificate names the addresses its clients reach it at.
        tls.ifPresent(t -> t.applyTo(builder));
        this.client = builder.connectTimeout(requestTimeout)
                // jetcd requires this to exceed its retry delay; our own deadline (await) bounds every call anyway.
                .retryMaxDuration(
                        requestTimeout.compareTo(Duration.ofSeconds(1)) > 0 ? requestTimeout : Duration.ofSeconds(1))
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
                    "etcd at " + endpoints + " did not answer " + what + " within " + timeout.toMillis() + " ms", e);
        } catch (ExecutionException e) {
            throw new DcsException(
                    "etcd at " + endpoints + " failed " + what + ": "
                            + e.getCause().getMessage(),
                    e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DcsException("interrupted during " + what, e);
        }
    }

    @Override
    public ClusterSnapshot read() {
        GetResponse response = await(
                client.getKVClient()
                        .get(
                                bytes(prefix),
                                GetOption.newBuilder().isPrefix(true).build()),
                "read");
        List<ClusterKeys.Stored> keys = response.getKvs().stream()
                .map(kv -> new ClusterKeys.Stored(
                        kv.getKey().toString(StandardCharsets.UTF_8).substring(prefix.length()),
                        kv.getValue().toString(StandardCharsets.UTF_8),
                        kv.getLease(),
                        kv.getModRevision()))
                .toList();
        return ClusterKeys.snapshot(response.getHeader().getRevision(), keys);
    }

    @Override
    public long grantLease(Duration ttl) {
        return await(client.getLeaseClient().grant(ClusterKeys.leaseSeconds(ttl)), "lease grant")
                .getID();
    }

    /** A renewal not answered within this is sent again beside the first (see {@link Hedged}): healthy ones take 1-7 ms. */
    static final Duration RENEWAL_HEDGE = Duration.ofMillis(150);

    @Override
    public long keepAlive(long leaseId, Duration timeout) {
        try {
            return await(
                            Hedged.call(
                                    () -> client.getLeaseClient().keepAliveOnce(leaseId),
                                    RENEWAL_HEDGE,
                                    Hedged.Delay.SYSTEM),
                            "lease renewal",
                            timeout)
                    .getTTL();
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
                        .If(absent(key(ClusterKeys.INITIALIZE)), absent(key(ClusterKeys.LEADER)))
                        .Then(
                                Op.put(
                                        key(ClusterKeys.INITIALIZE),
                                        bytes(ClusterKeys.BOOTSTRAPPING),
                                        withLease(leaseId)),
                                Op.put(key(ClusterKeys.LEADER), bytes(name), withLease(leaseId)))
                        .commit(),
                "bootstrap claim");
    }

    @Override
    public void completeBootstrap(String systemIdentifier) {
        await(client.getKVClient().put(key(ClusterKeys.INITIALIZE), bytes(systemIdentifier)), "bootstrap completion");
    }

    @Override
    public boolean acquireLeader(String name, long leaseId) {
        return commit(
                client.getKVClient()
                        .txn()
                        .If(absent(key(ClusterKeys.LEADER)))
                        .Then(Op.put(key(ClusterKeys.LEADER), bytes(name), withLease(leaseId)))
                        .commit(),
                "leader race");
    }

    @Override
    public boolean releaseLeader(String name, long leaseId) {
        GetResponse current = await(client.getKVClient().get(key(ClusterKeys.LEADER)), "leader read");
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
                        .If(new Cmp(key(ClusterKeys.LEADER), Cmp.Op.EQUAL, CmpTarget.modRevision(kv.getModRevision())))
                        .Then(Op.delete(key(ClusterKeys.LEADER), DeleteOption.DEFAULT))
                        .commit(),
                "leader release");
    }

    @Override
    public boolean removeLeader(long modRevision) {
        return commit(
                client.getKVClient()
                        .txn()
                        .If(new Cmp(key(ClusterKeys.LEADER), Cmp.Op.EQUAL, CmpTarget.modRevision(modRevision)))
                        .Then(Op.delete(key(ClusterKeys.LEADER), DeleteOption.DEFAULT))
                        .commit(),
                "leader removal");
    }

    @Override
    public void publishMember(Member member, long leaseId) {
        await(
                client.getKVClient()
                        .put(
                                key(ClusterKeys.member(member.name())),
                                bytes(ClusterKeys.text(member)),
                                withLease(leaseId)),
                "member update");
    }

    @Override
    public boolean removeMember(String name) {
        GetResponse current = await(client.getKVClient().get(key(ClusterKeys.member(name))), "member read");
        if (current.getKvs().isEmpty()) {
            return false;
        }
        long lease = current.getKvs().getFirst().getLease();
        if (lease != 0) {
            try {
                revokeLease(lease);
            } catch (DcsException e) {
                // Expired meanwhile: the key went with it, and the delete below finds nothing.
                if (!String.valueOf(e.getMessage()).contains("not found")) {
                    throw e;
                }
            }
        }
        await(client.getKVClient().delete(key(ClusterKeys.member(name))), "member removal");
        return true;
    }

    @Override
    public boolean publishOptime(String leaderName, Optime optime) {
        return commit(
                client.getKVClient()
                        .txn()
                        .If(new Cmp(key(ClusterKeys.LEADER), Cmp.Op.EQUAL, CmpTarget.value(bytes(leaderName))))
                        .Then(Op.put(key(ClusterKeys.OPTIME), bytes(ClusterKeys.text(optime)), PutOption.DEFAULT))
                        .commit(),
                "optime update");
    }

    @Override
    public boolean compareAndSetConfig(long expectedRevision, DynamicConfig config) {
        Cmp guard = expectedRevision == 0
                ? absent(key(ClusterKeys.CONFIG))
                : new Cmp(key(ClusterKeys.CONFIG), Cmp.Op.EQUAL, CmpTarget.modRevision(expectedRevision));
        return commit(
                client.getKVClient()
                        .txn()
                        .If(guard)
                        .Then(Op.put(key(ClusterKeys.CONFIG), bytes(ClusterKeys.text(config)), PutOption.DEFAULT))
                        .commit(),
                "config update");
    }

    @Override
    public void appendHistory(HistoryEntry entry) {
        for (int attempt = 0; attempt < 10; attempt++) {
            GetResponse current = await(client.getKVClient().get(key(ClusterKeys.HISTORY)), "history read");
            Optional<KeyValue> kv = current.getKvs().stream().findFirst();
            long revision = kv.map(KeyValue::getModRevision).orElse(0L);
            String history =
                    ClusterKeys.appendedHistory(kv.map(v -> v.getValue().toString(StandardCharsets.UTF_8)), entry);
            Cmp guard = revision == 0
                    ? absent(key(ClusterKeys.HISTORY))
                    : new Cmp(key(ClusterKeys.HISTORY), Cmp.Op.EQUAL, CmpTarget.modRevision(revision));
            if (commit(
                    client.getKVClient()
                            .txn()
                            .If(guard)
                            .Then(Op.put(key(ClusterKeys.HISTORY), bytes(history), PutOption.DEFAULT))
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
                        key(ClusterKeys.LEADER),
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
                        .If(absent(key(ClusterKeys.SWITCHOVER)))
                        .Then(Op.put(key(ClusterKeys.SWITCHOVER), bytes(ClusterKeys.text(switchover)), put))
                        .commit(),
                "switchover request");
    }

    @Override
    public boolean publishSync(String leaderName, Optional<SyncState> sync) {
        Op op = sync.isPresent()
                ? Op.put(key(ClusterKeys.SYNC), bytes(ClusterKeys.text(sync.get())), PutOption.DEFAULT)
                : Op.delete(key(ClusterKeys.SYNC), DeleteOption.DEFAULT);
        return commit(
                client.getKVClient()
                        .txn()
                        .If(new Cmp(key(ClusterKeys.LEADER), Cmp.Op.EQUAL, CmpTarget.value(bytes(leaderName))))
                        .Then(op)
                        .commit(),
                "sync update");
    }

    @Override
    public boolean clearSwitchover(long modRevision) {
        // With 0 the compare holds on an absent key and the delete finds nothing: hence the count, not the outcome.
        TxnResponse response = await(
                client.getKVClient()
                        .txn()
                        .If(new Cmp(key(ClusterKeys.SWITCHOVER), Cmp.Op.EQUAL, CmpTarget.modRevision(modRevision)))
                        .Then(Op.delete(key(ClusterKeys.SWITCHOVER), DeleteOption.DEFAULT))
                        .commit(),
                "switchover clear");
        return response.isSucceeded()
                && response.getDeleteResponses().stream().anyMatch(deleted -> deleted.getDeleted() > 0);
    }

    @Override
    public void publishRouter(RouterStatus status, long leaseId) {
        await(
                client.getKVClient()
                        .put(key(ClusterKeys.router(status.id())), bytes(ClusterKeys.text(status)), withLease(leaseId)),
                "router update");
    }

    @Override
    public List<RouterStatus> readRouters() {
        GetResponse response = await(
                client.getKVClient()
                        .get(
                                key(ClusterKeys.ROUTERS),
                                GetOption.newBuilder().isPrefix(true).build()),
                "router read");
        java.util.Map<String, String> values = new java.util.TreeMap<>();
        response.getKvs()
                .forEach(kv -> values.put(
                        kv.getKey().toString(StandardCharsets.UTF_8).substring(prefix.length()),
                        kv.getValue().toString(StandardCharsets.UTF_8)));
        return ClusterKeys.routers(values);
    }

    @Override
    public AutoCloseable watchAll(java.util.function.Consumer<List<String>> onChange) {
        Watch.Watcher watcher = client.getWatchClient()
                .watch(
                        bytes(prefix),
                        WatchOption.newBuilder().isPrefix(true).build(),
                        Watch.listener(
                                response -> onChange.accept(response.getEvents().stream()
                                        .map(event -> event.getKeyValue()
                                                .getKey()
                                                .toString(StandardCharsets.UTF_8)
                                                .substring(prefix.length()))
                                        .toList()),
                                error -> onChange.accept(List.of())));
        return watcher::close;
    }

    /** The version check runs once, off the loop: a cold connection to each member may take longer than a request. */
    private static final Duration VERSION_CHECK_TIMEOUT = Duration.ofSeconds(5);

    /**
     * What {@link EtcdVersions} warns about the release each member of the etcd cluster runs, each warning naming
     * the members it is about; a member whose version cannot be read gets a warning saying so. Every member counts,
     * not only the configured endpoints: the lease defects are in whichever member leads. Asks each member once,
     * waiting up to 5 s for it: for start-up, never for the HA loop. Not part of {@link Dcs}: nothing decides on it,
     * and only etcd has it.
     */
    public List<String> versionWarnings() {
        List<String> warnings = new ArrayList<>();
        Map<String, List<String>> membersByVersion = new LinkedHashMap<>();
        // The endpoints this process was given, not the members' advertised URLs: a member advertises the
        // addresses it listens on (127.0.0.1 first), which a node inside its own network namespace cannot reach.
        for (String url : endpointUrls) {
            try {
                String version = await(
                                client.getMaintenanceClient().statusMember(url),
                                "status of " + url,
                                VERSION_CHECK_TIMEOUT)
                        .getVersion();
                membersByVersion
                        .computeIfAbsent(version, v -> new ArrayList<>())
                        .add(url);
            } catch (DcsException e) {
                warnings.add("cannot read the etcd version of " + url + " (" + e.getMessage()
                        + "): cannot tell whether it has" + " the lease fixes (see docs/dcs.md, etcd versions)");
            }
        }
        membersByVersion.forEach((version, urls) -> EtcdVersions.warnings(version)
                .forEach(warning -> warnings.add("etcd " + (urls.size() == 1 ? "member " : "members ")
                        + String.join(", ", urls) + ": " + warning)));
        return warnings;
    }

    /**
     * The control plane's keys of the same cluster, over this client: {@code /warden-control/<cluster>/}. Only the
     * controllers and the CLI's {@code events} read them.
     */
    public ControlStore control() {
        return new Control();
    }

    private final class Control implements ControlStore {
        private static final String LEADER = "leader";
        private final String controlPrefix = "/warden-control/" + prefix.substring("/warden/".length());

        private ByteSequence controlKey(String name) {
            return bytes(controlPrefix + name);
        }

        private Cmp leads(long epoch) {
            return new Cmp(controlKey(LEADER), Cmp.Op.EQUAL, CmpTarget.createRevision(epoch));
        }

        @Override
        public Snapshot read() {
            GetResponse response = await(
                    client.getKVClient()
                            .get(
                                    bytes(controlPrefix),
                                    GetOption.newBuilder().isPrefix(true).build()),
                    "control read");
            Optional<Leadership> leader = Optional.empty();
            Map<String, Value> values = new LinkedHashMap<>();
            for (KeyValue kv : response.getKvs()) {
                String name = kv.getKey().toString(StandardCharsets.UTF_8).substring(controlPrefix.length());
                String text = kv.getValue().toString(StandardCharsets.UTF_8);
                if (name.equals(LEADER)) {
                    leader = Optional.of(new Leadership(text, kv.getLease(), kv.getCreateRevision()));
                } else {
                    values.put(name, new Value(text, kv.getModRevision()));
                }
            }
            return new Snapshot(response.getHeader().getRevision(), leader, values);
        }

        @Override
        public long acquireLeadership(String holder, long leaseId) {
            TxnResponse response = await(
                    client.getKVClient()
                            .txn()
                            .If(absent(controlKey(LEADER)))
                            .Then(Op.put(controlKey(LEADER), bytes(holder), withLease(leaseId)))
                            .commit(),
                    "controller leader race");
            // The key's create revision is the revision of the transaction that made it.
            return response.isSucceeded() ? response.getHeader().getRevision() : 0;
        }

        @Override
        public boolean releaseLeadership(long epoch) {
            return epoch > 0
                    && commit(
                            client.getKVClient()
                                    .txn()
                                    .If(leads(epoch))
                                    .Then(Op.delete(controlKey(LEADER), DeleteOption.DEFAULT))
                                    .commit(),
                            "controller leader release");
        }

        @Override
        public boolean put(long epoch, String name, String text) {
            // Epoch 0 would compare equal to an absent leader key: no leadership, no write.
            return epoch > 0
                    && commit(
                            client.getKVClient()
                                    .txn()
                                    .If(leads(epoch))
                                    .Then(Op.put(controlKey(name), bytes(text), PutOption.DEFAULT))
                                    .commit(),
                            "control write of " + name);
        }

        @Override
        public boolean delete(long epoch, String name) {
            return epoch > 0
                    && commit(
                            client.getKVClient()
                                    .txn()
                                    .If(leads(epoch))
                                    .Then(Op.delete(controlKey(name), DeleteOption.DEFAULT))
                                    .commit(),
                            "control delete of " + name);
        }
    }

    @Override
    public void close() {
        client.close();
    }
}
