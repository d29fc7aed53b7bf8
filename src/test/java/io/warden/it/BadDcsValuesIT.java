package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.PutOption;
import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.LeaderKey;
import io.warden.common.Json;
import io.warden.runtime.DeploymentState.NodeHost;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Bad values in every DCS key, written into a real etcd under a real cluster (three nodes, two routers) while a
 * client writes through the routers: nothing stops postgres, no acknowledged write is lost, each bad value is logged
 * once per agent, and a value with a field of a newer version is read. See docs/dcs.md, "Values that cannot be read".
 *
 * <p>Tests run in order on one cluster: the first runs while no config was ever written, the second writes the
 * garbage, the next ones look at what it left behind (logs) or change one value at a time, the last restores sane
 * values and waits for a healthy cluster.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BadDcsValuesIT {
    /**
     * How long the garbage stands before the checks. The issue asks for 60 s; 40 s is what the two-minute budget of
     * this test leaves beside the cluster's start (15-25 s on this shared machine) and the other steps (up to 20 s
     * more when the leader race below ends in a failover). That is 40-60 HA cycles of each agent (loop_wait 1 s),
     * each of which reads every bad value again, and thirteen leases (ttl 3 s).
     */
    private static final Duration HOLD = Duration.ofSeconds(40);

    /**
     * How long the test keeps a promotion waiting on an unreadable router before it lets the key go: long enough to
     * tell from the router barrier's own noise (0.0-0.1 s here), well short of its limit of 2 x ttl = 6 s.
     */
    private static final Duration BARRIER_HOLD = Duration.ofSeconds(2);

    /**
     * The longest a client may go without an acknowledged write while the garbage stands and no leader changes: no
     * failover is expected, so only a stall of the machine (two cores shared with other tests) explains a gap, and a
     * stall long enough to expire a 3 s lease would be a failure anyway.
     */
    private static final Duration GAP_WITHOUT_FAILOVER = Duration.ofSeconds(3);

    private static final String ROUTER_OF_MINE = "router-from-etcdctl";

    private static TestCluster cluster;
    private static Client etcd;
    private static String prefix;
    /** The keys as they were before the test wrote anything (absent ones missing), for the restore. */
    private static final Map<String, byte[]> before = new TreeMap<>();
    /** The lease the garbage router key is bound to: it lives until the test revokes it. */
    private static long myLease;
    /** Each agent's HA cycle count when the garbage was written. */
    private static final Map<String, Long> cyclesAtGarbage = new TreeMap<>();

    @BeforeAll
    static void start() throws Exception {
        cluster = TestCluster.start("baddcs", 3, 12000, "process");
        cluster.executeOnPrimary("create table probe(id bigint primary key)");
        etcd = io.warden.cli.Deployments.etcdTls(cluster.state())
                .orElseThrow()
                .clientBuilder(cluster.state().etcdClientUrls())
                .build();
        prefix = "/warden/" + cluster.state().cluster() + "/";
        for (String key : List.of("switchover", "config", "sync", "history")) {
            get(key).ifPresent(kv -> before.put(key, kv.getValue().getBytes()));
        }
    }

    @AfterAll
    static void stop() {
        if (etcd != null) {
            etcd.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    /**
     * Two rows of docs/dcs.md at once, in a cluster whose config was never written (every cluster until its first
     * edit-config): an agent that never read a config "does not race, promote, bootstrap, clone or rewind", and a
     * leader key bound to no lease is removed and "a primary whose postgres still runs takes it back". Fails today:
     * HaDecider.withoutConfig turns the primary's TAKE_LEADERSHIP into WAIT, so postgres runs as primary without the
     * key (not fenced either), the routers route writes nowhere and nobody may take the key until the config is fixed.
     */
    @Test
    @Order(1)
    void aPrimaryThatNeverReadAConfigTakesItsLeaderKeyBackWhileTheConfigIsUnreadable() throws Exception {
        String primary = cluster.primary().name();
        assertThat(get("config")).as("a cluster whose config was never written").isEmpty();
        put("config", "{\"synchronous_mode\": \"never\"}");
        long leaderAt = System.nanoTime();
        put("leader", "node-9");
        try {
            LeaderKey back = awaitLeaderKeyBack(Duration.ofSeconds(5));
            System.out.printf(
                    "leader key naming node-9, config unreadable and never read: %s held it again after %d ms%n",
                    back.name(), Duration.ofNanos(System.nanoTime() - leaderAt).toMillis());
            assertThat(back.name()).isEqualTo(primary);
        } finally {
            // Readable again: the primary takes its key back, and the next tests start from a healthy cluster.
            put("config", Json.write(DynamicConfig.DEFAULTS));
            awaitLeaderKeyBack(Duration.ofSeconds(30));
            cluster.awaitHealthy(Duration.ofSeconds(60));
        }
    }

    @Test
    @Order(2)
    void garbageInEveryKeyStopsNoPostgresAndLosesNoAcknowledgedWrite() throws Exception {
        String primary = cluster.primary().name();
        String replica = cluster.replicaNames().getFirst();
        String router = cluster.state().routers().getFirst().id();
        // A cluster whose config was written once, as by warden edit-config: every agent has read one.
        TestCluster.ApiReply patched =
                cluster.api(primary, "PATCH", "/config", "{\"maximum_lag_on_failover\": 1048576}", null);
        assertThat(patched.status()).as(patched.body()).isEqualTo(200);
        for (NodeHost node : cluster.state().nodes()) {
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> Files.exists(workDir(node).resolve("last-config.json")));
        }
        try (WriteProbe probe = new WriteProbe("probe", 1, cluster::connectThroughRouters)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> probe.acks().size() >= 20);
            cluster.state().nodes().forEach(node -> cyclesAtGarbage.put(node.name(), cycles(node.name())));
            long garbageAt = System.nanoTime();

            // The drill that stopped postgres on every node: a switchover whose time is not a time.
            put(
                    "switchover",
                    "{\"leader\": \"" + primary + "\", \"candidate\": \"" + replica + "\", \"requested_at\": \""
                            + Instant.now() + "\", \"scheduled_at\": \"tomorrow\", \"failover\": false}");
            put("config", "{\"synchronous_mode\": \"sometimes\", \"parameters\": {\"work_mem\": \"1MB\"}}");
            put("sync", "{\"leader\": [\"" + primary + "\"], \"standbys\": \"everyone\"}");
            put("history", "{\"timeline\": 1, \"reason\": \"an object, not a list\"}");
            put("optime", "{\"lsn\": \"yesterday\", \"timeline\": 1}");
            put("members/" + replica, "{\"name\": \"" + replica + "\", \"role\": \"replica\", \"sta");
            // Overwritten by a put without a lease: the key is no longer bound to the router's lease until the
            // router writes its status again. Not even UTF-8.
            put("routers/" + router, new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, '{'}, 0);
            // A router nobody runs, bound to a lease of the test's: it stands as long as that lease, and holds the
            // router barrier of any promotion meanwhile (at most 2 x ttl), as a live router that may route anywhere.
            myLease = etcd.getLeaseClient().grant(300).get(5, TimeUnit.SECONDS).getID();
            put("routers/" + ROUTER_OF_MINE, garbageRouter(), myLease);

            long holdEnds = System.nanoTime() + HOLD.toNanos();
            while (System.nanoTime() < holdEnds) {
                assertEveryNodeRunsPostgres();
                Thread.sleep(500);
            }
            assertExactlyOnePrimary(primary);
            Duration holdGap = longestGap(probe.acks(), garbageAt, System.nanoTime());
            System.out.printf(
                    "garbage held %d s: %d writes acknowledged, longest gap %d ms%n",
                    HOLD.toSeconds(),
                    probe.acks().stream().filter(a -> a.atNanos() > garbageAt).count(),
                    holdGap.toMillis());
            assertThat(holdGap)
                    .as("longest time without an acknowledged write while the garbage stood")
                    .isLessThanOrEqualTo(GAP_WITHOUT_FAILOVER);
            // The keys their writers own are written again: the member by its agent, the optime by the leader, the
            // router's by the router, bound to its lease again.
            ClusterSnapshot healed = cluster.snapshot();
            assertThat(healed.unreadable()).doesNotContainKeys("members/" + replica, "routers/" + router, "optime");
            assertThat(get("routers/" + router).orElseThrow().getLease())
                    .as("router key bound to a lease again")
                    .isNotZero();
            assertThat(healed.unreadable())
                    .containsKeys("switchover", "config", "sync", "history", "routers/" + ROUTER_OF_MINE);

            // A leader key bound to no lease, naming a node that does not exist: removed by compare-and-swap, and the
            // race runs again.
            long leaderAt = System.nanoTime();
            put("leader", "node-9");
            LeaderKey back = awaitLeaderKeyBack(Duration.ofSeconds(30));
            Duration keyBack = Duration.ofNanos(System.nanoTime() - leaderAt);
            int acked = probe.acks().size();
            await().atMost(Duration.ofSeconds(30)).until(() -> probe.acks().size() >= acked + 20);
            Duration leaderGap = longestGap(
                    probe.acks(),
                    leaderAt,
                    probe.acks().stream()
                            .mapToLong(WriteProbe.Ack::atNanos)
                            .max()
                            .orElse(leaderAt));
            System.out.printf(
                    "leader key naming node-9: %s held it again after %d ms (was %s); longest write gap %d ms%n",
                    back.name(), keyBack.toMillis(), primary, leaderGap.toMillis());
            cluster.awaitHealthy(Duration.ofSeconds(60));
            assertEveryNodeRunsPostgres();
            assertExactlyOnePrimary(back.name());
            // Taken back by the primary: no promotion, so no more than without the fault. Taken by a replica (the
            // routers stop routing writes the moment they read node-9, so the replicas are level and race the
            // primary): the old primary is fenced, and the winner's router barrier waits its limit, 2 x ttl = 6 s,
            // for the unreadable router key before it promotes.
            assertThat(leaderGap)
                    .as("longest time without an acknowledged write after the leader key was overwritten")
                    .isLessThanOrEqualTo(
                            back.name().equals(primary) ? GAP_WITHOUT_FAILOVER : GAP_WITHOUT_FAILOVER.plusSeconds(6));

            probe.close();
            assertThat(idsThroughRouters())
                    .as("acknowledged writes read back through the routers")
                    .containsAll(probe.ackedIds());
        }
        Map<String, String> logs = agentLogs();
        assertThat(logs.values())
                .as("someone removed the unleased leader key")
                .anyMatch(log -> log.contains("removed a leader key naming node-9 that was bound to no lease"));
        assertThat(logs).allSatisfy((node, log) -> assertThat(log).as(node).doesNotContain("failed unexpectedly"));
    }

    @Test
    @Order(3)
    void eachBadValueIsLoggedOncePerAgentAndADifferentOneAgain() throws Exception {
        Map<String, String> logs = agentLogs();
        for (Map.Entry<String, String> agent : logs.entrySet()) {
            String node = agent.getKey();
            long cycles = cycles(node) - cyclesAtGarbage.getOrDefault(node, 0L);
            System.out.printf("%s ran %d HA cycles while the garbage stood%n", node, cycles);
            assertThat(cycles).as(node + ": cycles while the garbage stood").isGreaterThanOrEqualTo(HOLD.toSeconds());
            // Standing since the first test: one line for each, however many cycles read it.
            assertThat(unreadableLines(agent.getValue(), "switchover", "'tomorrow'"))
                    .as(node)
                    .hasSize(1);
            assertThat(unreadableLines(agent.getValue(), "config", "'sometimes'"))
                    .as(node)
                    .hasSize(1);
            for (String key : List.of("sync", "history", "routers/" + ROUTER_OF_MINE)) {
                assertThat(unreadableLines(agent.getValue(), key, ""))
                        .as(node + ": lines for " + key)
                        .hasSize(1);
            }
            // Rewritten by their owners within a cycle or two: an agent that read the bad value logged it once, one
            // that only read the rewritten value did not log it at all.
            for (String key : List.of("optime", "members/", "routers/router-1")) {
                assertThat(unreadableLines(agent.getValue(), key, ""))
                        .as(node + ": lines for " + key)
                        .hasSizeLessThanOrEqualTo(1);
            }
        }

        put("config", "{\"pause\": \"perhaps\"}");

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            for (Map.Entry<String, String> agent : agentLogs().entrySet()) {
                assertThat(unreadableLines(agent.getValue(), "config", "\"perhaps\""))
                        .as(agent.getKey())
                        .hasSize(1);
                assertThat(unreadableLines(agent.getValue(), "config", "'sometimes'"))
                        .as(agent.getKey())
                        .hasSize(1);
            }
        });
    }

    @Test
    @Order(4)
    void aConfigWithAFieldOfANewerVersionIsRead() throws Exception {
        String primary = cluster.primary().name();
        // The unreadable configs asked for 1MB: nothing of them was applied.
        assertThat(setting(primary, "work_mem")).isEqualTo("4MB");
        Map<String, Integer> linesBefore = new TreeMap<>();
        agentLogs()
                .forEach((node, log) ->
                        linesBefore.put(node, unreadableLines(log, "config", "").size()));

        put(
                "config",
                "{\"maximum_lag_on_failover\": 1048576, \"synchronous_mode\": \"off\", \"synchronous_node_count\": 1,"
                        + " \"pause\": false, \"parameters\": {\"work_mem\": \"8MB\"}, \"quorum_commit\": true}");

        for (NodeHost node : cluster.state().nodes()) {
            await().atMost(Duration.ofSeconds(20))
                    .ignoreExceptions()
                    .until(() -> setting(node.name(), "work_mem").equals("8MB"));
        }
        assertThat(cluster.snapshot().unreadable()).doesNotContainKey("config");
        agentLogs()
                .forEach((node, log) -> assertThat(unreadableLines(log, "config", ""))
                        .as(node + ": no new line for config")
                        .hasSize(linesBefore.get(node)));
    }

    /**
     * docs/dcs.md: an unreadable switchover "is ignored (cancel it with warden switchover --cancel)". A new request
     * is refused over it, since the key is created only if absent. Fails today: the API's DELETE /switchover reads
     * the unreadable key as absent and answers 404 "no switchover is pending", leaving it in place.
     */
    @Test
    @Order(5)
    void anUnreadableSwitchoverIsRefusedANewRequestAndCancelledBySwitchoverCancel() throws Exception {
        String primary = cluster.primary().name();
        String candidate = cluster.replicaNames().getFirst();
        // A value of its own: the first test's is gone if its leader race ended in a promotion (the new leader clears
        // the switchover key).
        put(
                "switchover",
                "{\"leader\": \"" + primary + "\", \"candidate\": \"" + candidate + "\", \"requested_at\": \""
                        + Instant.now() + "\", \"scheduled_at\": \"next tuesday\", \"failover\": false}");
        await().atMost(Duration.ofSeconds(5))
                .until(() -> cluster.snapshot().unreadable().containsKey("switchover"));
        try {
            TestCluster.ApiReply refused =
                    cluster.api(primary, "POST", "/switchover", "{\"candidate\": \"" + candidate + "\"}", null);
            System.out.printf(
                    "a switchover requested over the unreadable one: %d %s%n", refused.status(), refused.body());
            assertThat(refused.status()).as(refused.body()).isEqualTo(409);
            assertThat(cluster.primary().name()).isEqualTo(primary);

            assertThat(cluster.cli("switchover", "--cancel"))
                    .as("exit status of warden switchover --cancel")
                    .isZero();
            assertThat(get("switchover"))
                    .as("the switchover key after --cancel")
                    .isEmpty();
        } finally {
            etcd.getKVClient().delete(bytes("switchover")).get(5, TimeUnit.SECONDS);
        }
    }

    @Test
    @Order(6)
    void aPromotionWaitsForAnUnreadableRouterUntilItsKeyVanishesAndRecordsNoHistoryOverGarbage() throws Exception {
        // Gone already, unless --cancel failed: a new switchover cannot be requested over the unreadable one.
        etcd.getKVClient().delete(bytes("switchover")).get(5, TimeUnit.SECONDS);
        byte[] history = get("history").orElseThrow().getValue().getBytes();
        String primary = cluster.primary().name();
        String candidate = cluster.replicaNames().getFirst();
        Path candidateLog = cluster.node(candidate).logDir().resolve("agent.log");

        CompletableFuture<TestCluster.ApiReply> reply = CompletableFuture.supplyAsync(() -> cluster.api(
                primary,
                "POST",
                "/switchover",
                "{\"leader\": \"" + primary + "\", \"candidate\": \"" + candidate + "\"}",
                null));
        await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> Files.readString(candidateLog)
                        .contains("waiting for routers to stop routing to the old primary: [" + ROUTER_OF_MINE
                                + " (its status is unreadable)]"));
        Thread.sleep(BARRIER_HOLD.toMillis());
        assertThat(reply)
                .as("the switchover, while the unreadable router key stands")
                .isNotDone();
        assertThat(cluster.queryLong(candidate, "select pg_is_in_recovery()::int"))
                .as(candidate + " still in recovery")
                .isEqualTo(1);
        etcd.getLeaseClient().revoke(myLease).get(5, TimeUnit.SECONDS);

        assertThat(reply)
                .succeedsWithin(Duration.ofSeconds(30))
                .satisfies(r -> assertThat(r.status()).as(r.body()).isEqualTo(200));
        String log = Files.readString(candidateLog);
        Matcher barrier = Pattern.compile("routers acknowledged in (\\d+\\.\\d+) s: promoting")
                .matcher(log);
        assertThat(barrier.find()).as("the candidate's barrier line").isTrue();
        double waited = Double.parseDouble(barrier.group(1));
        System.out.printf("the router barrier waited %.2f s for the unreadable router key%n", waited);
        assertThat(waited)
                .as("seconds the barrier waited: for the key, not for its limit")
                .isBetween((double) BARRIER_HOLD.toSeconds(), 6.0);
        assertThat(log).doesNotContain("routers did not acknowledge within");
        // Logged after the new primary published itself, which is what the switchover's answer waits for.
        await().atMost(Duration.ofSeconds(5))
                .until(() -> Files.readString(candidateLog).contains("could not record timeline"));
        assertThat(get("history").orElseThrow().getValue().getBytes())
                .as("the unreadable history is never overwritten")
                .isEqualTo(history);
        cluster.awaitHealthy(Duration.ofSeconds(60));
        assertThat(cluster.snapshot().optime().orElseThrow().timeline())
                .as("the new timeline is in the optime")
                .isEqualTo(cluster.primary().timeline());
    }

    @Test
    @Order(7)
    void saneValuesRestoredLeaveAHealthyClusterThatReadsEveryKey() throws Exception {
        put("config", Json.write(DynamicConfig.DEFAULTS));
        for (String key : List.of("switchover", "sync", "history")) {
            if (before.containsKey(key)) {
                put(key, before.get(key), 0);
            } else {
                etcd.getKVClient().delete(bytes(key)).get(5, TimeUnit.SECONDS);
            }
        }
        etcd.getKVClient().delete(bytes("routers/" + ROUTER_OF_MINE)).get(5, TimeUnit.SECONDS);

        cluster.awaitHealthy(Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(20))
                .until(() -> cluster.snapshot().unreadable().isEmpty());
        for (NodeHost node : cluster.state().nodes()) {
            await().atMost(Duration.ofSeconds(20))
                    .ignoreExceptions()
                    .until(() -> setting(node.name(), "work_mem").equals("4MB"));
        }
        assertEveryNodeRunsPostgres();
    }

    /** Waits until a node holds the leader key under its own lease again, and returns the key. */
    private static LeaderKey awaitLeaderKeyBack(Duration timeout) {
        return await("a leader key bound to a lease")
                .atMost(timeout)
                .pollInterval(Duration.ofMillis(50))
                .ignoreExceptions()
                .until(
                        () -> cluster.snapshot().leader(),
                        l -> l.isPresent() && l.get().leaseId() != 0)
                .orElseThrow();
    }

    private static byte[] garbageRouter() {
        return ("{\"id\": \"" + ROUTER_OF_MINE + "\", \"sessions\": \"many\"}").getBytes(StandardCharsets.UTF_8);
    }

    private static Set<Long> idsThroughRouters() throws SQLException {
        Set<Long> stored = new HashSet<>();
        try (Connection c = cluster.connectThroughRouters();
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select id from probe")) {
            while (rs.next()) {
                stored.add(rs.getLong(1));
            }
        }
        return stored;
    }

    private static Path workDir(NodeHost node) {
        return Path.of(node.configFile()).getParent();
    }

    private static void assertEveryNodeRunsPostgres() {
        for (NodeHost node : cluster.state().nodes()) {
            assertThat(alive(node.agentPid()))
                    .as(node.name() + "'s agent (pid " + node.agentPid() + ")")
                    .isTrue();
            long postmaster;
            try {
                postmaster = cluster.postmasterPid(node.name());
            } catch (IllegalStateException e) {
                throw new AssertionError("postgres does not run on " + node.name() + ": " + e.getMessage(), e);
            }
            assertThat(alive(postmaster))
                    .as(node.name() + "'s postmaster (pid " + postmaster + ")")
                    .isTrue();
        }
    }

    /** Asked of postgres on each node, not of the DCS: one node out of recovery, and the DCS agrees which. */
    private static void assertExactlyOnePrimary(String expected) throws SQLException {
        Map<String, Boolean> inRecovery = new TreeMap<>();
        for (NodeHost node : cluster.state().nodes()) {
            try (Connection c = cluster.connect(node.name());
                    Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("select pg_is_in_recovery()")) {
                rs.next();
                inRecovery.put(node.name(), rs.getBoolean(1));
            }
        }
        assertThat(inRecovery)
                .as("which nodes are in recovery")
                .containsEntry(expected, false)
                .satisfies(all -> assertThat(all.values()).containsOnlyOnce(false));
        assertThat(cluster.primary().name()).isEqualTo(expected);
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** The longest stretch between {@code from} and {@code to} without an acknowledged write. */
    private static Duration longestGap(List<WriteProbe.Ack> acks, long from, long to) {
        long longest = 0;
        long previous = from;
        for (WriteProbe.Ack ack : acks) {
            if (ack.atNanos() <= from) {
                continue;
            }
            if (ack.atNanos() > to) {
                break;
            }
            longest = Math.max(longest, ack.atNanos() - previous);
            previous = ack.atNanos();
        }
        return Duration.ofNanos(Math.max(longest, to - previous));
    }

    private static String setting(String node, String name) throws SQLException {
        try (Connection c = cluster.connect(node);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("show " + name)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Each agent's log, by node name. */
    private static Map<String, String> agentLogs() throws IOException {
        Map<String, String> logs = new TreeMap<>();
        for (NodeHost node : cluster.state().nodes()) {
            logs.put(node.name(), Files.readString(node.logDir().resolve("agent.log")));
        }
        return logs;
    }

    /**
     * The lines saying that {@code key} (or any key under a prefix ending in '/') is unreadable, for a problem that
     * contains {@code problem}: each bad value here has its own.
     */
    private static List<String> unreadableLines(String log, String key, String problem) {
        String pattern = key.endsWith("/") ? "DCS key " + key : "DCS key " + key + " is unreadable (";
        return log.lines()
                .filter(line -> line.contains(pattern) && line.contains(" is unreadable (") && line.contains(problem))
                .toList();
    }

    /** The agent's HA cycle count, from its /liveness. */
    private static long cycles(String node) {
        TestCluster.ApiReply reply = cluster.api(node, "GET", "/liveness", null, null);
        return Json.read(reply.body(), Map.class).get("cycles") instanceof Number n ? n.longValue() : -1;
    }

    private static ByteSequence bytes(String key) {
        return ByteSequence.from(prefix + key, StandardCharsets.UTF_8);
    }

    private static Optional<KeyValue> get(String key) throws Exception {
        return etcd.getKVClient().get(bytes(key)).get(5, TimeUnit.SECONDS).getKvs().stream()
                .findFirst();
    }

    /** A raw write of text bound to no lease. */
    private static void put(String key, String value) throws Exception {
        put(key, value.getBytes(StandardCharsets.UTF_8), 0);
    }

    /** A raw write, as etcdctl would make it: any bytes, bound to {@code lease} (0: none). */
    private static void put(String key, byte[] value, long lease) throws Exception {
        PutOption option = lease == 0
                ? PutOption.DEFAULT
                : PutOption.newBuilder().withLeaseId(lease).build();
        etcd.getKVClient().put(bytes(key), ByteSequence.from(value), option).get(5, TimeUnit.SECONDS);
    }
}
