package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.cluster.Member;
import io.warden.cluster.Role;
import io.warden.common.Processes;
import io.warden.runtime.DeploymentState.NodeHost;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #2, scenarios 4 and 5: a primary cut off from the network, and a primary whose agent is frozen, stop
 * accepting writes before another node is promoted, and rejoin as replicas afterwards; and the fence kills every
 * backend, so no session left open on the old primary commits after it. The order of the old primary's last commit
 * and the new primary's promotion is read from the two servers' own WAL ({@link WalEvidence}), not from what
 * clients saw. The partition runs in network namespaces so it is real. The four tests share one cluster: each
 * starts once it is healthy again, with a table of its own made empty.
 */
class FencingIT {
    @AutoClose
    private static TestCluster cluster;

    @BeforeAll
    static void start() {
        cluster = TestCluster.start("fencing", 3, 8600, "netns");
    }

    /** A JDBC URL reaching the primary among every node except {@code excluded}. */
    private String othersUrl(String excluded) {
        return cluster.state().nodes().stream()
                .filter(n -> !n.name().equals(excluded))
                .map(n -> n.host() + ":" + n.port())
                .collect(Collectors.joining(",", "jdbc:postgresql://", "/postgres?targetServerType=primary"));
    }

    private Connection open(String url) throws SQLException {
        Properties props = cluster.superuserLogin();
        props.setProperty("connectTimeout", "1");
        props.setProperty("socketTimeout", "3");
        return DriverManager.getConnection(url, props);
    }

    private String currentWalLsn(String node) throws SQLException {
        try (Connection c = cluster.connect(node);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select pg_current_wal_lsn()")) {
            rs.next();
            return rs.getString(1);
        }
    }

    /**
     * From the servers' own WAL: the old primary went on committing after the fault (so the fault alone did not stop
     * its writes, the fence did), and its last commit came before the END_OF_RECOVERY record of the promoted node.
     */
    private void assertStoppedCommittingBeforePromotion(Member old, String fromLsn, Instant faultAt, Member promoted) {
        Instant promotedAt = WalEvidence.promotedAt(cluster.dataDir(promoted.name()), promoted.timeline());
        WalEvidence.Commit last = WalEvidence.read(cluster.dataDir(old.name()), old.timeline(), fromLsn)
                .lastCommit()
                .orElseThrow(() -> new AssertionError("no commit in " + old.name() + "'s WAL since " + fromLsn));
        System.out.printf(
                "fence: fault at %s; %s's last commit (its WAL) at %s; %s promoted (END_OF_RECOVERY) at %s%n",
                faultAt, old.name(), last.at(), promoted.name(), promotedAt);
        assertThat(last.at())
                .as(
                        "%s's last commit (transaction %d) comes after the fault at %s: it was still accepting writes",
                        old.name(), last.xid(), faultAt)
                .isAfter(faultAt);
        assertThat(last.at())
                .as(
                        "%s's last commit (transaction %d) comes before %s's END_OF_RECOVERY record",
                        old.name(), last.xid(), promoted.name())
                .isBefore(promotedAt);
    }

