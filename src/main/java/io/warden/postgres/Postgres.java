package io.warden.postgres;

import io.warden.cluster.Lsn;
import io.warden.common.Processes.Result;
import io.warden.postgres.PostgresCtl.LocalServer;
import io.warden.postgres.PostgresCtl.Upstream;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The postgres one agent manages, as the agent sees it: process control of its data directory, the SQL the agent
 * sends it, and the few questions the agent asks the leader's postgres. {@link LocalPostgres} is the real one; a
 * test hands the agent a fake.
 *
 * <p>Threads: the HA loop calls everything but {@link #receivedPosition} and {@link #parameterValidator}, which the
 * REST API calls on its own connection.
 */
public interface Postgres extends AutoCloseable {
    /** Reads the state of the local postgres; never throws. */
    LocalState observe();

    boolean hasData();

    /** The postmaster's pid if postgres runs on this data directory. */
    Optional<Long> postmasterPid();

    /** A setting's value as the agent last wrote it into its config file, empty when absent. */
    String configuredSetting(String name);

    /** Creates the working directories and the password file. */
    void prepare(String superuserPassword, String replicationPassword);

    void initdb(String superuserPassword);

    /**
     * Writes the agent's config file, pg_hba.conf (replication only from {@code memberHosts}) and standby.signal;
     * true when a file changed (a reload is then due).
     */
    boolean writeConfig(
            LocalServer node,
            Map<String, String> parameters,
            Optional<Upstream> upstream,
            java.util.Set<String> memberHosts);

    /** Starts postgres and waits until it accepts connections. */
    Result start(Duration timeout);

    /** Starts postgres without waiting for it to accept connections (a replica may take long to be consistent). */
    Result startNoWait();

    Result stop(String mode, Duration timeout);

    Result promote(Duration timeout);

    Result reload();

    /** Fills the empty data directory with a copy of {@code upstream}'s. */
    Result baseBackup(Upstream upstream, String name, Duration timeout);

    Result rewind(Upstream upstream, Duration timeout);

    /** Deletes the data directory. */
    void removeData();

    /** How much the data directory takes, and how much room is left beside it. */
    DiskUsage diskUsage();

    /**
     * @param dataBytes bytes the data directory takes ({@link Long#MAX_VALUE} when unknown: nothing may rely on room
     *     that may not be there)
     * @param freeBytes bytes free on the file system that holds the data directory (0 when unknown)
     */
    record DiskUsage(long dataBytes, long freeBytes) {
        /** Whether the data fits a second time into the free space, with a tenth more for WAL. */
        public boolean roomForASecondCopy() {
            return dataBytes != Long.MAX_VALUE && freeBytes - dataBytes / 10 > dataBytes;
        }
    }

    /**
     * Moves the data directory aside (beside it, same file system) so a fresh copy can take its place while the old
     * one is kept for whoever wants to look at it; returns where it went.
     */
    java.nio.file.Path setDataAside(String why);

    /** Kills every process of this postgres at once (the fencing kill); says what it killed, empty when nothing ran. */
    Optional<String> kill();

    /** The latest checkpoint, as its control file records it. */
    Checkpoint latestCheckpoint();

    /**
     * Why this stopped data directory cannot be started however often it is tried, if so: its control file is
     * unreadable or corrupt, or the directory cannot be written (a volume remounted read-only after I/O errors).
     * Empty when nothing of the kind was found; asked before starting postgres, never while it runs.
     */
    Optional<String> dataProblem();

    /**
     * The latest checkpoint in the control file, read in one go.
     *
     * @param location where it is (of a stopped postgres, its shutdown checkpoint)
     * @param redo where recovery starts over after a restart: where a replica that is not yet consistent resumes
     */
    record Checkpoint(Lsn location, Lsn redo) {}

    /** The data directory's system identifier (from its control file); empty when it cannot be read. */
    String systemIdentifier();

    /**
     * Creates Warden's roles for other nodes: {@code replicator}, which replicas stream as, and {@code warden_peer},
     * which agents on other nodes connect as (a checkpoint, the WAL directory, pg_rewind's reads): never the
     * superuser across the network.
     */
    void createWardenRoles(String password) throws SQLException;

    /**
     * Creates the cluster's {@code admin} role, with the SCRAM {@code verifier} as its password, and the database
     * {@code database} it owns; neither is a superuser's: see docs/security.md for what admin may do.
     */
    void createAdmin(String verifier, String database) throws SQLException;

    /** Physical replication slots by name, with whether a walsender uses each now. */
    Map<String, Boolean> physicalSlots() throws SQLException;

    void createSlot(String name) throws SQLException;

    void dropSlot(String name) throws SQLException;

    /** The primary's {@code pg_stat_replication}. */
    List<Standby> standbys() throws SQLException;

    /** The primary's current WAL position. */
    Lsn currentWalPosition() throws SQLException;

    /**
     * Proof that the checkpointer has applied every reload sent before this call, within {@code timeout}: false when
     * it could not be had in time (a stopped or busy checkpointer). Only the checkpointer updates the flag that makes
     * commits wait for the standbys named in {@code synchronous_standby_names}, so no probe commit counts before this.
     */
    boolean checkpointerApplied(Duration timeout) throws SQLException;

    /**
     * A probe commit with {@code synchronous_commit = on}, given at most {@code timeout} to be acknowledged; returns
     * the WAL position right after its commit and the standbys' flush positions as the COMMIT returned, or empty
     * when the wait for the synchronous standbys was cancelled at the timeout. Whether commits really wait for a
     * standby is decided by a flag only the checkpointer updates after a reload, and no SQL shows it; a probe that
     * returned while a standby had not yet flushed it proves commits do not wait for that standby (yet).
     */
    Optional<ProbeCommit> probeCommit(Duration timeout) throws SQLException;

    /** A replica's furthest received or replayed position right now, on the REST API's connection; empty when it does not answer. */
    Optional<Lsn> receivedPosition();

    /** Checks parameter values against the running postgres; empty when it does not answer. */
    Optional<ParameterValidator> parameterValidator();

    /** Runs CHECKPOINT on the leader's postgres (before pg_rewind reads its timeline). */
    void checkpointOn(Upstream leader) throws SQLException;

    /**
     * Whether {@code leader} still holds the WAL this replica must stream from to resume at {@code resumeAt}: gone
     * when the leader's oldest WAL file is past that segment, or when the leader's walsender refused the file this
     * replica last asked for (its log says so) and the leader does not hold that file now.
     *
     * @throws SQLException when the leader cannot be asked: only a definite answer may cost a node its data
     */
    WalCheck walGone(Upstream leader, Lsn resumeAt) throws SQLException;

    /**
     * What the leader was asked and answered: its oldest WAL segment (the segment part of the file name), the one
     * this replica needs by its resume point, the file its walsender last refused this replica (if the log says
     * so), and whether the WAL is gone for good.
     */
    record WalCheck(String oldestSegment, String neededSegment, Optional<String> refusedFile, boolean gone) {
        /** Nothing could be compared (the leader holds no WAL file yet, say): not gone. */
        public static final WalCheck UNKNOWN = new WalCheck("", "", Optional.empty(), false);
    }

    @Override
    void close();
}
