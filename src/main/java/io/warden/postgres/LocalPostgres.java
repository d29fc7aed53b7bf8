package io.warden.postgres;

import io.warden.cluster.Lsn;
import io.warden.common.Processes.Result;
import io.warden.postgres.PostgresCtl.LocalServer;
import io.warden.postgres.PostgresCtl.Upstream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The real {@link Postgres}: {@link PostgresCtl} for the processes and files, one SQL connection for the HA loop and
 * one for the REST API (a connection is not shared across threads), and short-lived connections to the leader.
 */
public final class LocalPostgres implements Postgres {
    private static final Logger LOG = LoggerFactory.getLogger(LocalPostgres.class);

    private final PostgresCtl ctl;
    private final Path dataDir;
    private final String superuserPassword;
    private final int port;
    private final Sql sql;
    private final Sql apiSql;

    public LocalPostgres(PostgresCtl ctl, int port, String superuserPassword) {
        this.ctl = ctl;
        this.dataDir = ctl.dataDir();
        this.superuserPassword = superuserPassword;
        this.port = port;
        this.sql = local("postgres");
        this.apiSql = local("postgres");
    }

    /**
     * A session on this node's own postgres in {@code database}, as the superuser: by the agent's certificate when the
     * node has TLS (pg_hba.conf takes the superuser from the loopback by certificate), by password without.
     */
    private Sql local(String database) {
        return ctl.superuserCertificate()
                .map(pair -> Sql.byCertificate(
                        "127.0.0.1", port, database, "postgres", ctl.caFile().orElseThrow(), pair))
                .orElseGet(() -> new Sql("127.0.0.1", port, database, "postgres", superuserPassword, ctl.caFile()));
    }

    /**
     * Refuses a data directory this node must not touch: owned by someone else than who runs postgres, or not empty
     * and holding no postgres cluster. Nothing is changed either way.
     *
     * @param osUser who runs postgres; null for the current user
     */
    public static void checkDataDirectory(Path data, String osUser) {
        try {
            if (!Files.exists(data)) {
                return;
            }
            String owner = Files.getOwner(data).getName();
            String expected = osUser != null ? osUser : System.getProperty("user.name");
            if (!owner.equals(expected)) {
                throw new io.warden.common.WardenException(
                        "data directory " + data + " is owned by '" + owner + "', not by '" + expected
                                + "' who runs postgres; nothing was changed",
                        "use another data_dir, or if this directory is really this node's: chown -R " + expected + " "
                                + data);
            }
            try (var entries = Files.list(data)) {
                if (entries.findAny().isPresent() && !Files.exists(data.resolve("PG_VERSION"))) {
                    throw new io.warden.common.WardenException(
                            "data directory " + data
                                    + " is not empty and holds no postgres cluster; nothing was changed",
                            "point data_dir at an empty or missing directory");
                }
            }
        } catch (IOException e) {
            throw new io.warden.common.WardenException(
                    "cannot inspect data directory " + data + ": " + e.getMessage(), "check its permissions");
        }
    }

    @Override
    public LocalState observe() {
        if (!ctl.hasData()) {
            return LocalState.of(DataState.EMPTY);
        }
        Optional<Long> pid = ctl.postmasterPid();
        boolean standby = ctl.isStandby();
        if (pid.isEmpty()) {
            return LocalState.of(standby ? DataState.STOPPED_REPLICA : DataState.STOPPED_PRIMARY);
        }
        String upstream = configuredUpstream();
        try {
            Map<String, Object> row = sql.query("""
                    select pg_is_in_recovery() as recovery,
                      case when pg_is_in_recovery() then null else pg_current_wal_lsn()::text end as current,
                      case when pg_is_in_recovery() then null else substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) end as tli_hex,
                      pg_last_wal_receive_lsn()::text as received,
                      pg_last_wal_replay_lsn()::text as replayed,
                      (select status from pg_stat_wal_receiver) as receiver,
                      (select received_tli from pg_stat_wal_receiver) as received_tli,
                      (select timeline_id from pg_control_checkpoint()) as checkpoint_tli,
                      (select min_recovery_end_timeline from pg_control_recovery()) as recovery_tli,
                      exists (select 1 from pg_settings where pending_restart) as pending_restart
                    """).getFirst();
            boolean pendingRestart = (Boolean) row.get("pending_restart");
            boolean recovery = (Boolean) row.get("recovery");
            if (!recovery) {
                return new LocalState(
                        DataState.RUNNING_PRIMARY,
                        Long.parseLong((String) row.get("tli_hex"), 16),
                        Lsn.parse((String) row.get("current")),
                        false,
                        "",
                        pid.get(),
                        pendingRestart);
            }
            Lsn received = Lsn.parse((String) row.get("received"));
            Lsn replayed = Lsn.parse((String) row.get("replayed"));
            long timeline = replicaTimeline(pid.get(), row);
            return new LocalState(
                    DataState.RUNNING_REPLICA,
                    timeline,
                    received.compareTo(replayed) > 0 ? received : replayed,
                    "streaming".equals(row.get("receiver")),
                    upstream,
                    pid.get(),
                    pendingRestart);
        } catch (SQLException | RuntimeException e) {
            // Starting up or shutting down: judge by the data directory. Treating a primary we cannot query as
            // running keeps the fencing rule in force for it.
            return new LocalState(
                    standby ? DataState.RUNNING_REPLICA : DataState.RUNNING_PRIMARY,
                    0,
                    Lsn.ZERO,
                    false,
                    upstream,
                    pid.get());
        }
    }