    /**
     * The primary, once the cluster is healthy again after the test before (whose old primary may still be frozen or
     * rejoining), with an empty table {@code table} (id bigint).
     */
    private Member primaryWithAnEmptyTable(String table) {
        cluster.thawAll();
        cluster.awaitHealthy(Duration.ofSeconds(120));
        // pgjdbc remembers for 10 s which hosts were replicas, so right after a failover it may find no primary.
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
            cluster.executeOnPrimary(
                    "drop table if exists " + table + "; create table " + table + "(id bigint primary key)");
            return true;
        });
        return cluster.primary();
    }

    /** When the fault struck the old primary, and which node was promoted after it. */
    private record Failover(Instant faultAt, Member promoted) {}

    /**
     * Once {@code oldSide} has had writes acknowledged by {@code old}, strikes {@code fault}, waits for another node to
     * be promoted and for {@code newSide} to have a write acknowledged after the fault, then stops both probes.
     */
    private Failover failOver(Member old, WriteProbe oldSide, WriteProbe newSide, Runnable fault)
            throws InterruptedException {
        // A deadline, not a pace: on a loaded machine each write through psql in the namespace takes longer.
        await().atMost(Duration.ofSeconds(40)).until(() -> oldSide.acks().size() > 10);

        fault.run();
        Instant faultAt = Instant.now();
        long faultNanos = System.nanoTime();
        Member promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
        await().atMost(Duration.ofSeconds(15))
                .until(() -> newSide.acks().stream().anyMatch(a -> a.atNanos() > faultNanos));
        oldSide.close();
        newSide.close();
        return new Failover(faultAt, promoted);
    }

    /** The cluster is healthy again with {@code old} as a replica, and it holds exactly {@code promoted}'s rows. */
    private void assertRejoinedHoldingTheRowsOf(Member promoted, Member old) {
        cluster.awaitHealthy(Duration.ofSeconds(120));
        assertThat(cluster.snapshot().members().get(old.name()).role()).isEqualTo(Role.REPLICA);
        await().atMost(Duration.ofSeconds(20))
                .untilAsserted(() -> assertThat(cluster.ids(old.name(), "probe"))
                        .as("the old primary now holds exactly the new primary's rows")
                        .isEqualTo(cluster.ids(promoted.name(), "probe")));
    }

    @Test
    void anIsolatedPrimaryStopsWritingBeforeAnotherIsPromotedAndRejoinsAfterwards() throws Exception {
        Member old = primaryWithAnEmptyTable("probe");
        NodeHost oldNode = cluster.node(old.name());
        String fromLsn = currentWalLsn(old.name());

        // The old primary is reached from inside its own namespace, where it stays reachable after the cut.
        WriteProbe oldSide = new WriteProbe(
                "probe", 1_000_000, () -> new NamespaceConnection(oldNode, cluster.superuserEnvironment()).open());
        WriteProbe newSide = new WriteProbe("probe", 1, () -> open(othersUrl(old.name())));
        Failover failover = failOver(old, oldSide, newSide, () -> cluster.cutLink(old.name()));
        Member promoted = failover.promoted();

        // Read while the link is still cut: once it is back, the old node rewinds and its WAL is rewritten.
        assertStoppedCommittingBeforePromotion(old, fromLsn, failover.faultAt(), promoted);

        cluster.restoreLink(old.name());
        assertRejoinedHoldingTheRowsOf(promoted, old);

        Set<Long> onNewPrimary = cluster.ids(promoted.name(), "probe");
        List<Long> newAcks = newSide.ackedIds();
        assertThat(onNewPrimary)
                .as("no write acknowledged by the new primary is lost")
                .containsAll(newAcks);
    }

    /**
     * pg_rewind deletes every WAL file of the old primary that the new primary no longer has. Those include the
     * common timeline's segments between the last checkpoint both share and the fork, which recovery after the
     * rewind must replay, and the new primary recycled them once it had checkpointed on its own timeline. So the
     * rewound node asks for WAL nobody has ("requested WAL segment ... has already been removed"), for ever. Here
     * the old primary's last checkpoint lies several segments before the fork, and the new primary checkpoints past
     * them before the old one comes back: the old primary must still end up streaming and hold the new primary's
     * rows.
     */
    @Test
    void aFormerPrimaryWhoseRewindLeavesItShortOfRecycledWalStillRejoinsAndStreams() throws Exception {
        Member old = primaryWithAnEmptyTable("probe");
        NodeHost oldNode = cluster.node(old.name());
        // The last checkpoint the two timelines share, then three segments of common WAL after it.
        cluster.executeOnPrimary("checkpoint");
        for (int i = 0; i < 3; i++) {
            cluster.executeOnPrimary("insert into probe values (" + (i + 1) + "); select pg_switch_wal()");
        }
        String common = currentWalLsn(old.name());
        for (Member replica : cluster.replicas()) {
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> cluster.queryLong(
                                    replica.name(), "select (pg_last_wal_replay_lsn() >= '" + common + "')::int")
                            == 1);
        }

        WriteProbe oldSide = new WriteProbe(
                "probe", 1_000_000, () -> new NamespaceConnection(oldNode, cluster.superuserEnvironment()).open());
        // A deadline, not a pace: on a loaded machine each write through psql in the namespace takes longer.
        await().atMost(Duration.ofSeconds(40)).until(() -> oldSide.acks().size() > 10);
        cluster.cutLink(old.name());
        Member promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
        oldSide.close();
        // The new primary checkpoints on its own timeline past the common segments, so it recycles them.
        for (int i = 0; i < 4; i++) {
            try (Connection c = cluster.connect(promoted.name());
                    Statement s = c.createStatement()) {
                s.execute("insert into probe values (" + (100 + i) + ")");
                s.execute("select pg_switch_wal()");
                s.execute("checkpoint");
            }
        }

        cluster.restoreLink(old.name());
        assertRejoinedHoldingTheRowsOf(promoted, old);
    }

    @Test
    void aFrozenPrimaryAgentIsFencedByItsWatchdogAndRejoinsWhenItWakes() throws Exception {
        Member old = primaryWithAnEmptyTable("probe");
        NodeHost oldNode = cluster.node(old.name());
        String fromLsn = currentWalLsn(old.name());
        long postmaster = cluster.postmasterPid(old.name());
        String oldUrl = "jdbc:postgresql://" + oldNode.host() + ":" + oldNode.port() + "/postgres";

        WriteProbe oldSide = new WriteProbe("probe", 1_000_000, () -> open(oldUrl));
        WriteProbe newSide = new WriteProbe("probe", 1, () -> open(othersUrl(old.name())));
        Failover failover = failOver(old, oldSide, newSide, () -> cluster.freeze(oldNode.agentPid()));
        Member promoted = failover.promoted();

        // Read while the agent is still frozen: once it wakes, it rewinds the old node and its WAL is rewritten.
        assertStoppedCommittingBeforePromotion(old, fromLsn, failover.faultAt(), promoted);
        Path watchdogLog = oldNode.logDir().resolve("watchdog.log");
        assertThat(Files.readString(watchdogLog))
                .as("the frozen agent could not fence its postgres: its watchdog did")
                .containsPattern("agent missed its deadline: killed (postmaster " + postmaster
                        + " and |the \\d+ processes in postgres's cgroup )");
        assertThat(io.warden.common.Processes.alive(postmaster)).isFalse();
        cluster.thaw(oldNode.agentPid());

        cluster.awaitHealthy(Duration.ofSeconds(120));
        assertThat(cluster.snapshot().members().get(old.name()).role()).isEqualTo(Role.REPLICA);
        assertThat(cluster.ids(promoted.name(), "probe")).containsAll(newSide.ackedIds());
    }

    /**
     * The fence kills every backend, not only the postmaster. A backend outlives its postmaster as long as it does
     * not wait on its latch, and then still commits what its session sent and acknowledges it. So one session stays
     * open to the old primary across the fault with a write in flight that cannot end by itself: a COPY from a named
     * pipe, blocked in read(2), where postgres makes no postmaster-death check. The pipe is fed only after the new
     * primary is promoted: a backend that survived the fence would then commit that row on the old primary and tell
     * this very session so.
     */
    @Test
    void aSessionHeldOpenAcrossTheFenceCannotCommitAfterIt() throws Exception {
        Member old = primaryWithAnEmptyTable("held");
        NodeHost oldNode = cluster.node(old.name());
        Path pipe = cluster.dir.resolve("held.pipe");
        var mkfifo = Processes.run(List.of("mkfifo", "-m", "0666", pipe.toString()), Duration.ofSeconds(5));
        assertThat(mkfifo.exitCode()).as(mkfifo.output()).isZero();

        try (Connection session = cluster.connect(old.name(), 0);
                Statement s = session.createStatement()) {
            s.execute("insert into held values (1)");
            long backend;
            try (ResultSet rs = s.executeQuery("select pg_backend_pid()")) {
                rs.next();
                backend = rs.getLong(1);
            }
            CompletableFuture<Integer> copy = CompletableFuture.supplyAsync(() -> {
                try {
                    return s.executeUpdate("copy held(id) from '" + pipe + "'");
                } catch (SQLException e) {
                    throw new CompletionException(e);
                }
            });
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> cluster.queryLong(
                                    old.name(),
                                    "select count(*) from pg_stat_activity where pid = " + backend
                                            + " and state = 'active' and query like 'copy held%'")
                            == 1);

            cluster.freeze(oldNode.agentPid());
            Member promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
            // Opened read-write, a pipe never blocks the opener, whether a reader is left or not.
            try (RandomAccessFile writer = new RandomAccessFile(pipe.toFile(), "rw")) {
                writer.write("2\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }

            Object outcome = copy.handle((rows, error) -> error != null ? error.getCause() : "COPY " + rows)
                    .get(10, TimeUnit.SECONDS);
            assertThat(outcome)
                    .as(
                            "the session held open on %s across the fence, after %s was promoted",
                            old.name(), promoted.name())
                    .isInstanceOfSatisfying(
                            SQLException.class,
                            e -> assertThat(e.getSQLState()).as(e.toString()).isEqualTo("08006"));
            assertThat(Processes.alive(backend))
                    .as("the session's backend %d outlived the fence", backend)
                    .isFalse();
        }
    }
}
