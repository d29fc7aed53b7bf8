package io.warden.postgres;

import io.warden.cluster.Lsn;
import io.warden.common.Processes.Result;
import io.warden.postgres.PostgresCtl.LocalServer;
import io.warden.postgres.PostgresCtl.Upstream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A postgres for agent unit tests: a small state machine of the data directory (empty, stopped, running as primary
 * or replica), the timeline and the WAL position, with every side effect recorded in {@link #actions()} in order
 * ("start", "promote", "kill", ...). Written by hand: it is only as clever as the tests that use it need. The
 * simulation's {@code SimPostgres} extends it with what one node cannot know alone (its WAL among the others').
 */
public class FakePostgres implements Postgres {
    private DataState data = DataState.EMPTY;
    private long timeline;
    private Lsn lsn = Lsn.ZERO;
    private boolean streaming;
    private Optional<Upstream> upstream = Optional.empty();
    private boolean standby;
    private long pid;
    private long nextPid = 4000;
    private final Map<String, String> settings = new HashMap<>();
    /** Where replication may come from: as last written to pg_hba.conf, and as the running postgres loaded it. */
    private java.util.Set<String> memberHosts = java.util.Set.of();

    private java.util.Set<String> loadedMemberHosts = java.util.Set.of();
    private final Map<String, Boolean> slots = new HashMap<>();
    private final List<String> actions = new ArrayList<>();
    private RuntimeException observeFailure;
    private final List<String> threads = new ArrayList<>();
    private volatile java.util.concurrent.CountDownLatch observeGate;
    private volatile java.util.concurrent.CountDownLatch observeBlocked;

    /** A stopped primary's data directory on {@code timeline} at {@code lsn}. */
    public static FakePostgres stoppedPrimary(long timeline, String lsn) {
        FakePostgres postgres = new FakePostgres();
        postgres.data = DataState.STOPPED_PRIMARY;
        postgres.timeline = timeline;
        postgres.lsn = Lsn.parse(lsn);
        return postgres;
    }

    /** A replica streaming from {@code upstream} on {@code timeline}, at {@code lsn}. */
    public static FakePostgres streamingReplica(long timeline, String lsn, Upstream upstream) {
        FakePostgres postgres = new FakePostgres();
        postgres.data = DataState.RUNNING_REPLICA;
        postgres.standby = true;
        postgres.timeline = timeline;
        postgres.lsn = Lsn.parse(lsn);
        postgres.streaming = true;
        postgres.upstream = Optional.of(upstream);
        postgres.pid = postgres.nextPid++;
        return postgres;
    }

    /** The hosts the running postgres lets replicate (pg_hba.conf as of its last start or reload). */
    public synchronized java.util.Set<String> loadedMemberHosts() {
        return loadedMemberHosts;
    }

    public synchronized List<String> actions() {
        return List.copyOf(actions);
    }

    /** The thread that performed each of {@link #actions()}, in the same order. */
    public synchronized List<String> actionThreads() {
        return List.copyOf(threads);
    }

    /**
     * The next {@link #observe} waits until {@code gate} opens: a cycle stuck in a long action. The latch returned
     * opens once that observation has begun waiting.
     */
    public java.util.concurrent.CountDownLatch blockNextObserve(java.util.concurrent.CountDownLatch gate) {
        observeBlocked = new java.util.concurrent.CountDownLatch(1);
        observeGate = gate;
        return observeBlocked;
    }

    private void record(String action) {
        actions.add(action);
        threads.add(Thread.currentThread().getName());
    }

    public synchronized DataState data() {
        return data;
    }

    public synchronized long timeline() {
        return timeline;
    }

    /** The WAL position moves (writes on a primary, replay on a replica). */
    public synchronized void advanceTo(String position) {
        lsn = Lsn.parse(position);
    }

    /** The postmaster dies (a crash, an OOM kill). */
    public synchronized void crash() {
        stopWith("crash");
    }

