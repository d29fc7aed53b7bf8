package io.warden.sim;

import io.warden.agent.SyncPlanner;
import io.warden.cluster.Lsn;
import io.warden.common.Processes.Result;
import io.warden.postgres.DataState;
import io.warden.postgres.FakePostgres;
import io.warden.postgres.LocalState;
import io.warden.postgres.PostgresCtl.LocalServer;
import io.warden.postgres.PostgresCtl.Upstream;
import io.warden.postgres.ProbeCommit;
import io.warden.postgres.Standby;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One node's postgres in the simulation: a {@link FakePostgres} for the process and its files (data state, pid,
 * settings, slots), which it extends with what a single fake cannot know, its place among the others: the node's {@link Wal} and
 * timeline, which upstream it streams from, the standbys that stream from it, and which
 * {@code synchronous_standby_names} is in effect (the one loaded at the last start or reload, not the one last
 * written to the file).
 *
 * <p>Not modelled: the checkpointer's delay in applying a reload (commits here wait for the standbys named from the
 * reload on; SyncProbeTest covers that delay), replication slots holding WAL, and WAL recycling.
 */
final class SimPostgres extends FakePostgres {
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);

    final String name;
    final int port;
    private final Simulation world;
    Wal wal = Wal.EMPTY;
    long timeline;
    /** Set by the world's replication each tick: connected to its upstream and receiving its WAL. */
    boolean streaming;

    private Optional<Upstream> configuredUpstream = Optional.empty();
    /** The upstream postgres loaded at its last start or reload. */
    Optional<Upstream> upstream = Optional.empty();
    /** synchronous_standby_names as loaded at the last start or reload. */
    SyncPlanner.Configure waitsFor = new SyncPlanner.Configure(List.of(), false);

    private long probes;

    SimPostgres(String name, int port, Simulation world) {
        this.name = name;
        this.port = port;
        this.world = world;
    }

    boolean runningPrimary() {
        return data() == DataState.RUNNING_PRIMARY;
    }

    long pid() {
        return postmasterPid().orElse(0L);
    }

    /** The postmaster dies: a crash, or a kill from outside (the watchdog). */
    @Override
    public void crash() {
        super.crash();
        stopped();
    }

    /** Its commits still waiting fail with their connections: the world sees the pid gone. */
    private void stopped() {
        streaming = false;
    }

    private void loaded() {
        upstream = configuredUpstream;
        waitsFor = SyncPlanner.parse(configuredSetting("synchronous_standby_names"));
    }

    private static Result failed(String command, String why) {
        return new Result(List.of(command), 1, command + ": " + why);
    }

    @Override
    public LocalState observe() {
        LocalState seen = super.observe();
        if (seen.data() == DataState.EMPTY) {
            return seen;
        }
        return new LocalState(
                seen.data(),
                timeline,
                wal.lsn(),
                seen.data() == DataState.RUNNING_REPLICA && streaming,
                seen.upstream(),
                seen.postmasterPid());
    }

    @Override
    public void initdb(String superuserPassword) {
        super.initdb(superuserPassword);
        wal = Wal.EMPTY;
        timeline = 1;
    }

    @Override
    public boolean writeConfig(
            LocalServer node,
            Map<String, String> parameters,
            Optional<Upstream> upstream,
            java.util.Set<String> memberHosts) {
        configuredUpstream = upstream;
        return super.writeConfig(node, parameters, upstream, memberHosts);
    }

    @Override
    public Result start(Duration timeout) {
        return startNoWait();
    }

    @Override
    public Result startNoWait() {
        Result result = super.startNoWait();
        loaded();
        streaming = false;
        return result;
    }

    @Override
    public Result stop(String mode, Duration timeout) {
        Result result = super.stop(mode, timeout);
        stopped();
        return result;
    }

    @Override
    public Result promote(Duration timeout) {
        Result result = super.promote(timeout);
        // A new timeline after the highest this node knows of (its own: no WAL archive is modelled).
        timeline++;
        streaming = false;
        upstream = Optional.empty();
        configuredUpstream = Optional.empty();
        world.promoted(this);
        return result;
    }

    @Override
    public Result reload() {
        Result result = super.reload();
        loaded();
        return result;
    }

    @Override
    public Result baseBackup(Upstream from, String name, Duration timeout) {
        Optional<SimPostgres> source =
                world.postgresAt(from.port()).filter(s -> s.postmasterPid().isPresent());
        if (source.isEmpty() || !world.connected(this, source.get())) {
            return failed("pg_basebackup", "could not connect to server at port " + from.port());
        }
        Result result = super.baseBackup(from, name, timeout);
        wal = source.get().wal;
        timeline = source.get().timeline;
        return result;
    }

    @Override
    public Result rewind(Upstream from, Duration timeout) {
        Optional<SimPostgres> source =
                world.postgresAt(from.port()).filter(s -> s.postmasterPid().isPresent());
        if (source.isEmpty() || !world.connected(this, source.get())) {
            return failed("pg_rewind", "could not connect to server at port " + from.port());
        }
        Result result = super.rewind(from, timeout);
        // What pg_rewind leaves is the source's history up to the fork; replay brings the rest once it streams.
        wal = Wal.common(wal, source.get().wal);
        timeline = source.get().timeline;
        return result;
    }

    @Override
    public void removeData() {
        super.removeData();
        wal = Wal.EMPTY;
        timeline = 0;
    }

    @Override
    public Path setDataAside(String why) {
        Path aside = super.setDataAside(why);
        wal = Wal.EMPTY;
        timeline = 0;
        return aside;
    }

    @Override
    public Optional<String> kill() {
        Optional<String> killed = super.kill();
        stopped();
        return killed;
    }

    @Override
    public Checkpoint latestCheckpoint() {
        return new Checkpoint(wal.lsn(), wal.lsn());
    }

    @Override
    public List<Standby> standbys() {
        return world.standbysOf(this);
    }

    @Override
    public Lsn currentWalPosition() {
        return wal.lsn();
    }

    @Override
    public boolean checkpointerApplied(Duration timeout) {
        return true;
    }

    /**
     * A probe commit: one more record. With standbys to wait for, it waits (at most the timeout) until they have
     * flushed it; the connected ones flush it within that wait.
     */
    @Override
    public Optional<ProbeCommit> probeCommit(Duration timeout) {
        wal = wal.append(name + "-probe-" + ++probes);
        Wal probe = wal;
        world.replicateFrom(this);
        if (!world.acknowledged(this, probe)) {
            world.pass(PROBE_TIMEOUT);
            return Optional.empty();
        }
        return Optional.of(new ProbeCommit(probe.lsn(), standbys()));
    }

    @Override
    public Optional<Lsn> receivedPosition() {
        return data() == DataState.RUNNING_REPLICA ? Optional.of(wal.lsn()) : Optional.empty();
    }
}