    /** The postmaster whose timeline {@link #highestTimeline} is for. */
    private long timelineOfPid;

    private long highestTimeline;

    /**
     * The timeline a running replica is on. While its WAL receiver streams, the one it receives; once the upstream
     * is gone the receiver's row is empty, and the control file's checkpoint timeline may be older (no restartpoint
     * since the switch): a replica that followed a promotion would then look like it was on the old timeline, and
     * never race. A replica's timeline only moves forward while its postmaster runs, so the highest seen for this
     * postmaster counts.
     */
    private long replicaTimeline(long postmasterPid, Map<String, Object> row) {
        long seen = 0;
        for (String column : List.of("received_tli", "checkpoint_tli", "recovery_tli")) {
            if (row.get(column) instanceof Number number) {
                seen = Math.max(seen, number.longValue());
            }
        }
        if (timelineOfPid != postmasterPid) {
            timelineOfPid = postmasterPid;
            highestTimeline = 0;
        }
        highestTimeline = Math.max(highestTimeline, seen);
        return highestTimeline;
    }

    /** host:port of the upstream in the primary_conninfo the agent last wrote, empty when none. */
    private String configuredUpstream() {
        String host = "";
        String port = "";
        for (String token : configuredSetting("primary_conninfo").split(" ")) {
            if (token.startsWith("host=")) {
                host = token.substring("host=".length());
            } else if (token.startsWith("port=")) {
                port = token.substring("port=".length());
            }
        }
        return host.isEmpty() ? "" : host + ":" + port;
    }

    @Override
    public String configuredSetting(String name) {
        try {
            for (String line : Files.readAllLines(dataDir.resolve(PostgresCtl.NODE_CONF))) {
                String prefix = name + " = '";
                if (line.startsWith(prefix) && line.endsWith("'")) {
                    return line.substring(prefix.length(), line.length() - 1).replace("''", "'");
                }
            }
        } catch (IOException e) {
            // No config yet.
        }
        return "";
    }

    @Override
    public boolean hasData() {
        return ctl.hasData();
    }

    @Override
    public Optional<Long> postmasterPid() {
        return ctl.postmasterPid();
    }

    @Override
    public void prepare(String superuserPassword, String replicationPassword) {
        ctl.prepare(superuserPassword, replicationPassword);
    }

    @Override
    public void initdb(String superuserPassword) {
        systemIdentifier = null;
        ctl.initdb(superuserPassword);
    }

    @Override
    public boolean writeConfig(
            LocalServer node,
            Map<String, String> parameters,
            Optional<Upstream> upstream,
            java.util.Set<String> memberHosts) {
        return ctl.writeConfig(node, parameters, upstream, memberHosts);
    }

    @Override
    public Result start(Duration timeout) {
        return ctl.start(timeout);
    }

    @Override
    public Result startNoWait() {
        return ctl.startNoWait();
    }

    @Override
    public Result stop(String mode, Duration timeout) {
        return ctl.stop(mode, timeout);
    }

    @Override
    public Result promote(Duration timeout) {
        return ctl.promote(timeout);
    }

    @Override
    public Result reload() {
        return ctl.reload();
    }

    @Override
    public Result baseBackup(Upstream upstream, String name, Duration timeout) {
        systemIdentifier = null;
        return ctl.baseBackup(upstream, name, timeout);
    }

    @Override
    public Result rewind(Upstream upstream, Duration timeout) {
        return ctl.rewind(upstream, timeout);
    }

    @Override
    public void removeData() {
        systemIdentifier = null;
        ctl.removeData();
    }

    @Override
    public DiskUsage diskUsage() {
        return new DiskUsage(dataSizeBytes(), freeBytes());
    }

    private long dataSizeBytes() {
        try (var files = Files.walk(dataDir)) {
            return files.filter(Files::isRegularFile)
                    .mapToLong(f -> {
                        try {
                            return Files.size(f);
                        } catch (IOException e) {
                            return 0;
                        }
                    })
                    .sum();
        } catch (IOException | java.io.UncheckedIOException e) {
            // Unknown: as if it were huge, so nothing relies on room that may not be there.
            return Long.MAX_VALUE;
        }
    }