    private void stopWith(String action) {
        record(action);
        if (data == DataState.RUNNING_PRIMARY) {
            data = DataState.STOPPED_PRIMARY;
        } else if (data == DataState.RUNNING_REPLICA) {
            data = DataState.STOPPED_REPLICA;
        }
        streaming = false;
        pid = 0;
    }

    /** The next {@link #observe} throws {@code failure}: a facade that broke its "never throws" promise. */
    public synchronized void failNextObserve(RuntimeException failure) {
        observeFailure = failure;
    }

    @Override
    public LocalState observe() {
        java.util.concurrent.CountDownLatch gate = observeGate;
        if (gate != null) {
            observeGate = null;
            observeBlocked.countDown();
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return observeUnblocked();
    }

    private synchronized LocalState observeUnblocked() {
        if (observeFailure != null) {
            RuntimeException failure = observeFailure;
            observeFailure = null;
            throw failure;
        }
        return new LocalState(
                data,
                data == DataState.EMPTY ? 0 : timeline,
                lsn,
                streaming,
                upstream.map(u -> u.host() + ":" + u.port()).orElse(""),
                pid);
    }

    @Override
    public synchronized boolean hasData() {
        return data != DataState.EMPTY;
    }

    @Override
    public synchronized Optional<Long> postmasterPid() {
        return pid == 0 ? Optional.empty() : Optional.of(pid);
    }

    @Override
    public synchronized String configuredSetting(String name) {
        return settings.getOrDefault(name, "");
    }

    @Override
    public void prepare(String superuserPassword, String replicationPassword) {}

    @Override
    public synchronized void initdb(String superuserPassword) {
        record("initdb");
        data = DataState.STOPPED_PRIMARY;
        timeline = 1;
        lsn = Lsn.parse("0/1000000");
    }

    @Override
    public synchronized boolean writeConfig(
            LocalServer node,
            Map<String, String> parameters,
            Optional<Upstream> upstream,
            java.util.Set<String> memberHosts) {
        boolean changed = !parameters.equals(Map.copyOf(settings))
                || !this.upstream.equals(upstream)
                || !this.memberHosts.equals(memberHosts);
        this.memberHosts = java.util.Set.copyOf(memberHosts);
        settings.clear();
        settings.putAll(parameters);
        this.upstream = upstream;
        standby = upstream.isPresent() || node.standby();
        if (data == DataState.STOPPED_PRIMARY && standby) {
            data = DataState.STOPPED_REPLICA;
        } else if (data == DataState.STOPPED_REPLICA && !standby) {
            data = DataState.STOPPED_PRIMARY;
        }
        return changed;
    }

    @Override
    public synchronized Result start(Duration timeout) {
        return startNoWait();
    }

    @Override
    public synchronized Result startNoWait() {
        record(standby ? "start replica" : "start primary");
        loadedMemberHosts = memberHosts;
        data = standby ? DataState.RUNNING_REPLICA : DataState.RUNNING_PRIMARY;
        streaming = standby && upstream.isPresent();
        pid = nextPid++;
        return ok();
    }

    @Override
    public synchronized Result stop(String mode, Duration timeout) {
        stopWith("stop " + mode);
        return ok();
    }

    @Override
    public synchronized Result promote(Duration timeout) {
        record("promote");
        data = DataState.RUNNING_PRIMARY;
        standby = false;
        streaming = false;
        upstream = Optional.empty();
        timeline++;
        return ok();
    }

    private boolean streamsOnReload = true;

    /** Whether a reload that points the replica at an upstream has it streaming at once (default) or not yet. */
    public synchronized void streamsOnReload(boolean value) {
        streamsOnReload = value;
    }

    /** The WAL receiver stops (its upstream is gone) or connects again. */
    public synchronized void streaming(boolean value) {
        streaming = value;
    }

    @Override
    public synchronized Result reload() {
        record("reload");
        loadedMemberHosts = memberHosts;
        if (data == DataState.RUNNING_REPLICA) {
            streaming = upstream.isPresent() && streamsOnReload;
        }
        return ok();
    }

    @Override
    public synchronized Result baseBackup(Upstream from, String name, Duration timeout) {
        record("base backup from " + from.host() + ":" + from.port());
        if (baseBackupRefusals > 0) {
            baseBackupRefusals--;
            return new Result(
                    List.of("pg_basebackup"),
                    1,
                    "pg_basebackup: error: connection to server failed: FATAL:  no pg_hba.conf entry for replication"
                            + " connection from host \"10.0.0.4\", user \"replicator\", SSL encryption");
        }
        if (baseBackupsFail) {
            return new Result(
                    List.of("pg_basebackup"),
                    1,
                    "pg_basebackup: error: connection to server failed: certificate does not match private key");
        }
        data = DataState.STOPPED_REPLICA;
        return ok();
    }

    @Override
    public synchronized Result rewind(Upstream from, Duration timeout) {
        record("rewind from " + from.host() + ":" + from.port());
        return rewindFails
                ? new Result(List.of("pg_rewind"), 1, "pg_rewind: fatal: could not find previous WAL record")
                : ok();
    }

    @Override
    public synchronized void removeData() {
        record("remove data");
        data = DataState.EMPTY;
        timeline = 0;
        lsn = Lsn.ZERO;
    }

    private long dataSize = 1L << 30;
    private long free = 10L << 30;
    private boolean rewindFails;

    /** The data directory takes {@code size} bytes and the file system has {@code available} free. */
    public synchronized void disk(long size, long available) {
        dataSize = size;
        free = available;
    }

    private boolean baseBackupsFail;
    private int baseBackupRefusals;

    /** The next {@code times} base backups are refused as the leader refuses a member its pg_hba.conf lacks yet. */
    public synchronized void refuseBaseBackups(int times) {
        baseBackupRefusals = times;
    }

    /** pg_basebackup fails from now on, leaving the data directory empty (a refused login, say). */
    public synchronized void failBaseBackups() {
        baseBackupsFail = true;
    }

    /** pg_basebackup works again. */
    public synchronized void mendBaseBackups() {
        baseBackupsFail = false;
    }

    /** pg_rewind fails from now on (a missing WAL file on the source, say). */
    public synchronized void failRewinds() {
        rewindFails = true;
    }

    @Override
    public synchronized DiskUsage diskUsage() {
        return new DiskUsage(dataSize, free);
    }

    @Override
    public synchronized Path setDataAside(String why) {
        record("set data aside");
        data = DataState.EMPTY;
        timeline = 0;
        lsn = Lsn.ZERO;
        return Path.of("/aside/" + why);
    }

    @Override
    public synchronized Optional<String> kill() {
        if (pid == 0) {
            return Optional.empty();
        }
        long killed = pid;
        stopWith("kill");
        return Optional.of("killed postmaster " + killed);
    }

    private Optional<String> dataProblem = Optional.empty();

    /** The data directory is unusable from now on, for {@code why} (empty: usable again). */
    public synchronized void dataProblem(Optional<String> why) {
        dataProblem = why;
    }

    @Override
    public synchronized Optional<String> dataProblem() {
        return dataProblem;
    }

    @Override
    public synchronized Checkpoint latestCheckpoint() {
        return new Checkpoint(lsn, lsn);
    }

    @Override
    public String systemIdentifier() {
        return "7300000000000000001";
    }

    @Override
    public synchronized void createAdmin(String verifier, String database) {
        record("create admin and database " + database);
    }

    @Override
    public synchronized void createWardenRoles(String password) {
        record("create replication role");
    }

    @Override
    public synchronized Map<String, Boolean> physicalSlots() {
        return Map.copyOf(slots);
    }

    @Override
    public synchronized void createSlot(String name) {
        slots.put(name, false);
    }

    @Override
    public synchronized void dropSlot(String name) {
        slots.remove(name);
    }

    private final Map<String, Standby> standbys = new java.util.LinkedHashMap<>();
    private boolean commitsWaitForStandbys = true;

    /** {@code name} streams from this primary as {@code syncState}, flushed to {@code flush}. */
    public synchronized void standby(String name, String syncState, String flush) {
        standbys.put(name, new Standby(name, "streaming", syncState, Lsn.parse(flush)));
    }

    /**
     * Whether a commit waits for the synchronous standbys (then they flush it before it returns) or returns at once
     * (the checkpointer has not yet set the flag after a reload: the standbys get it later).
     */
    public synchronized void commitsWait(boolean wait) {
        commitsWaitForStandbys = wait;
    }

    private boolean standbysFlushJustAfterTheCommit;
    private boolean standbysFlushWithinTheCommitsRoundTrip;

    /**
     * Faster still: the standbys flush a commit that did not wait before the same backend, in the same round trip,
     * reads pg_stat_replication (a standby on fast storage beats the few microseconds between the two statements).
     * Flush positions then prove nothing; only evidence that the checkpointer applied the reload does.
     */
    public synchronized void standbysFlushWithinTheCommitsRoundTrip(boolean fast) {
        standbysFlushWithinTheCommitsRoundTrip = fast;
    }

    private boolean flushOnNextRead;

    /**
     * Commits that do not wait still reach the standbys a moment later: a fast standby flushes a probe commit
     * between the COMMIT's return and the primary's next query, so any read of pg_stat_replication after the commit
     * shows it flushed, though the commit never waited for it.
     */
    public synchronized void standbysFlushJustAfterTheCommit(boolean fast) {
        standbysFlushJustAfterTheCommit = fast;
    }

    @Override
    public synchronized List<Standby> standbys() {
        if (flushOnNextRead) {
            flushOnNextRead = false;
            standbys.replaceAll((name, s) -> new Standby(name, s.state(), s.syncState(), lsn));
        }
        return List.copyOf(standbys.values());
    }

    /** Commits wait once the checkpointer has applied the reload: this fake's checkpoints time out until then. */
    @Override
    public synchronized boolean checkpointerApplied(Duration timeout) {
        record("checkpoint");
        return commitsWaitForStandbys;
    }

    @Override
    public synchronized Optional<ProbeCommit> probeCommit(Duration timeout) {
        record("probe commit");
        lsn = Lsn.parse(Long.toHexString((lsn.value() + 0x100) >>> 32) + "/"
                + Long.toHexString((lsn.value() + 0x100) & 0xFFFFFFFFL));
        if (commitsWaitForStandbys || standbysFlushWithinTheCommitsRoundTrip) {
            standbys.replaceAll(
                    (name, s) -> "sync".equals(s.syncState()) ? new Standby(name, s.state(), s.syncState(), lsn) : s);
        }
        ProbeCommit probe = new ProbeCommit(lsn, List.copyOf(standbys.values()));
        flushOnNextRead = !commitsWaitForStandbys && standbysFlushJustAfterTheCommit;
        return Optional.of(probe);
    }

    @Override
    public synchronized Lsn currentWalPosition() {
        return lsn;
    }

    @Override
    public synchronized Optional<Lsn> receivedPosition() {
        return data == DataState.RUNNING_REPLICA ? Optional.of(lsn) : Optional.empty();
    }

    @Override
    public Optional<ParameterValidator> parameterValidator() {
        return Optional.empty();
    }

    @Override
    public void checkpointOn(Upstream leader) {}

    @Override
    public WalCheck walGone(Upstream leader, Lsn resumeAt) {
        return WalCheck.UNKNOWN;
    }

    @Override
    public void close() {}

    private static Result ok() {
        return new Result(List.of("fake"), 0, "");
    }
}
