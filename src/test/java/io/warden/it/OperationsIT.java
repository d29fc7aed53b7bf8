package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.HistoryEntry;
import io.warden.cluster.LeaderKey;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.common.Processes;
import io.warden.runtime.DeploymentState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * What an operator does every week, on one real cluster (3 nodes, routers, etcd): switchover under load, manual
 * failover and tags, parameters by reload and by rolling restart, maintenance mode, and the refusals of bad
 * requests. Tests run in order and each leaves the cluster healthy for the next.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperationsIT {
    /** Short, so that the paused test can outlast it twice without making the suite slow. */
    private static final Duration PRIMARY_START_TIMEOUT = Duration.ofSeconds(5);

    @AutoClose
    private static TestCluster cluster;

    @BeforeAll
    static void start() throws SQLException {
        cluster = TestCluster.start(
                "operations",
                3,
                10100,
                "process",
                Map.of("primary_start_timeout", PRIMARY_START_TIMEOUT.toSeconds() + "s"));
        cluster.executeOnPrimary("create table probe(id bigint primary key)");
    }

    private static String setting(String node, String name) throws SQLException {
        try (Connection c = cluster.connect(node);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select current_setting('" + name + "')")) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void awaitHealthy() {
        cluster.awaitHealthy(Duration.ofMinutes(2));
    }

    @Test
    @Order(1)
    void switchoverUnderWriteLoadThroughTheRoutersLosesNoAcknowledgedWrite() throws Exception {
        Member old = cluster.primary();
        String candidate = cluster.replicaNames().getFirst();
        try (WriteProbe probe = new WriteProbe("probe", 1, cluster::connectThroughRouters)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> probe.acks().size() >= 20);

            TestCluster.ApiReply reply = cluster.api(
                    old.name(),
                    "POST",
                    "/switchover",
                    "{\"leader\": \"" + old.name() + "\", \"candidate\": \"" + candidate + "\"}",
                    null);

            assertThat(reply.status()).as(reply.body()).isEqualTo(200);
            assertThat(cluster.primary().name()).isEqualTo(candidate);
            int before = probe.acks().size();
            await().atMost(Duration.ofSeconds(30)).until(() -> probe.acks().size() >= before + 20);
            probe.close();
            Set<Long> onNewPrimary = cluster.ids(candidate, "probe");
            assertThat(onNewPrimary).containsAll(probe.ackedIds());
        }
        // The old primary follows the new one.
        await().atMost(Duration.ofMinutes(2)).ignoreExceptions().until(() -> {
            Member m = cluster.snapshot().members().get(old.name());
            return m.role() == Role.REPLICA
                    && m.state() == MemberState.STREAMING
                    && m.timeline() == cluster.primary().timeline();
        });
        assertThat(cluster.snapshot().history().getLast().reason()).contains("switchover to me");
        awaitHealthy();
    }

    @Test
    @Order(2)
    void failoverRefusesANofailoverCandidateAndAutomaticFailoverAvoidsIt() {
        String primary = cluster.primary().name();
        List<String> replicas = cluster.replicaNames();
        String tagged = replicas.get(0);
        String other = replicas.get(1);
        cluster.reconfigureNode(tagged, "tags:\n  nofailover: true");
        awaitHealthy();
        await().atMost(Duration.ofSeconds(30))
                .ignoreExceptions()
                .until(() -> cluster.snapshot().members().get(tagged).tags().nofailover());

        TestCluster.ApiReply refused =
                cluster.api(primary, "POST", "/failover", "{\"candidate\": \"" + tagged + "\"}", null);
        assertThat(refused.status()).isEqualTo(412);
        assertThat(refused.body()).contains("nofailover");

        cluster.killHost(primary);
        Member promoted = cluster.awaitNewPrimary(primary, Duration.ofSeconds(60));
        assertThat(promoted.name()).isEqualTo(other);
        cluster.restartHost(primary);
        awaitHealthy();

        // A manual failover to an eligible node goes through.
        TestCluster.ApiReply manual =
                cluster.api(other, "POST", "/failover", "{\"candidate\": \"" + primary + "\"}", null);
        assertThat(manual.status()).as(manual.body()).isEqualTo(200);
        assertThat(cluster.primary().name()).isEqualTo(primary);
        awaitHealthy();
    }

    @Test
    @Order(3)
    void aReloadParameterIsLiveOnEveryNode() {
        String primary = cluster.primary().name();
        TestCluster.ApiReply reply =
                cluster.api(primary, "PATCH", "/config", "{\"parameters\": {\"work_mem\": \"9MB\"}}", null);
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        assertThat(reply.body()).contains("\"restart_required\":[]");

        for (var node : cluster.state().nodes()) {
            await().atMost(Duration.ofSeconds(20))
                    .ignoreExceptions()
                    .until(() -> setting(node.name(), "work_mem").equals("9MB"));
        }
    }

    @Test
    @Order(4)
    void aRestartParameterReachesEveryNodeThroughARollingRestart() {
        String primary = cluster.primary().name();
        TestCluster.ApiReply reply = cluster.api(
                primary, "PATCH", "/config", "{\"parameters\": {\"max_locks_per_transaction\": \"128\"}}", null);
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        assertThat(reply.body()).contains("max_locks_per_transaction");
        await().atMost(Duration.ofSeconds(30))
                .until(() -> cluster.snapshot().members().values().stream().allMatch(Member::pendingRestart));

        assertThat(cluster.cli("restart", "--pending")).isZero();

        awaitHealthy();
        for (var node : cluster.state().nodes()) {
            await().atMost(Duration.ofSeconds(20))
                    .ignoreExceptions()
                    .until(() ->
                            setting(node.name(), "max_locks_per_transaction").equals("128"));
        }
        await().atMost(Duration.ofSeconds(20))
                .until(() -> cluster.snapshot().members().values().stream().noneMatch(Member::pendingRestart));
    }

    /**
     * Maintenance mode (docs/agent.md): a primary whose postgres is down for longer than primary_start_timeout (5 s
     * here) is neither restarted nor failed over while paused, and its agent keeps the leader key. The paused time
     * does not count towards the timeout, so after resume the leader restarts postgres in place: the same node on the
     * same timeline, with no new entry in the history.
     */
    @Test
    @Order(5)
    void whilePausedAPrimaryDownLongerThanPrimaryStartTimeoutIsNotFailedOverAndResumeRestartsItInPlace()
            throws Exception {
        Member before = cluster.primary();
        String primary = before.name();
        List<HistoryEntry> history = cluster.snapshot().history();
        assertThat(cluster.cli("pause")).isZero();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> cluster.snapshot().config().pause());

        try {
            long postmaster = cluster.postmasterPid(primary);
            cluster.killPostmaster(primary);
            long killedAt = System.nanoTime();
            // Twice primary_start_timeout, counted from the moment the leader's record says stopped: it keeps the key,
            // nobody restarts its postgres, nobody else is promoted.
            await().during(PRIMARY_START_TIMEOUT.multipliedBy(2))
                    .atMost(PRIMARY_START_TIMEOUT.multipliedBy(4))
                    .untilAsserted(() -> {
                        ClusterSnapshot s = cluster.snapshot();
                        assertThat(s.leader().map(LeaderKey::name))
                                .as("the leader key")
                                .contains(primary);
                        assertThat(s.members().get(primary))
                                .as(primary + "'s record")
                                .extracting(Member::state)
                                .isEqualTo(MemberState.STOPPED);
                        assertThat(s.members().values().stream()
                                        .filter(m -> m.role() == Role.PRIMARY)
                                        .map(Member::name))
                                .as("members running as primary")
                                .isEmpty();
                        assertThat(s.history()).as("the history").isEqualTo(history);
                    });
            assertThat(Processes.alive(postmaster)).isFalse();
            assertThat(Duration.ofNanos(System.nanoTime() - killedAt))
                    .isGreaterThan(PRIMARY_START_TIMEOUT.multipliedBy(2));

            // No primary now: a session is held for wait_for_node (10 s), then refused with the reason; not left
            // hanging. Asked for TLS first, the router (which holds no key) answers the SSLRequest with that error, as
            // postgres does when it cannot serve before TLS; libpq 15 then says only "error response during SSL
            // exchange" and pgjdbc "does not support SSL" (08001), so the message itself is checked without TLS (the
            // router refuses before any node could).
            long start = System.nanoTime();
            DeploymentState.RouterProcess router = cluster.state().routers().getFirst();
            Processes.Result psql = Processes.run(
                    List.of(
                            "psql",
                            "host=" + router.host() + " port=" + router.readWritePort()
                                    + " user=postgres dbname=postgres sslmode=verify-full sslrootcert="
                                    + cluster.caFile(),
                            "-c",
                            "select 1"),
                    cluster.superuserEnvironment(),
                    Duration.ofSeconds(40));
            assertThat(psql.ok()).as(psql.output()).isFalse();
            assertThat(psql.output()).contains("server sent an error response during SSL exchange");
            assertThat(Duration.ofNanos(System.nanoTime() - start))
                    .as("held, not refused at once")
                    .isGreaterThan(Duration.ofSeconds(9));
            java.util.Properties plain = cluster.superuserLogin();
            plain.setProperty("sslmode", "disable");
            plain.setProperty("socketTimeout", "40");
            assertThatThrownBy(() -> java.sql.DriverManager.getConnection(
                                    "jdbc:postgresql://" + router.host() + ":" + router.readWritePort() + "/postgres",
                                    plain)
                            .close())
                    .isInstanceOfSatisfying(SQLException.class, e -> {
                        assertThat(e.getSQLState()).isEqualTo("57P03");
                        assertThat(e.getMessage()).contains("no primary became available within wait_for_node (10 s)");
                    });

            // A session opened through the routers waits for a primary instead of being refused, and reaches it once
            // resume has restarted it.
            CompletableFuture<String> waiting = CompletableFuture.supplyAsync(() -> {
                try (Connection c = cluster.connectThroughRouters();
                        Statement st = c.createStatement();
                        ResultSet rs = st.executeQuery("select current_setting('cluster_name')")) {
                    rs.next();
                    return rs.getString(1);
                } catch (SQLException e) {
                    throw new CompletionException(e);
                }
            });
            assertThat(cluster.cli("resume")).isZero();
            assertThat(waiting).succeedsWithin(Duration.ofSeconds(30)).isEqualTo(primary);
        } finally {
            // Not left paused for the tests after this one.
            if (cluster.snapshot().config().pause()) {
                cluster.cli("resume");
            }
        }
        Member after = cluster.primary();
        assertThat(after.name()).isEqualTo(primary);
        assertThat(after.timeline())
                .as("restarted in place, not promoted anywhere")
                .isEqualTo(before.timeline());
        assertThat(cluster.snapshot().history()).isEqualTo(history);
        Path log = cluster.node(primary).logDir().resolve("agent.log");
        assertThat(Files.readString(log)).contains("restarted postgres in place as primary");
        awaitHealthy();
    }

    @Test
    @Order(6)
    void badRequestsAreRefusedAndChangeNothing() {
        String primary = cluster.primary().name();
        TestCluster.ApiReply before = cluster.api(primary, "GET", "/config", null, null);

        assertThat(cluster.api(primary, "POST", "/switchover", "{\"candidate\": \"node-9\"}", null)
                        .status())
                .isEqualTo(412);
        assertThat(cluster.api(primary, "POST", "/switchover", "{\"candidate\": ", null)
                        .status())
                .isEqualTo(400);
        assertThat(cluster.api(primary, "POST", "/failover", "{}", null).status())
                .isEqualTo(400);
        TestCluster.ApiReply range =
                cluster.api(primary, "PATCH", "/config", "{\"parameters\": {\"max_connections\": \"0\"}}", null);
        assertThat(range.status()).isEqualTo(400);
        assertThat(range.body()).contains("max_connections").contains("minimum");
        assertThat(cluster.api(primary, "PATCH", "/config", "{\"synchronous_mode\": \"maybe\"}", null)
                        .status())
                .isEqualTo(400);

        // Two editors read the same revision; the second write loses the race and is told so.
        String etag = before.etag();
        TestCluster.ApiReply first =
                cluster.api(primary, "PATCH", "/config", "{\"parameters\": {\"work_mem\": \"10MB\"}}", etag);
        TestCluster.ApiReply second =
                cluster.api(primary, "PATCH", "/config", "{\"parameters\": {\"work_mem\": \"11MB\"}}", etag);
        assertThat(first.status()).isEqualTo(200);
        assertThat(second.status()).isEqualTo(409);
        assertThat(cluster.snapshot().config().parameters()).containsEntry("work_mem", "10MB");
        assertThat(cluster.snapshot().switchover()).isEmpty();
    }
}