    private long freeBytes() {
        try {
            return Files.getFileStore(dataDir.toAbsolutePath().getParent()).getUsableSpace();
        } catch (IOException e) {
            return 0;
        }
    }

    @Override
    public Path setDataAside(String why) {
        systemIdentifier = null;
        Path aside = dataDir.resolveSibling(dataDir.getFileName() + "." + why + "-" + System.currentTimeMillis());
        try {
            Files.move(dataDir, aside, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new io.warden.common.WardenException(
                    "cannot move " + dataDir + " aside to " + aside + ": " + e.getMessage(),
                    "check the permissions of " + dataDir.getParent());
        }
        return aside;
    }

    @Override
    public Optional<String> kill() {
        return Fence.kill(dataDir, ctl.cgroup());
    }

    @Override
    public Checkpoint latestCheckpoint() {
        return ctl.latestCheckpoint();
    }

    @Override
    public Optional<String> dataProblem() {
        return ctl.dataProblem();
    }

    /** Read from the control file once per data directory: it never changes while the directory lives. */
    private volatile String systemIdentifier;

    /** Empty when it cannot be read (no control file yet, a broken one): never an exception in an HA cycle. */
    @Override
    public String systemIdentifier() {
        String known = systemIdentifier;
        if (known == null) {
            try {
                known = ctl.systemIdentifier();
            } catch (RuntimeException e) {
                LOG.debug("cannot read the system identifier: " + e.getMessage());
                return "";
            }
            if (known.equals("unknown") || known.equals("0")) {
                // A zeroed or corrupt control file says 0: not another cluster's data, but unreadable data.
                return "";
            }
            systemIdentifier = known;
        }
        return known;
    }

    @Override
    public void createWardenRoles(String password) throws SQLException {
        // No superuser: a superuser's replication connection could write files on the primary (BASE_BACKUP with a
        // server target). pg_hba.conf lets it in only for replication, only from the members, and with TLS only by
        // its certificate; admin can neither become a member of it nor signal its walsenders.
        sql.execute("CREATE ROLE replicator WITH NOSUPERUSER REPLICATION LOGIN PASSWORD " + Sql.literal(password));
        // What agents on other nodes need and no more: CHECKPOINT (pg_checkpoint), the WAL directory (pg_monitor's
        // pg_ls_waldir) and the four functions pg_rewind's source must allow (its documented grants). No password:
        // with TLS it logs in by its certificate alone, and without TLS it is not used.
        sql.execute("CREATE ROLE warden_peer WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS");
        sql.execute("GRANT pg_monitor, pg_checkpoint TO warden_peer");
        for (String function : List.of(
                "pg_ls_dir(text, boolean, boolean)",
                "pg_stat_file(text, boolean)",
                "pg_read_binary_file(text)",
                "pg_read_binary_file(text, bigint, bigint, boolean)")) {
            sql.execute("GRANT EXECUTE ON FUNCTION pg_catalog." + function + " TO warden_peer");
        }
    }

    @Override
    public void createAdmin(String verifier, String database) throws SQLException {
        if (!verifier.startsWith("SCRAM-SHA-256$")) {
            throw new IllegalArgumentException("the admin password must reach postgres as a SCRAM verifier");
        }
        // No superuser, no role creation (before postgres 16 CREATEROLE can grant itself any non-superuser role,
        // pg_execute_server_program included), no replication, no row-security bypass; reading and writing every
        // table, monitoring and CHECKPOINT through the predefined roles. Not pg_signal_backend: on postgres 15 it
        // also reaches the processes that have no role (the autovacuum and logical replication launchers, background
        // workers). Admin ends the sessions of the roles it made as their member.
        sql.execute("CREATE ROLE admin WITH LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION NOBYPASSRLS"
                + " PASSWORD " + Sql.literal(verifier));
        sql.execute("GRANT pg_monitor, pg_read_all_data, pg_write_all_data, pg_checkpoint TO admin");
        // Its own database, named after the cluster; postgres stays the superuser's, the agents' maintenance one.
        sql.execute("CREATE DATABASE " + Sql.identifier(database) + " OWNER admin");
        try (Sql inDatabase = local(database)) {
            for (String statement : RoleFunctions.STATEMENTS) {
                inDatabase.execute(statement);
            }
            for (String statement : ExtensionRefusal.STATEMENTS) {
                inDatabase.execute(statement);
            }
        }
        // template1 last: a database made from it after this has the trigger, and none made before has the schema.
        for (String other : List.of("postgres", "template1")) {
            try (Sql inDatabase = local(other)) {
                for (String statement : ExtensionRefusal.STATEMENTS) {
                    inDatabase.execute(statement);
                }
            }
        }
    }

    @Override
    public Map<String, Boolean> physicalSlots() throws SQLException {
        Map<String, Boolean> slots = new HashMap<>();
        for (Map<String, Object> row :
                sql.query("select slot_name, active from pg_replication_slots where slot_type = 'physical'")) {
            slots.put((String) row.get("slot_name"), (Boolean) row.get("active"));
        }
        return slots;
    }

    @Override
    public void createSlot(String name) throws SQLException {
        sql.query("select pg_create_physical_replication_slot(" + Sql.literal(name) + ", true)");
    }

    @Override
    public void dropSlot(String name) throws SQLException {
        sql.query("select pg_drop_replication_slot(" + Sql.literal(name) + ")");
    }

    @Override
    public List<Standby> standbys() throws SQLException {
        List<Standby> standbys = new ArrayList<>();
        for (Map<String, Object> row : sql.query(
                "select application_name, state, sync_state, coalesce(flush_lsn, '0/0')::text as flush from pg_stat_replication")) {
            standbys.add(new Standby(
                    (String) row.get("application_name"),
                    (String) row.get("state"),
                    (String) row.get("sync_state"),
                    Lsn.parse((String) row.get("flush"))));
        }
        return standbys;
    }

    @Override
    public Lsn currentWalPosition() throws SQLException {
        return Lsn.parse((String)
                sql.query("select pg_current_wal_lsn()::text as lsn").getFirst().get("lsn"));
    }

    @Override
    public boolean checkpointerApplied(Duration timeout) throws SQLException {
        return sql.twoCheckpoints(timeout);
    }

    @Override
    public Optional<ProbeCommit> probeCommit(Duration timeout) throws SQLException {
        return sql.probeCommit(timeout);
    }

    @Override
    public synchronized Optional<Lsn> receivedPosition() {
        try {
            Map<String, Object> row = apiSql.query("select greatest(coalesce(pg_last_wal_receive_lsn(), '0/0'),"
                            + " coalesce(pg_last_wal_replay_lsn(), '0/0'))::text as lsn")
                    .getFirst();
            return Optional.of(Lsn.parse((String) row.get("lsn")));
        } catch (SQLException | RuntimeException e) {
            return Optional.empty();
        }
    }

    @Override
    public synchronized Optional<ParameterValidator> parameterValidator() {
        // Twice: the first attempt after postgres restarted finds the kept connection broken (and drops it).
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                return Optional.of(ParameterValidator.load(apiSql));
            } catch (SQLException | RuntimeException e) {
                LOG.debug("cannot read pg_settings: " + e.getMessage());
            }
        }
        return Optional.empty();
    }

    /**
     * A session on another node: as warden_peer by its certificate when the node has TLS, as the superuser only on
     * a deployment without it.
     */
    private Sql onPeer(Upstream node) {
        return ctl.peerCertificate()
                .map(pair -> Sql.byCertificate(
                        node.host(),
                        node.port(),
                        "postgres",
                        "warden_peer",
                        ctl.caFile().orElseThrow(),
                        pair))
                .orElseGet(() -> new Sql(node.host(), node.port(), "postgres", superuserPassword, ctl.caFile()));
    }

    @Override
    public void checkpointOn(Upstream leader) throws SQLException {
        try (Sql leaderSql = onPeer(leader)) {
            leaderSql.execute("CHECKPOINT");
        }
    }

    @Override
    public WalCheck walGone(Upstream leader, Lsn resumeAt) throws SQLException {
        Optional<String> refused = WalRefusals.lastRefused(ctl.logFile());
        try (Sql leaderSql = onPeer(leader)) {
            // WAL file names end in the segment number as fixed-width hex, so they compare as text across
            // timelines; pg_walfile_name names the segment before a boundary, hence the one byte.
            Map<String, Object> row = leaderSql
                    .query("select"
                            + " (select min(substr(name, 9)) from pg_ls_waldir() where name ~ '^[0-9A-F]{24}$') as oldest,"
                            + " substr(pg_walfile_name(" + Sql.literal(resumeAt.toString())
                            + "::pg_lsn + 1), 9) as needed,"
                            + " exists (select 1 from pg_ls_waldir() where name = "
                            + Sql.literal(refused.orElse("")) + ") as refused_held")
                    .getFirst();
            String oldest = (String) row.get("oldest");
            String needed = (String) row.get("needed");
            if (oldest == null || needed == null) {
                return WalCheck.UNKNOWN;
            }
            boolean behindOldest = needed.compareTo(oldest) < 0;
            // The walsender refused that very file, and the leader does not hold it now: it never will again.
            boolean refusedAndAbsent = refused.isPresent() && !((Boolean) row.get("refused_held"));
            return new WalCheck(oldest, needed, refused, behindOldest || refusedAndAbsent);
        }
    }

    @Override
    public void close() {
        sql.close();
        apiSql.close();
    }
}
