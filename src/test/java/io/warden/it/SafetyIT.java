package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.common.Processes;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.LocalDeployment;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The safety argument of docs/agent.md on real processes, where the unit tests (HaDeciderTest, DoubleFailureTest,
 * WatchdogProtocolTest) can only use fakes: a node whose watchdog does not answer is not promoted, a node holding
 * another cluster's data is left alone, and the double failure loses no row the second primary acknowledged.
 *
 * <p>One deployment for the class, each test leaving it healthy for the next (the budget is a few minutes on two
 * shared cores). Each test thaws what it froze even when it fails.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SafetyIT {
    /** A dead primary's key goes with its lease (ttl 3 s); this leaves room for a slow etcd on a busy machine. */
    private static final Duration KEY_EXPIRY = Duration.ofSeconds(15);

    @AutoClose
    private static TestCluster cluster;

    @BeforeAll
    static void start() throws Exception {
        cluster = TestCluster.start("safety", 3, 13000, "process");
        cluster.executeOnPrimary("create table ledger(id bigint primary key)");
        cluster.executeOnPrimary("create table tail(id bigint primary key, pad text)");
        cluster.executeOnPrimary("create table paused_writes(id bigint primary key)");
    }

    /** Each test starts from a healthy cluster, whatever the one before did. */
    @BeforeEach
    void healthy() {
        cluster.awaitHealthy(Duration.ofSeconds(90));
    }

    @AfterEach
    void thaw() {
        cluster.thawAll();
    }

    /** The part of a node's agent log written since {@code offset} (its length at some earlier point). */
    private static String logSince(String node, int offset) {
        return cluster.agentLog(node).substring(offset);
    }

    private static String watchdogLog(String node) throws IOException {
        return Files.readString(cluster.logDir(node).resolve("watchdog.log"));
    }

    private static boolean nobodyPromoted() {
        var snapshot = cluster.snapshot();
        return snapshot.leader().isEmpty()
                && snapshot.members().values().stream().noneMatch(m -> m.role() == Role.PRIMARY);
    }

    private static boolean inRecovery(String node) throws Exception {
        try (Connection c = cluster.connect(node);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select pg_is_in_recovery()")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static Lsn replayed(String replica) throws Exception {
        try (Connection c = cluster.connect(replica);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select pg_last_wal_replay_lsn()::text")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    private static Lsn currentLsn(Connection c) throws Exception {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select pg_current_wal_lsn()::text")) {
            rs.next();
            return Lsn.parse(rs.getString(1));
        }
    }

    /**
     * Both replicas' watchdogs are frozen (SIGSTOP: alive, never answering) when the primary's host dies. A node
     * whose watchdog does not answer within 200 ms may not lead, so nobody is promoted; once one watchdog answers
     * again, that replica is.
     */
    @Test
    @Order(1)
    void aReplicaWhoseWatchdogIsFrozenIsNotPromotedUntilItsWatchdogAnswersAgain() throws Exception {
        Member old = cluster.primary();
        List<String> replicas = cluster.replicaNames();
        assertThat(replicas).hasSize(2);
        Map<String, Integer> logStart = Map.of(
                replicas.get(0), cluster.agentLog(replicas.get(0)).length(),
                replicas.get(1), cluster.agentLog(replicas.get(1)).length());
        for (String replica : replicas) {
            cluster.freeze(cluster.node(replica).watchdogPid());
        }

        cluster.killHost(old.name());

        await().atMost(KEY_EXPIRY).until(() -> cluster.snapshot().leader().isEmpty());
        for (String replica : replicas) {
            await().atMost(Duration.ofSeconds(10))
                    .untilAsserted(() -> assertThat(logSince(replica, logStart.get(replica)))
                            .as("%s decides it may not lead", replica)
                            .contains("WAIT: no leader, but the watchdog is not reachable so I may not lead"));
        }
        // Several HA cycles (1 s each) with no leader: a replica that ignored its watchdog would have raced by now.
        await().during(Duration.ofSeconds(6)).atMost(Duration.ofSeconds(8)).until(SafetyIT::nobodyPromoted);
        for (String replica : replicas) {
            assertThat(inRecovery(replica))
                    .as("%s's postgres is still a standby", replica)
                    .isTrue();
        }

        // The furthest replica is thawed: the other, though its watchdog stays frozen, still reports its position and
        // would (rightly) hold back a replica behind it.
        Map<String, Lsn> positions = Map.of(
                replicas.get(0), cluster.status(replicas.get(0)).position(),
                replicas.get(1), cluster.status(replicas.get(1)).position());
        String thawed =
                replicas.stream().max(Comparator.comparing(positions::get)).orElseThrow();
        String stillFrozen =
                replicas.stream().filter(r -> !r.equals(thawed)).findFirst().orElseThrow();
        int watchdogLogStart = watchdogLog(thawed).length();
        cluster.thaw(cluster.node(thawed).watchdogPid());

        Member promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
        assertThat(promoted.name())
                .as("the replica whose watchdog answers again")
                .isEqualTo(thawed);
        assertThat(watchdogLog(thawed).substring(watchdogLogStart))
                .as("the new primary armed its watchdog")
                .contains("Watchdog: armed");
        assertThat(logSince(stillFrozen, logStart.get(stillFrozen))).doesNotContain("promoted to primary");

        cluster.thaw(cluster.node(stillFrozen).watchdogPid());
        cluster.restartHost(old.name());
        cluster.awaitHealthy(Duration.ofSeconds(120));
        assertThat(cluster.primary().name()).isEqualTo(thawed);
    }

    /** SHA-256 over every path below {@code dir} and every file's content: any change to the directory changes it. */
    private static String digest(Path dir) throws IOException, NoSuchAlgorithmException {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted().toList()) {
                sha.update(dir.relativize(path).toString().getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
                if (Files.isRegularFile(path)) {
                    sha.update(Files.readAllBytes(path));
                }
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /**
     * A replica's data directory is swapped for a fresh initdb, as an operator pointing data_dir at the wrong cluster
     * would: its agent says so and does nothing with it (no start, follow, rewind or clone), the directory is left
     * byte for byte as it was, and the primary and the other replica go on.
     */
    @Test
    @Order(2)
    void aNodeWhoseDataDirectoryBelongsToAnotherClusterIsRefusedAndItsDataLeftUntouched() throws Exception {
        Member primary = cluster.primary();
        List<String> replicas = cluster.replicaNames();
        String stranger = replicas.get(0);
        String other = replicas.get(1);
        String clusterId = cluster.systemIdentifier(primary.name());
        Path data = cluster.dataDir(stranger);
        Path own = data.resolveSibling("data.own");

        cluster.killHost(stranger);
        Files.move(data, own);
        try {
            // Made for the postgres user, as an operator would: the node's directory itself is the agent's.
            Files.createDirectories(data);
            Processes.run(List.of("chown", "postgres", data.toString()), Duration.ofSeconds(5));
            // A cluster of its own: what an operator who pointed data_dir at the wrong directory would have.
            var initdb = Processes.run(
                    List.of(
                            "runuser",
                            "-u",
                            "postgres",
                            "--",
                            LocalDeployment.POSTGRES_BIN + "/initdb",
                            "-D",
                            data.toString(),
                            "-U",
                            "postgres",
                            "--auth=trust",
                            "--no-sync"),
                    Map.of("LC_ALL", "C.UTF-8"),
                    Duration.ofMinutes(2));
            assertThat(initdb.ok())
                    .as("initdb of the other cluster: %s", initdb.tail())
                    .isTrue();
            String strangerId = cluster.systemIdentifier(stranger);
            assertThat(strangerId).isNotEqualTo(clusterId);
            String before = digest(data);
            int logStart = cluster.agentLog(stranger).length();

            cluster.restartHost(stranger);

            await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(() -> assertThat(logSince(stranger, logStart))
                            .contains("WAIT: my data directory belongs to another cluster (system identifier "
                                    + strangerId + ", this cluster's is " + clusterId + ")"));
            // It stays that way while the rest of the cluster goes on: writes through the routers are acknowledged by
            // the same primary and reach the other replica.
            WriteProbe probe = new WriteProbe("ledger", 2_000_000, cluster::connectThroughRouters);
            try {
                await().during(Duration.ofSeconds(5))
                        .atMost(Duration.ofSeconds(7))
                        .until(() -> {
                            var snapshot = cluster.snapshot();
                            Member self = snapshot.members().get(stranger);
                            return cluster.runningPostmaster(stranger).isEmpty()
                                    && self != null
                                    && self.postgresPid() == 0
                                    && snapshot.leader()
                                            .map(l -> l.name().equals(primary.name()))
                                            .orElse(false)
                                    && snapshot.members().containsKey(other)
                                    && snapshot.members().get(other).isStreamingReplica();
                        });
            } finally {
                probe.close();
            }
            assertThat(probe.acks()).as("writes through the routers go on").isNotEmpty();
            long last = probe.ackedIds().getLast();
            await().atMost(Duration.ofSeconds(10))
                    .ignoreExceptions()
                    .until(() -> cluster.queryLong(other, "select count(*) from ledger where id = " + last) == 1);
            assertThat(cluster.primary().name()).isEqualTo(primary.name());

            String decided = logSince(stranger, logStart);
            for (String action : List.of(
                    "START_REPLICA:", "REPOINT:", "REWIND:", "CLONE:", "RECLONE:", "TAKE_LEADERSHIP:", "PROMOTE:")) {
                assertThat(decided).as("the stranger never decides %s", action).doesNotContain(action);
            }
            assertThat(cluster.systemIdentifier(stranger)).isEqualTo(strangerId);
            assertThat(digest(data))
                    .as("the other cluster's data directory is byte for byte as it was")
                    .isEqualTo(before);
        } finally {
            // The node's own data back, and it rejoins (it was a replica a few seconds behind).
            cluster.killHost(stranger);
            Processes.run(List.of("rm", "-rf", "--one-file-system", data.toString()), Duration.ofMinutes(1));
            Files.move(own, data);
            cluster.restartHost(stranger);
        }
        cluster.awaitHealthy(Duration.ofSeconds(90));
        assertThat(cluster.primary().name()).isEqualTo(primary.name());
    }

    /**
     * The double failure of docs/agent.md, "Safety argument": primary A dies with an unreplicated tail, B is promoted
     * and acknowledges writes through the routers, B dies before A has rewound, A comes back on its old data.
     *
     * <p>A's tail (about 512 KiB) is made deterministically longer in raw LSN than everything B writes on its own
     * timeline (a promotion and a few dozen rows), so A returns further ahead by LSN and behind by timeline; and C is
     * kept from leading (its watchdog frozen) until A is back and reporting that position, so the race really
     * compares the two. C must win, A must refuse ("older than the cluster's newest"), every row B acknowledged must
     * be on C, and A must rejoin through pg_rewind with its tail gone.
     */
    @Test
    @Order(3)
    void theDoubleFailureLosesNoRowTheSecondPrimaryAcknowledgedAndTheFirstPrimarysTailDoesNotWin() throws Exception {
        Member a = cluster.primary();
        List<Long> walSenders =
                cluster.queryColumn(a.name(), "select pid from pg_stat_replication", row -> row.getLong(1));
        assertThat(walSenders).hasSize(2);

        // A's tail: rows its own clients committed on it directly (not through a router) that no replica received.
        // Large enough to stay ahead in raw LSN of everything B will write, small enough (under
        // maximum_lag_on_failover, 1 MiB) for B and C to remain eligible when A dies.
        walSenders.forEach(cluster::freeze);
        long tailRows = 0;
        Lsn tailStart;
        Lsn tailEnd;
        try (Connection c = cluster.connect(a.name());
                Statement s = c.createStatement()) {
            tailStart = currentLsn(c);
            do {
                s.execute("insert into tail select g, repeat('t', 200) from generate_series(" + (tailRows + 1) + ", "
                        + (tailRows + 200) + ") g");
                tailRows += 200;
                tailEnd = currentLsn(c);
            } while (tailStart.bytesBehind(tailEnd) < 512 * 1024);
        }
        assertThat(tailStart.bytesBehind(tailEnd)).isLessThan(900 * 1024);
        long tail = tailRows;
        Lsn forkedAfter = tailStart;
        cluster.killHost(a.name());
        walSenders.forEach(cluster::thaw);

        Member b = cluster.awaitNewPrimary(a.name(), Duration.ofSeconds(30));
        String c = cluster.state().nodes().stream()
                .map(n -> n.name())
                .filter(n -> !n.equals(a.name()) && !n.equals(b.name()))
                .findFirst()
                .orElseThrow();
        assertThat(b.timeline()).isGreaterThan(a.timeline());
        assertThat(cluster.queryLong(b.name(), "select count(*) from tail"))
                .as("A's tail never reached B")
                .isZero();

        WriteProbe probe = new WriteProbe("ledger", 3_000_000, cluster::connectThroughRouters);
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> probe.acks().size() >= 30);
        } finally {
            probe.close();
        }
        List<Long> acknowledged = probe.ackedIds();
        long lastAck = acknowledged.getLast();
        // Replication is asynchronous: only what reached C can survive B's host. C must hold it all before B dies.
        await().atMost(Duration.ofSeconds(20))
                .ignoreExceptions()
                .until(() -> cluster.queryLong(c, "select count(*) from ledger where id = " + lastAck) == 1);
        await().atMost(Duration.ofSeconds(20))
                .ignoreExceptions()
                .until(() -> cluster.status(c), m -> m.isStreamingReplica() && m.timeline() == b.timeline());

        // C is held back from leading (its watchdog frozen) until A is back and takes part in the race: otherwise C
        // would be promoted before A's agent has even started, and A's position would never be compared with C's.
        int cLogStart = cluster.agentLog(c).length();
        int aLogStart = cluster.agentLog(a.name()).length();
        cluster.freeze(cluster.node(c).watchdogPid());
        cluster.killHost(b.name());
        await().atMost(KEY_EXPIRY).until(() -> cluster.snapshot().leader().isEmpty());

        // A's host comes back on its old data: timeline a, with its tail.
        cluster.restartHost(a.name());
        Member aBack = await().atMost(Duration.ofSeconds(60))
                .ignoreExceptions()
                .until(
                        () -> cluster.status(a.name()),
                        m -> m.role() == Role.REPLICA
                                && m.timeline() == a.timeline()
                                && m.position().compareTo(forkedAfter) > 0);
        await().atMost(Duration.ofSeconds(20))
                .ignoreExceptions()
                .until(() -> cluster.queryLong(a.name(), "select count(*) from tail") == tail);
        Member cHeld = cluster.status(c);
        assertThat(aBack.position())
                .as(
                        "A's tail (%s on timeline %d) is ahead in raw LSN of C (%s on timeline %d)",
                        aBack.position(), aBack.timeline(), cHeld.position(), cHeld.timeline())
                .isGreaterThan(cHeld.position());
        assertThat(cHeld.timeline())
                .as("C, which streamed B's timeline until B died, reports that timeline, not its last restartpoint's")
                .isEqualTo(b.timeline());
        assertThat(aBack.timeline()).isLessThan(cHeld.timeline());
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(logSince(a.name(), aLogStart))
                        .contains("WAIT: no leader, but I am on timeline " + a.timeline()
                                + ", older than the cluster's newest"));
        assertThat(logSince(c, cLogStart))
                .contains("WAIT: no leader, but the watchdog is not reachable so I may not lead");
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(SafetyIT::nobodyPromoted);

        int cRaceStart = cluster.agentLog(c).length();
        cluster.thaw(cluster.node(c).watchdogPid());
        Member newPrimary = cluster.awaitNewPrimary(b.name(), Duration.ofSeconds(30));
        assertThat(newPrimary.name())
                .as("C, on B's timeline, is promoted; A, further in raw LSN on an older timeline, is not")
                .isEqualTo(c);
        String race = logSince(c, cRaceStart);
        assertThat(race).contains("TAKE_LEADERSHIP: no leader and I am the most advanced eligible replica");
        assertThat(race).doesNotContain("is further ahead");

        assertThat(cluster.ids(c, "ledger"))
                .as("every row that B acknowledged is on the new primary")
                .containsAll(acknowledged);
        assertThat(cluster.queryLong(c, "select count(*) from tail"))
                .as("A's tail was discarded, not merged")
                .isZero();

        // A rejoins by rewinding onto C's timeline; B's host comes back meanwhile and does the same.
        cluster.restartHost(b.name());
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().untilAsserted(() -> {
            Member rejoined = cluster.snapshot().members().get(a.name());
            assertThat(rejoined.role()).isEqualTo(Role.REPLICA);
            assertThat(rejoined.state()).isEqualTo(MemberState.STREAMING);
            assertThat(rejoined.timeline()).isEqualTo(cluster.primary().timeline());
        });
        assertThat(logSince(a.name(), aLogStart)).contains("pg_rewind from " + c + ": ");
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().untilAsserted(() -> {
            assertThat(cluster.queryLong(a.name(), "select count(*) from tail")).isZero();
            assertThat(cluster.ids(a.name(), "ledger")).isEqualTo(cluster.ids(c, "ledger"));
        });
        cluster.awaitHealthy(Duration.ofSeconds(120));
        assertThat(cluster.primary().name()).isEqualTo(c);
    }

    /** Every process of the node's postgres: the postmaster and its children, when one runs. */
    private static List<Long> postgresProcesses(String node) {
        List<Long> pids = new ArrayList<>();
        cluster.runningPostmaster(node).ifPresent(postmaster -> {
            pids.add(postmaster);
            ProcessHandle.of(postmaster).ifPresent(p -> p.children().forEach(child -> pids.add(child.pid())));
        });
        return pids;
    }

    private static long count(Connection c, String sql) throws Exception {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * Router 1, the old primary's agent and its watchdog are frozen together (a host-wide pause that spares postgres),
     * with a client's INSERT already sent on a session router 1 relays to that primary, and a new session waiting in
     * its accept queue. Another node is promoted; then router 1 resumes first, while the old primary still runs and
     * accepts writes from anyone who reaches it. A resumed process handles the I/O that waited before its timers, so
     * without the deadline check on every read of a read-write session the INSERT would reach the old primary and
     * commit there. The old primary's own table is the judge: it must not hold either row.
     */
    @Test
    @Order(4)
    void aRouterResumedBeforeTheOldPrimarysAgentAndWatchdogForwardsNoWriteToTheOldPrimary() throws Exception {
        Member old = cluster.primary();
        DeploymentState.RouterProcess router = cluster.state().routers().getFirst();
        try (Connection held = cluster.connectThroughRouter(1, 60)) {
            try (Statement s = held.createStatement();
                    ResultSet rs = s.executeQuery("select current_setting('cluster_name')")) {
                rs.next();
                assertThat(rs.getString(1))
                        .as("router 1 relays this session to the primary")
                        .isEqualTo(old.name());
            }
            cluster.freeze(router.pid());
            cluster.freeze(cluster.node(old.name()).agentPid());
            cluster.freeze(cluster.node(old.name()).watchdogPid());

            // Sent while router 1 is stopped: the kernel takes the bytes, and they wait in its socket buffer.
            CompletableFuture<Void> onHeldSession = CompletableFuture.runAsync(() -> {
                try (Statement s = held.createStatement()) {
                    s.execute("insert into paused_writes values (1)");
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            CompletableFuture<String> onNewSession = CompletableFuture.supplyAsync(() -> {
                try (Connection fresh = cluster.connectThroughRouter(1, 60);
                        Statement s = fresh.createStatement()) {
                    s.execute("insert into paused_writes values (2)");
                    try (ResultSet rs = s.executeQuery("select current_setting('cluster_name')")) {
                        rs.next();
                        return rs.getString(1);
                    }
                } catch (java.sql.SQLException e) {
                    throw new IllegalStateException(e);
                }
            });

            Member promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
            assertThat(onHeldSession).as("the INSERT waits in frozen router 1").isNotDone();

            cluster.thaw(router.pid());
            await().atMost(Duration.ofSeconds(20)).until(onHeldSession::isDone);
            assertThat(onHeldSession)
                    .as("the session to the old primary is closed, not served")
                    .isCompletedExceptionally();
            await().atMost(Duration.ofSeconds(30)).until(onNewSession::isDone);
            if (!onNewSession.isCompletedExceptionally()) {
                assertThat(onNewSession.join())
                        .as("a new session router 1 served after resuming")
                        .isEqualTo(promoted.name());
            }

            // The old primary still runs (its agent and watchdog are still frozen) and its table is the evidence.
            try (Connection direct = cluster.connect(old.name())) {
                assertThat(count(direct, "select pg_is_in_recovery()::int"))
                        .as("the old primary still runs as primary")
                        .isZero();
                assertThat(count(direct, "select count(*) from paused_writes"))
                        .as("rows router 1 forwarded to the old primary after resuming")
                        .isZero();
            }
        } catch (java.sql.SQLException closedByTheRouter) {
            // Closing the held session after router 1 dropped it may fail; what it proves was asserted above.
        } finally {
            cluster.thaw(cluster.node(old.name()).watchdogPid());
            cluster.thaw(cluster.node(old.name()).agentPid());
        }
        // The old primary's watchdog fires at once (its deadline is long past) and its agent rejoins it as a replica.
        cluster.awaitHealthy(Duration.ofSeconds(120));
        assertThat(cluster.replicas().stream().map(Member::name)).contains(old.name());
    }

    /**
     * etcd answers "lease not found" to the primary's renewal (its lease is revoked, as a stuck old etcd leader
     * would) while the HA loop is stuck in a query to its own postgres (frozen). The lease keeper fences from its
     * own thread at once and moves the watchdog's deadline to that moment; the new lease it is granted next holds no
     * leader key, so it must not re-arm the watchdog: the watchdog's deadline passes with no other postgres started
     * meanwhile (it may kill what is left of the frozen one, alongside the keeper), and from then on it kills any
     * postgres that starts on that data directory until the agent leads again or disarms it. The cluster is paused so that no
     * node acts on the missing leader meanwhile; resuming it heals the cluster.
     */
    @Test
    @Order(5)
    void aLeaseEtcdNoLongerKnowsFencesThePrimaryFromTheKeeperAndTheNewLeaseNeverReArmsTheWatchdog() throws Exception {
        Member old = cluster.primary();
        assertThat(cluster.cli("pause")).isZero();
        try {
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> cluster.snapshot().config().pause());
            int agentLogStart = cluster.agentLog(old.name()).length();
            int watchdogLogStart = watchdogLog(old.name()).length();
            List<Long> postgresPids = postgresProcesses(old.name());
            assertThat(postgresPids).hasSizeGreaterThan(1);
            // The HA loop's next cycle, woken at the latest by the revocation's watch event, first reads its postgres:
            // that query now hangs (5 s socket timeout), so only the lease keeper can act in time.
            postgresPids.forEach(cluster::freeze);

            cluster.revokeLease(cluster.snapshot().leader().orElseThrow().leaseId());
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> postgresPids.stream().noneMatch(Processes::alive));
            postgresPids.forEach(cluster::thaw);
            assertThat(logSince(old.name(), agentLogStart))
                    .contains("expired in etcd: granting a new one")
                    .contains("fencing: lease not renewed in time: ");

            // The keeper moved the watchdog's deadline to the moment the loss was heard, and no renewal of the new
            // lease moves it again: it passes. The watchdog then fences alongside the keeper (which of the two kills
            // which process of the frozen postgres is a race), but it finds nothing else: no postgres was started
            // again in between.
            await().atMost(Duration.ofSeconds(10))
                    .untilAsserted(() -> assertThat(watchdogLog(old.name()).substring(watchdogLogStart))
                            .contains("agent missed its deadline: "));
            java.util.regex.Matcher killedByWatchdog = java.util.regex.Pattern.compile(
                            "agent missed its deadline: killed postmaster (\\d+)")
                    .matcher(watchdogLog(old.name()).substring(watchdogLogStart));
            while (killedByWatchdog.find()) {
                assertThat(Long.parseLong(killedByWatchdog.group(1)))
                        .as("a postmaster the watchdog killed at its deadline")
                        .isIn(postgresPids);
            }
            assertThat(watchdogLog(old.name()).substring(watchdogLogStart)).doesNotContain("disarmed");

            // Kill mode: a postgres started on that data directory by hand is killed at once. (Started once the killed
            // processes have been reaped: postgres refuses to start while the old postmaster's pid exists.)
            await().atMost(Duration.ofSeconds(10))
                    .until(() ->
                            postgresPids.stream().noneMatch(pid -> Files.exists(Path.of("/proc", pid.toString()))));
            int killModeStart = watchdogLog(old.name()).length();
            Path data = cluster.dataDir(old.name());
            Path byHandLog = cluster.nodeDir(old.name()).resolve("by-hand.log");
            // The node's directory is the agent's: the postgres user may write only what it was given.
            Files.deleteIfExists(byHandLog);
            Files.createFile(byHandLog);
            Processes.run(List.of("chown", "postgres", byHandLog.toString()), Duration.ofSeconds(5));
            Processes.Result byHand = Processes.run(
                    List.of(
                            "runuser",
                            "-u",
                            "postgres",
                            "--",
                            "/usr/lib/postgresql/15/bin/pg_ctl",
                            "start",
                            "-D",
                            data.toString(),
                            "-l",
                            byHandLog.toString()),
                    Duration.ofSeconds(30));
            await().atMost(Duration.ofSeconds(10))
                    .untilAsserted(() -> assertThat(watchdogLog(old.name()).substring(killModeStart))
                            .as(
                                    "pg_ctl said: %s; its log: %s",
                                    byHand.tail(), Files.exists(byHandLog) ? Files.readString(byHandLog) : "none")
                            .contains("agent missed its deadline: killed"));
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> cluster.runningPostmaster(old.name()).isEmpty());
        } finally {
            cluster.thawAll();
            cluster.cli("resume");
        }
        cluster.awaitHealthy(Duration.ofSeconds(120));
    }
}
