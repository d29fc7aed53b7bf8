package io.warden.dcs;

import static java.util.Objects.requireNonNull;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.HistoryEntry;
import io.warden.cluster.Member;
import io.warden.cluster.Optime;
import io.warden.cluster.RouterStatus;
import io.warden.cluster.Switchover;
import io.warden.cluster.SyncState;
import io.warden.common.FakeClock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The whole {@link Dcs} in memory, for tests, behaving as {@link EtcdDcs} on a real etcd does; {@link DcsContract}
 * holds both to the same sentences. Time is a {@link FakeClock}: nothing expires until the test advances it.
 *
 * <p>What it keeps as etcd does:
 *
 * <ul>
 *   <li>Values are the text {@code EtcdDcs} writes ({@link ClusterKeys#text}) and {@link #read()} parses them with
 *       the same code, so a value either store cannot read is unreadable in both.
 *   <li>A revision counter, 1 for an empty store. Every write that changes something bumps it by one, shared by all
 *       the keys it wrote: a put (also of an unchanged value), a transaction whose branch wrote, a delete of a key
 *       that exists, a lease revoked or expired with keys bound to it. A refused compare-and-swap does not.
 *   <li>Leases of whole seconds ({@link ClusterKeys#leaseSeconds}). A lease is alive while the clock reads before
 *       its last grant or renewal plus its ttl, and gone at that instant: it is dropped and every key bound to it
 *       deleted, in one revision per lease. Expiry runs when the clock advances and again at the start of each call.
 *   <li>A write bound to a lease that is gone is refused with {@link DcsException} and writes nothing; a
 *       transaction is refused so only when its compare held, since etcd checks the lease of the branch it takes.
 *   <li>{@link #revokeLease} of a lease that is gone fails, {@link #keepAlive} of one answers 0.
 * </ul>
 *
 * <p>Watch callbacks are called synchronously, after the store's lock is released and before the call that made the
 * change returns: the writing call, {@link FakeClock#advance} for an expiry, or a fault switch. One callback per
 * revision, with the keys it changed in the order they were written (sorted for a lease's keys). A watcher sees only
 * revisions after it was created and none once closed. If another thread is delivering already, that thread
 * delivers this change too, in revision order; and a callback that writes to the fake gets its own change after it
 * returns rather than nested inside it. So callbacks may call back into the fake without deadlock.
 *
 * <p>Fault switches, each taking effect at once: {@link #setUnreachable}, {@link #failRenewals},
 * {@link #revokeFromOutside}, and {@link #putRaw} for values another process might have written. Thread-safe: one
 * lock around the whole store.
 */
public final class FakeDcs implements Dcs {
    private final FakeClock clock;
    private final Object lock = new Object();
    private final AtomicBoolean delivering = new AtomicBoolean();

    // Guarded by lock.
    private final TreeMap<String, Entry> keys = new TreeMap<>();
    private final Map<Long, Lease> leases = new HashMap<>();
    private final Queue<Change> undelivered = new ArrayDeque<>();
    private final List<Watcher> watchers = new ArrayList<>();
    private long revision = 1;
    private long nextLeaseId = 0x694d_0000_0001L;
    private boolean unreachable;
    private int failingReads;
    private boolean renewalsFailing;
    private Duration renewalDelay = Duration.ZERO;
    private boolean closed;
    private ClusterSnapshot snapshot;
    private volatile Consumer<RouterStatus> beforeRouterPublish = status -> {};

    private record Entry(String value, long leaseId, long modRevision) {}

    private record Lease(long ttlSeconds, long deadlineNanos) {}

    private record Change(long revision, List<String> keys) {}

    public FakeDcs(FakeClock clock) {
        this.clock = requireNonNull(clock, "clock is null");
        clock.onAdvance(this::timePassed);
    }

    // ---- fault switches and inspection, for tests

    /**
     * Cuts this client off from the store, or reconnects it. While cut off, every call that would send a request
     * throws {@link DcsException}. The store itself goes on: leases still expire with the clock, and
     * {@link #revokeFromOutside} and {@link #putRaw} still write. {@link #watch} and {@link #watchAll} still
     * register (jetcd's do without a round trip), and changes made meanwhile are held back and delivered on
     * reconnecting, as jetcd resumes a watch from the last revision it saw.
     */
    public void setUnreachable(boolean cutOff) {
        synchronized (lock) {
            unreachable = cutOff;
        }
        deliver();
    }

    /** Makes the next {@code count} reads fail as a read that etcd did not answer in time does. */
    public void failNextReads(int count) {
        synchronized (lock) {
            failingReads = count;
        }
    }

    /**
     * Makes each {@link #keepAlive} take {@code delay} of the fake clock before etcd acts on it and answers: a slow
     * etcd (or network) under which an answer can arrive after the deadline it was meant to extend.
     */
    public void delayRenewals(Duration delay) {
        synchronized (lock) {
            renewalDelay = delay;
        }
    }

    /**
     * Runs {@code observer} with each status a router publishes, before it is sent: what a test needs to see what the
     * router was doing at that moment. Called outside the store's lock, also when the write is then refused.
     */
    public void beforeRouterPublish(Consumer<RouterStatus> observer) {
        beforeRouterPublish = requireNonNull(observer, "observer is null");
    }

    /** Makes {@link #keepAlive} throw {@link DcsException} (or not) while every other call works. */
    public void failRenewals(boolean failing) {
        synchronized (lock) {
            renewalsFailing = failing;
        }
    }

    /**
     * Drops a lease now, whatever its ttl, and deletes the keys bound to it: what a client sees when another client
     * revoked it, or etcd expired it while this client could not renew. Returns false when it was already gone.
     */
    public boolean revokeFromOutside(long leaseId) {
        try {
            synchronized (lock) {
                expireDue();
                if (!leases.containsKey(leaseId)) {
                    return false;
                }
                revoke(leaseId);
                return true;
            }
        } finally {
            deliver();
        }
    }

    /**
     * Writes {@code text} as it is into {@code key} (relative to the cluster prefix, like {@code members/node-1}),
     * with no lease: a value another version or a person wrote, garbage included. Works while cut off.
     */
    public void putRaw(String key, String text) {
        putRaw(key, text, 0);
    }

    /** {@link #putRaw(String, String)} bound to a lease, which must be alive. */
    public void putRaw(String key, String text, long leaseId) {
        requireNonNull(key, "key is null");
        requireNonNull(text, "text is null");
        try {
            synchronized (lock) {
                expireDue();
                requireLease(leaseId, "raw write of " + key);
                new Write().put(key, text, leaseId).commit();
            }
        } finally {
            deliver();
        }
    }

    /** Deletes {@code key} (relative to the cluster prefix) as {@code etcdctl del} would. Works while cut off. */
    public void deleteRaw(String key) {
        requireNonNull(key, "key is null");
        try {
            synchronized (lock) {
                expireDue();
                if (keys.containsKey(key)) {
                    new Write().delete(key).commit();
                }
            }
        } finally {
            deliver();
        }
    }

    /** The text stored under {@code key} (relative to the cluster prefix), as etcd would hold it. */
    public Optional<String> rawValue(String key) {
        try {
            synchronized (lock) {
                expireDue();
                return Optional.ofNullable(keys.get(key)).map(Entry::value);
            }
        } finally {
            deliver();
        }
    }

    // ---- the Dcs port

    @Override
    public ClusterSnapshot read() {
        return call("read", () -> {
            if (failingReads > 0) {
                failingReads--;
                throw new DcsException("fake DCS did not answer read in time (failed by the test)", null);
            }
            // Every change bumps the revision, so a snapshot (immutable) is one per revision: parsed once, for the
            // simulation's thousands of runs, where reads at an unchanged revision are most of the work.
            if (snapshot != null && snapshot.revision() == revision) {
                return snapshot;
            }
            List<ClusterKeys.Stored> stored = new ArrayList<>();
            keys.forEach((name, entry) ->
                    stored.add(new ClusterKeys.Stored(name, entry.value(), entry.leaseId(), entry.modRevision())));
            snapshot = ClusterKeys.snapshot(revision, stored);
            return snapshot;
        });
    }

    @Override
    public long grantLease(Duration ttl) {
        requireNonNull(ttl, "ttl is null");
        return call("lease grant", () -> grant(ttl));
    }

    @Override
    public long keepAlive(long leaseId, Duration timeout) {
        Duration delay;
        synchronized (lock) {
            delay = renewalDelay;
        }
        if (delay.isPositive()) {
            clock.advance(delay);
        }
        return call("lease renewal", () -> {
            if (renewalsFailing) {
                throw new DcsException(
                        "fake DCS: renewal of lease " + leaseId + " failed (renewals switched off)", null);
            }
            Lease lease = leases.get(leaseId);
            if (lease == null) {
                return 0L;
            }
            leases.put(leaseId, new Lease(lease.ttlSeconds(), deadline(lease.ttlSeconds())));
            return lease.ttlSeconds();
        });
    }

    @Override
    public void revokeLease(long leaseId) {
        run("lease revoke", () -> {
            requireLease(leaseId, "revoke");
            revoke(leaseId);
        });
    }

    @Override
    public boolean claimBootstrap(String name, long leaseId) {
        return call("bootstrap claim", () -> {
            if (keys.containsKey(ClusterKeys.INITIALIZE) || keys.containsKey(ClusterKeys.LEADER)) {
                return false;
            }
            requireLease(leaseId, "bootstrap claim");
            new Write()
                    .put(ClusterKeys.INITIALIZE, ClusterKeys.BOOTSTRAPPING, leaseId)
                    .put(ClusterKeys.LEADER, name, leaseId)
                    .commit();
            return true;
        });
    }

    @Override
    public void completeBootstrap(String systemIdentifier) {
        run(
                "bootstrap completion",
                () -> new Write()
                        .put(ClusterKeys.INITIALIZE, systemIdentifier, 0)
                        .commit());
    }

    @Override
    public boolean acquireLeader(String name, long leaseId) {
        return call("leader race", () -> {
            if (keys.containsKey(ClusterKeys.LEADER)) {
                return false;
            }
            requireLease(leaseId, "leader race");
            new Write().put(ClusterKeys.LEADER, name, leaseId).commit();
            return true;
        });
    }

    @Override
    public boolean releaseLeader(String name, long leaseId) {
        return call("leader release", () -> {
            Entry leader = keys.get(ClusterKeys.LEADER);
            if (leader == null || !leader.value().equals(name) || leader.leaseId() != leaseId) {
                return false;
            }
            new Write().delete(ClusterKeys.LEADER).commit();
            return true;
        });
    }

    @Override
    public boolean removeLeader(long modRevision) {
        return call("leader removal", () -> deleteAtRevision(ClusterKeys.LEADER, modRevision));
    }

    @Override
    public void publishMember(Member member, long leaseId) {
        putUnderLease("member update", ClusterKeys.member(member.name()), ClusterKeys.text(member), leaseId);
    }

    @Override
    public boolean removeMember(String name) {
        return call("member removal", () -> {
            Entry record = keys.get(ClusterKeys.member(name));
            if (record == null) {
                return false;
            }
            if (record.leaseId() != 0 && leases.containsKey(record.leaseId())) {
                revoke(record.leaseId());
            }
            new Write().delete(ClusterKeys.member(name)).commit();
            return true;
        });
    }

    @Override
    public boolean publishOptime(String leaderName, Optime optime) {
        String text = ClusterKeys.text(optime);
        return call("optime update", () -> writeIfLeader(leaderName, write -> write.put(ClusterKeys.OPTIME, text, 0)));
    }

    @Override
    public boolean compareAndSetConfig(long expectedRevision, DynamicConfig config) {
        String text = ClusterKeys.text(config);
        return call("config update", () -> {
            Entry current = keys.get(ClusterKeys.CONFIG);
            boolean unchanged = expectedRevision == 0
                    ? current == null
                    : current != null && current.modRevision() == expectedRevision;
            if (!unchanged) {
                return false;
            }
            new Write().put(ClusterKeys.CONFIG, text, 0).commit();
            return true;
        });
    }

    @Override
    public void appendHistory(HistoryEntry entry) {
        // One step under the lock: no other writer can come between the read and the write, so no retry is needed.
        run("history append", () -> {
            Optional<String> current =
                    Optional.ofNullable(keys.get(ClusterKeys.HISTORY)).map(Entry::value);
            new Write()
                    .put(ClusterKeys.HISTORY, ClusterKeys.appendedHistory(current, entry), 0)
                    .commit();
        });
    }

    @Override
    public AutoCloseable watch(Runnable onChange) {
        requireNonNull(onChange, "onChange is null");
        return register(true, changed -> onChange.run());
    }

    @Override
    public boolean requestSwitchover(Switchover switchover, Duration ttl) {
        String text = ClusterKeys.text(switchover);
        return call("switchover request", () -> {
            // As EtcdDcs does: the lease is granted before the compare, so a refused request leaves one to expire.
            long leaseId = ttl == null ? 0 : grant(ttl);
            if (keys.containsKey(ClusterKeys.SWITCHOVER)) {
                return false;
            }
            new Write().put(ClusterKeys.SWITCHOVER, text, leaseId).commit();
            return true;
        });
    }

    @Override
    public boolean publishSync(String leaderName, Optional<SyncState> sync) {
        Optional<String> text = sync.map(ClusterKeys::text);
        return call(
                "sync update",
                () -> writeIfLeader(
                        leaderName,
                        write -> text.ifPresentOrElse(
                                value -> write.put(ClusterKeys.SYNC, value, 0), () -> write.delete(ClusterKeys.SYNC))));
    }

    @Override
    public boolean clearSwitchover(long modRevision) {
        return call("switchover clear", () -> deleteAtRevision(ClusterKeys.SWITCHOVER, modRevision));
    }

    @Override
    public void publishRouter(RouterStatus status, long leaseId) {
        beforeRouterPublish.accept(status);
        putUnderLease("router update", ClusterKeys.router(status.id()), ClusterKeys.text(status), leaseId);
    }

    @Override
    public List<RouterStatus> readRouters() {
        return call("router read", () -> {
            Map<String, String> values = new TreeMap<>();
            keys.subMap(ClusterKeys.ROUTERS, ClusterKeys.ROUTERS + '\uffff')
                    .forEach((name, entry) -> values.put(name, entry.value()));
            return ClusterKeys.routers(values);
        });
    }

    @Override
    public AutoCloseable watchAll(Consumer<List<String>> onChange) {
        requireNonNull(onChange, "onChange is null");
        return register(false, onChange);
    }

    /** Closes every watch; every later call throws {@link DcsException}. */
    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            watchers.forEach(watcher -> watcher.open = false);
            watchers.clear();
        }
    }

    // ---- the store

    /** Runs one request under the lock, as etcd applies one request at a time, then delivers what it changed. */
    private <T> T call(String what, Supplier<T> request) {
        try {
            synchronized (lock) {
                expireDue();
                if (closed) {
                    throw new DcsException("fake DCS is closed: " + what + " not sent", null);
                }
                if (unreachable) {
                    throw new DcsException("fake DCS is unreachable (cut off by the test): " + what + " failed", null);
                }
                return request.get();
            }
        } finally {
            deliver();
        }
    }

    private void run(String what, Runnable request) {
        call(what, () -> {
            request.run();
            return null;
        });
    }

    /** Writes {@code text} into {@code key} under {@code leaseId}, which must be alive (as etcd requires). */
    private void putUnderLease(String what, String key, String text, long leaseId) {
        run(what, () -> {
            requireLease(leaseId, what);
            new Write().put(key, text, leaseId).commit();
        });
    }

    private long grant(Duration ttl) {
        long seconds = ClusterKeys.leaseSeconds(ttl);
        long id = nextLeaseId++;
        leases.put(id, new Lease(seconds, deadline(seconds)));
        return id;
    }

    private long deadline(long ttlSeconds) {
        return clock.nanoTime() + Duration.ofSeconds(ttlSeconds).toNanos();
    }

    /** Deletes {@code key} if it was last written at {@code modRevision}, as a compare-and-delete; false if not. */
    private boolean deleteAtRevision(String key, long modRevision) {
        Entry entry = keys.get(key);
        if (entry == null || entry.modRevision() != modRevision) {
            return false;
        }
        new Write().delete(key).commit();
        return true;
    }

    /** Commits what {@code change} adds to one write if the leader key names {@code leaderName}; false if not. */
    private boolean writeIfLeader(String leaderName, Consumer<Write> change) {
        if (!leaderIs(leaderName)) {
            return false;
        }
        Write write = new Write();
        change.accept(write);
        write.commit();
        return true;
    }

    private boolean leaderIs(String name) {
        Entry leader = keys.get(ClusterKeys.LEADER);
        return leader != null && leader.value().equals(name);
    }

    /** Lease 0 is no lease; any other must be alive, or etcd refuses the write. */
    private void requireLease(long leaseId, String what) {
        if (leaseId != 0 && !leases.containsKey(leaseId)) {
            throw new DcsException(
                    "fake DCS refused " + what + ": etcdserver: requested lease not found (lease " + leaseId + ")",
                    null);
        }
    }

    private void timePassed() {
        synchronized (lock) {
            expireDue();
        }
        deliver();
    }

    private void expireDue() {
        long now = clock.nanoTime();
        List<Long> due = leases.entrySet().stream()
                .filter(lease -> now - lease.getValue().deadlineNanos() >= 0)
                .sorted(Comparator.comparingLong((Map.Entry<Long, Lease> lease) ->
                                lease.getValue().deadlineNanos())
                        .thenComparing(Map.Entry::getKey))
                .map(Map.Entry::getKey)
                .toList();
        due.forEach(this::revoke);
    }

    private void revoke(long leaseId) {
        leases.remove(leaseId);
        Write write = new Write();
        keys.entrySet().stream()
                .filter(key -> key.getValue().leaseId() == leaseId)
                .map(Map.Entry::getKey)
                .toList()
                .forEach(write::delete);
        write.commit();
    }

    /** The changes of one revision: etcd applies a transaction, or a lease's deletions, as one. */
    private final class Write {
        private final long at = revision + 1;
        private final List<String> changed = new ArrayList<>();

        Write put(String key, String value, long leaseId) {
            keys.put(key, new Entry(value, leaseId, at));
            changed.add(key);
            return this;
        }

        Write delete(String key) {
            if (keys.remove(key) != null) {
                changed.add(key);
            }
            return this;
        }

        void commit() {
            if (!changed.isEmpty()) {
                revision = at;
                undelivered.add(new Change(at, List.copyOf(changed)));
            }
        }
    }

    // ---- watches

    private final class Watcher implements AutoCloseable {
        private final boolean leaderOnly;
        private final Consumer<List<String>> onChange;
        private final long after;
        private volatile boolean open = true;

        Watcher(boolean leaderOnly, Consumer<List<String>> onChange, long after) {
            this.leaderOnly = leaderOnly;
            this.onChange = onChange;
            this.after = after;
        }

        boolean wants(Change change) {
            return change.revision() > after && (!leaderOnly || change.keys().contains(ClusterKeys.LEADER));
        }

        @Override
        public void close() {
            synchronized (lock) {
                open = false;
                watchers.remove(this);
            }
        }
    }

    private AutoCloseable register(boolean leaderOnly, Consumer<List<String>> onChange) {
        synchronized (lock) {
            if (closed) {
                throw new DcsException("fake DCS is closed: watch not started", null);
            }
            Watcher watcher = new Watcher(leaderOnly, onChange, revision);
            watchers.add(watcher);
            return watcher;
        }
    }

    /**
     * Delivers queued changes in revision order, outside the lock. One thread delivers at a time; a thread that
     * finds another delivering leaves its change to it, and the check after clearing the flag makes sure a change
     * queued in between is not left behind.
     */
    private void deliver() {
        while (delivering.compareAndSet(false, true)) {
            try {
                for (Runnable delivery = nextDelivery(); delivery != null; delivery = nextDelivery()) {
                    delivery.run();
                }
            } finally {
                delivering.set(false);
            }
            synchronized (lock) {
                if (unreachable || undelivered.isEmpty()) {
                    return;
                }
            }
        }
    }

    private Runnable nextDelivery() {
        synchronized (lock) {
            if (unreachable || undelivered.isEmpty()) {
                return null;
            }
            Change change = undelivered.remove();
            List<Watcher> targets =
                    watchers.stream().filter(watcher -> watcher.wants(change)).toList();
            return () -> targets.forEach(watcher -> callBack(watcher, change));
        }
    }

    private static void callBack(Watcher watcher, Change change) {
        if (!watcher.open) {
            return;
        }
        try {
            watcher.onChange.accept(change.keys());
        } catch (RuntimeException e) {
            // As with jetcd's listeners, a callback that throws does not end its watch or anyone else's.
            StackTraceElement[] where = e.getStackTrace();
            System.err.println("fake DCS: a watch callback threw on revision " + change.revision()
                    + " (its watch goes on): " + e + (where.length > 0 ? " at " + where[0] : ""));
        }
    }
}
