package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.warden.cluster.Member;
import io.warden.common.Processes;
import io.warden.http.PrometheusText;
import io.warden.runtime.DeploymentState.RouterProcess;
import io.warden.runtime.LocalDeployment;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/** Issue #3: two active routers, 5432-style read-write and 5433-style read-only ports, through pgjdbc and psql. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RouterIT {
    @AutoClose
    private static TestCluster cluster;

    @BeforeAll
    static void start() {
        cluster = TestCluster.start("router", 3, 9800, "process");
    }

    private static RouterProcess router(int index) {
        return cluster.state().routers().get(index - 1);
    }

    private static String url(boolean readOnly, RouterProcess... routers) {
        return java.util.Arrays.stream(routers)
                .map(r -> r.host() + ":" + (readOnly ? r.readOnlyPort() : r.readWritePort()))
                .collect(Collectors.joining(",", "jdbc:postgresql://", "/postgres"));
    }

    private static Connection open(String url) throws SQLException {
        Properties props = cluster.superuserLogin();
        props.setProperty("connectTimeout", "3");
        // Bounds the whole login, not only the TCP connect: a node that never answers must not hang the test.
        props.setProperty("loginTimeout", "5");
        return DriverManager.getConnection(url, props);
    }

    private static String scalar(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String nodeOf(Connection c) throws SQLException {
        return scalar(c, "select current_setting('cluster_name')");
    }

    @Test
    @Order(1)
    void writesGoToThePrimaryAndReadsToAReplicaThroughEitherRouter() throws Exception {
        Member primary = cluster.primary();
        for (int i = 1; i <= 2; i++) {
            try (Connection rw = open(url(false, router(i)));
                    Connection ro = open(url(true, router(i)))) {
                assertThat(nodeOf(rw)).isEqualTo(primary.name());
                assertThat(scalar(rw, "select pg_is_in_recovery()")).isEqualTo("f");
                assertThat(scalar(ro, "select pg_is_in_recovery()")).isEqualTo("t");
                assertThat(nodeOf(ro)).isNotEqualTo(primary.name());
            }
        }
    }

    @Test
    @Order(2)
    void readsGoToTheLeastBusyReplicaCountedAcrossBothRouters() throws Exception {
        // Hold sessions on one replica through router 1, then open new read sessions through router 2.
        List<Connection> held = new ArrayList<>();
        try {
            Connection first = open(url(true, router(1)));
            held.add(first);
            String busy = nodeOf(first);
            for (int i = 0; i < 3; i++) {
                Connection c = DriverManager.getConnection(
                        "jdbc:postgresql://" + cluster.node(busy).host() + ":"
                                + cluster.node(busy).port() + "/postgres",
                        cluster.superuserLogin());
                held.add(c);
            }
            // Each read session goes through router 2 only once router 2 counts router 1's session on the busy
            // replica and no longer counts a session of its own: a session just closed is dropped from the count
            // when the router sees the close, a moment after the client's, and would otherwise tie the two replicas.
            RouterProcess second = router(2);
            for (int i = 0; i < 3; i++) {
                String[] view = new String[1];
                await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
                    view[0] = apiGet(second, "/status");
                    var status = io.warden.common.Json.json().readTree(view[0]);
                    return status.path("load").path(busy).asLong() >= 1
                            && status.path("replicas").size() == 2
                            && status.path("sessions").size() == 0;
                });
                try (Connection c = open(url(true, router(2)))) {
                    assertThat(nodeOf(c))
                            .as("router 2 avoids the replica router 1 keeps busy; its view: " + view[0])
                            .isNotEqualTo(busy);
                }
            }
        } finally {
            for (Connection c : held) {
                c.close();
            }
        }
    }

    @Test
    @Order(3)
    void aCancelRequestThroughEitherRouterCancelsTheRightQuery() throws Exception {
        for (int i = 1; i <= 2; i++) {
            for (boolean readOnly : new boolean[] {false, true}) {
                try (Connection c = open(url(readOnly, router(i)));
                        Statement s = c.createStatement()) {
                    String node = nodeOf(c);
                    String marker = "cancel_me_" + i + "_" + readOnly;
                    CompletableFuture<Throwable> running = CompletableFuture.supplyAsync(() -> {
                        try {
                            s.execute("select pg_sleep(30) as " + marker);
                            return null;
                        } catch (SQLException e) {
                            return e;
                        }
                    });
                    await().atMost(Duration.ofSeconds(10))
                            .until(() -> cluster.queryLong(
                                            node,
                                            "select count(*) from pg_stat_activity where state = 'active' and query like '%as "
                                                    + marker + "'")
                                    == 1);
                    s.cancel();
                    Throwable result = running.get(10, java.util.concurrent.TimeUnit.SECONDS);
                    assertThat(result)
                            .isInstanceOf(SQLException.class)
                            .hasMessageContaining("canceling statement due to user request");
                }
            }
        }
    }

    @Test
    @Order(4)
    void verifyFullWithTheDeploymentsCaWorksThroughBothRoutersAndBothPortsWithPgjdbcAndPsql() throws Exception {
        for (int i = 1; i <= 2; i++) {
            for (boolean readOnly : new boolean[] {false, true}) {
                try (Connection c = DriverManager.getConnection(url(readOnly, router(i)), cluster.superuserLogin())) {
                    assertThat(scalar(c, "select ssl from pg_stat_ssl where pid = pg_backend_pid()"))
                            .isEqualTo("t");
                    assertThat(scalar(c, "select pg_is_in_recovery()")).isEqualTo(readOnly ? "t" : "f");
                }
                var psql = psql(
                        conninfo(router(i), readOnly) + " sslmode=verify-full sslrootcert=" + cluster.caFile(),
                        "select ssl from pg_stat_ssl where pid = pg_backend_pid()");
                assertThat(psql.output().strip()).as(psql.output()).isEqualTo("t");
            }
        }
    }

    @Test
    @Order(4)
    void aClientThatTrustsAnotherCaRefusesTheNodeThroughTheRouter(@TempDir java.nio.file.Path other) throws Exception {
        io.warden.security.CertificateAuthority.ensure(
                other.resolve("ca.key"), other.resolve("ca.crt"), "another", java.time.Instant.now());
        Properties strangers = cluster.superuserLogin();
        strangers.setProperty("sslrootcert", other.resolve("ca.crt").toString());

        assertThatThrownBy(() -> DriverManager.getConnection(url(false, router(1)), strangers)
                        .close())
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("SSL error");
        var psql = psql(
                conninfo(router(2), true) + " sslmode=verify-full sslrootcert=" + other.resolve("ca.crt"), "select 1");
        assertThat(psql.ok()).isFalse();
        assertThat(psql.output()).contains("certificate verify failed");
    }

    private static String conninfo(RouterProcess router, boolean readOnly) {
        return "host=" + router.host() + " port=" + (readOnly ? router.readOnlyPort() : router.readWritePort())
                + " user=postgres dbname=postgres";
    }

    /** Router {@code r}'s count of open client connections, the figure max_connections is checked against. */
    private static long openConnections(RouterProcess r) throws Exception {
        String text = apiGet(r, "/metrics");
        // Read strictly: the router's whole /metrics must be well-formed, not only this line.
        return Optional.ofNullable(PrometheusText.parse(text).get("warden_router_connections"))
                .flatMap(PrometheusText.Family::value)
                .map(Double::longValue)
                .orElseThrow(() -> new AssertionError("no warden_router_connections in /metrics:\n" + text));
    }

    @Test
    @Order(5)
    void sessionsThatEndGiveBackTheirPlaceUnderMaxConnections() throws Exception {
        RouterProcess r = router(1);
        await().atMost(Duration.ofSeconds(15)).until(() -> openConnections(r) == 0);
        List<Connection> sessions = new ArrayList<>();
        try {
            for (int i = 0; i < 20; i++) {
                Connection c = open(url(i % 2 == 1, r));
                sessions.add(c);
                assertThat(scalar(c, "select 1")).isEqualTo("1");
            }
            assertThat(openConnections(r)).isEqualTo(20);
        } finally {
            for (Connection c : sessions) {
                c.close();
            }
        }
        // Relayed sessions, not only refused or silent connections, must be given back, or a router refuses
        // everyone once max_connections sessions have come and gone.
        await().atMost(Duration.ofSeconds(15)).until(() -> openConnections(r) == 0);
    }

    /**
     * The fields of the one ErrorResponse that makes up the whole of {@code reply} (docs/router.md: what the router
     * answers to anything it cannot route), by field type: 'C' the SQLSTATE, 'M' the message.
     */
    private static Map<Character, String> errorResponse(byte[] reply) {
        assertThat(reply).as("a reply from the router").isNotEmpty();
        assertThat((char) reply[0]).as("the reply's message type").isEqualTo('E');
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(reply);
        in.get();
        assertThat(in.getInt()).as("one ErrorResponse and nothing after it").isEqualTo(reply.length - 1);
        Map<Character, String> fields = new java.util.HashMap<>();
        for (byte type; (type = in.get()) != 0; ) {
            java.io.ByteArrayOutputStream value = new java.io.ByteArrayOutputStream();
            for (byte b; (b = in.get()) != 0; ) {
                value.write(b);
            }
            fields.put((char) type, value.toString(java.nio.charset.StandardCharsets.UTF_8));
        }
        return fields;
    }

    /** What router {@code r} sends back to a client that sends {@code payload} and waits, up to its closing. */
    private static byte[] replyTo(RouterProcess r, byte[] payload, boolean thenHalfClose) throws java.io.IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(r.host(), r.readWritePort()), 2000);
            s.setSoTimeout(15_000);
            OutputStream out = s.getOutputStream();
            out.write(payload);
            out.flush();
            if (thenHalfClose) {
                s.shutdownOutput();
            }
            return s.getInputStream().readAllBytes();
        }
    }

    @Test
    @Order(5)
    void garbageOversizedTruncatedAndSilentClientsAreClosedWhileOthersAreServed() throws Exception {
        RouterProcess r = router(1);
        // Each is refused from its first bytes, with the reason; the length is the first thing read.
        Map<String, byte[]> refused = new java.util.LinkedHashMap<>();
        refused.put(
                "invalid startup packet length 1195725856",
                "GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        refused.put(
                "invalid startup packet length 2147483647",
                new byte[] {0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0, 0, 0, 0});
        refused.put("unsupported protocol or request code 305419896", new byte[] {0, 0, 0, 8, 0x12, 0x34, 0x56, 0x78});
        for (var bad : refused.entrySet()) {
            Map<Character, String> error = errorResponse(replyTo(r, bad.getValue(), false));
            assertThat(error.get('C')).as(error.toString()).isEqualTo("08P01");
            assertThat(error.get('M')).isEqualTo(bad.getKey());
        }
        // A packet that announces 100 bytes and brings 8 before the client closes: nothing to answer, closed at once
        // (well within the startup timeout).
        long start = System.nanoTime();
        assertThat(replyTo(r, new byte[] {0, 0, 0, 100, 0, 3, 0, 0}, true))
                .as("the reply to a truncated startup packet")
                .isEmpty();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));

        // Thousands of connections opened and dropped, and a silent one held open.
        Socket silent = new Socket(r.host(), r.readWritePort());
        for (int i = 0; i < 2000; i++) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(r.host(), r.readWritePort()), 2000);
            }
        }
        // Each dropped connection gives its place back when the router's event loop handles its close, a moment
        // after the client's: until then 2000 of them still count against max_connections (2000).
        await().atMost(Duration.ofSeconds(15)).until(() -> openConnections(r) <= 1);
        try (Connection c = open(url(false, r))) {
            assertThat(scalar(c, "select 1")).isEqualTo("1");
        }
        silent.setSoTimeout(30_000);
        Map<Character, String> error = errorResponse(silent.getInputStream().readAllBytes());
        assertThat(error.get('C')).isEqualTo("08P01");
        assertThat(error.get('M'))
                .as("the silent client is dropped after the startup timeout")
                .isEqualTo("no startup packet within 10000 ms");
        silent.close();
    }

    /** How many sessions router {@code r} has routed to {@code node} through {@code port} ("read_write", "read_only"). */
    private static long routed(RouterProcess r, String port, String node) throws Exception {
        String text = apiGet(r, "/metrics");
        // The Prometheus client writes labels sorted by name and every value as a float.
        String prefix = "warden_router_routed_total{node=\"" + node + "\",port=\"" + port + "\"} ";
        return text.lines()
                .filter(l -> l.startsWith(prefix))
                .mapToLong(l ->
                        (long) Double.parseDouble(l.substring(prefix.length()).trim()))
                .sum();
    }

    @Test
    @Order(5)
    void aNodeThatAcceptsTcpButNeverAnswersDoesNotStallTheRouter() throws Exception {
        RouterProcess r = router(1);
        // A "replica" whose port accepts connections and then says nothing, published in the DCS like a member.
        try (java.net.ServerSocket silent =
                        new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"));
                var dcs = io.warden.cli.Deployments.dcs(cluster.state(), Duration.ofSeconds(5))) {
            List<Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread.ofVirtual().start(() -> {
                while (!silent.isClosed()) {
                    try {
                        held.add(silent.accept());
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            });
            long lease = dcs.grantLease(Duration.ofSeconds(30));
            CompletableFuture<String> stuck;
            try {
                dcs.publishMember(
                        new Member(
                                "ghost",
                                io.warden.cluster.Role.REPLICA,
                                io.warden.cluster.MemberState.STREAMING,
                                "127.0.0.1",
                                silent.getLocalPort(),
                                "http://127.0.0.1:1",
                                cluster.primary().timeline(),
                                "0/0",
                                0,
                                io.warden.cluster.NodeTags.NONE,
                                0,
                                0,
                                "ghost",
                                "/nowhere",
                                false),
                        lease);
                // Once router 1 has read it, the ghost gets the next read session: a streaming replica with no
                // sessions,
                // first by name among the least busy.
                await().atMost(Duration.ofSeconds(10))
                        .ignoreExceptions()
                        .until(() -> status(r).path("replicas").has("ghost"));
                long before = routed(r, "read_only", "ghost");
                stuck = CompletableFuture.supplyAsync(() -> {
                    Properties patient = cluster.superuserLogin();
                    patient.setProperty("loginTimeout", "60");
                    try (Connection c = DriverManager.getConnection(url(true, r), patient)) {
                        return nodeOf(c);
                    } catch (SQLException e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                });
                await().atMost(Duration.ofSeconds(10)).until(() -> routed(r, "read_only", "ghost") == before + 1);
                // While that session hangs on the ghost, everyone else is served.
                for (int i = 0; i < 10; i++) {
                    try (Connection c = open(url(false, r))) {
                        assertThat(scalar(c, "select pg_is_in_recovery()")).isEqualTo("f");
                    }
                }
                assertThat(stuck)
                        .as("the session routed to the ghost, still waiting for its answer")
                        .isNotDone();
            } finally {
                dcs.revokeLease(lease);
                held.forEach(sock -> {
                    try {
                        sock.close();
                    } catch (java.io.IOException ignored) {
                        // Test cleanup.
                    }
                });
            }
            // The ghost hangs up: the router passes the close on, and the client gives up.
            assertThat(stuck).failsWithin(Duration.ofSeconds(10));
        }
    }

    /**
     * The router barrier (docs/router.md): a new primary is promoted only once every live router has stopped routing
     * writes to the old one. Router 1 is cut off from etcd (its connections silently held) a moment before the old
     * leader's key vanishes, so it knows nothing of the failover and goes on routing to the old primary; that node's
     * agent and watchdog are frozen, so nothing there stops its postgres. What ends router 1's routing is its own
     * lease: it fences itself before its key expires, and the barrier waits for that key. The servers' WAL decides:
     * every write router 1 delivered to the old primary, on a session held open and on fresh ones, committed before
     * the new primary's END_OF_RECOVERY record. (Without the barrier the new primary promotes within a second, while
     * router 1 routes to the old one for up to its lease.)
     */
    @Test
    @Order(6)
    void aNewPrimaryIsPromotedOnlyAfterARouterCutOffFromTheDcsHasStoppedRoutingWritesToTheOldOne() throws Exception {
        Member old = cluster.primary();
        var oldNode = cluster.node(old.name());
        cluster.executeOnPrimary("create table barrier(id bigint primary key)");
        String table;
        String fromLsn;
        try (Connection c = cluster.connect(old.name())) {
            table = scalar(c, "select pg_relation_filepath('barrier')");
            fromLsn = scalar(c, "select pg_current_wal_lsn()");
        }
        try (EtcdProxy proxy = new EtcdProxy(cluster.state().etcdClientUrls())) {
            try {
                RouterProcess blind = cluster.rerouteRouter(1, proxy.endpoints());
                // Router 1 routes to the old primary and has said so in its key: the barrier must wait for it.
                await().atMost(Duration.ofSeconds(30))
                        .ignoreExceptions()
                        .until(() -> status(blind).path("primary").asText().equals(old.name())
                                // It publishes its status before it listens: both, or the first session is refused.
                                && status(blind).path("state").asText().equals("serving")
                                && !refuses(blind.host(), blind.readWritePort())
                                && cluster.snapshot().routers().stream()
                                        .anyMatch(r -> r.id().equals(blind.id())
                                                && r.primary().equals(old.name())));
                Instant leaderGone;
                Member promoted;
                try (WriteProbe fresh = new WriteProbe("barrier", 1, () -> cluster.connectThroughRouter(1, 3));
                        WriteProbe held = WriteProbe.onOneSession(
                                "barrier", 1_000_000, () -> cluster.connectThroughRouter(1, 3))) {
                    await().atMost(Duration.ofSeconds(10))
                            .until(() -> fresh.acks().size() > 10 && held.acks().size() > 10);
                    // Frozen only now, with writes flowing: a frozen agent's lease runs out within its ttl, and the
                    // writes must not race that (the lease is revoked below, at a moment the test chooses).
                    cluster.freeze(oldNode.watchdogPid());
                    cluster.freeze(oldNode.agentPid());
                    proxy.hold();
                    // The old leader's lease ends now, as if it had expired a moment after router 1 lost etcd.
                    leaderGone = Instant.now();
                    cluster.revokeLease(
                            cluster.snapshot().leader().orElseThrow().leaseId());
                    promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
                    // Router 1 learns nothing until its lease runs out; then it stops listening and closes its
                    // sessions.
                    await().atMost(Duration.ofSeconds(10))
                            .until(() -> refuses(blind.host(), blind.readWritePort()) && held.ended());
                }
                // Read before the old node thaws: its watchdog then kills postgres, and the rewind rewrites its WAL.
                Instant promotedAt = WalEvidence.promotedAt(cluster.dataDir(promoted.name()), promoted.timeline());
                List<WalEvidence.Commit> delivered = WalEvidence.read(
                                cluster.dataDir(old.name()), old.timeline(), fromLsn)
                        .commitsWriting(table);
                System.out.printf(
                        "barrier: old leader key gone at %s; %d writes router 1 delivered to %s committed after that, the last at %s;"
                                + " %s promoted (END_OF_RECOVERY) at %s%n",
                        leaderGone,
                        delivered.stream()
                                .filter(c -> c.at().isAfter(leaderGone))
                                .count(),
                        old.name(),
                        delivered.getLast().at(),
                        promoted.name(),
                        promotedAt);
                assertThat(delivered.stream()
                                .filter(c -> c.at().isAfter(leaderGone))
                                .count())
                        .as(
                                "router 1 still delivered writes to the old primary after its leader key was gone at %s",
                                leaderGone)
                        .isPositive();
                List<WalEvidence.Commit> late = delivered.stream()
                        .filter(c -> !c.at().isBefore(promotedAt))
                        .toList();
                assertThat(late.size())
                        .as(
                                "writes router 1 delivered to the old primary %s that committed at or after %s's promotion at %s"
                                        + " (the old leader's key went at %s); the first: %s",
                                old.name(),
                                promoted.name(),
                                promotedAt,
                                leaderGone,
                                late.stream().limit(3).toList())
                        .isZero();
            } finally {
                cluster.thaw(oldNode.agentPid());
                cluster.thaw(oldNode.watchdogPid());
                proxy.release();
                cluster.restoreRouter(1);
            }
        }
        cluster.awaitHealthy(Duration.ofSeconds(120));
    }

    @Test
    @Order(7)
    void aSwitchoverUnderSteadyWritesThroughTheRoutersLosesNothing() throws Exception {
        cluster.executeOnPrimary("create table if not exists steady(id bigint primary key)");
        Member old = cluster.primary();
        String both = url(false, router(1), router(2)) + "?targetServerType=primary";
        WriteProbe probe = new WriteProbe("steady", 1, () -> open(both));
        await().atMost(Duration.ofSeconds(10)).until(() -> probe.acks().size() > 20);

        var result = Processes.run(
                LocalDeployment.javaCommand("-Xmx64m", "switchover", "--dir", cluster.dir.toString()),
                Duration.ofSeconds(60));
        assertThat(result.exitCode()).as(result.output()).isZero();
        assertThat(result.output()).contains("switched over from " + old.name());

        Member promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(10));
        int acked = probe.acks().size();
        await().atMost(Duration.ofSeconds(10)).until(() -> probe.acks().size() > acked + 20);
        probe.close();
        for (long id : probe.ackedIds()) {
            assertThat(cluster.queryLong(promoted.name(), "select count(*) from steady where id = " + id))
                    .as("acknowledged write %d", id)
                    .isEqualTo(1);
        }
        cluster.awaitHealthy(Duration.ofSeconds(60));
        Member former = cluster.snapshot().members().get(old.name());
        assertThat(former.role()).isEqualTo(io.warden.cluster.Role.REPLICA);
        assertThat(former.timeline()).isEqualTo(promoted.timeline());
    }

    @Test
    @Order(8)
    void readsFallBackToThePrimaryWhenEveryReplicaIsStopped() throws Exception {
        Member primary = cluster.primary();
        List<Member> replicas = cluster.replicas();
        for (Member replica : replicas) {
            cluster.killHost(replica.name());
        }
        try {
            await().atMost(Duration.ofSeconds(20)).ignoreExceptions().untilAsserted(() -> {
                try (Connection c = open(url(true, router(2)))) {
                    assertThat(scalar(c, "select pg_is_in_recovery()")).isEqualTo("f");
                    assertThat(nodeOf(c)).isEqualTo(primary.name());
                }
            });
        } finally {
            for (Member replica : replicas) {
                cluster.restartHost(replica.name());
            }
        }
        cluster.awaitHealthy(Duration.ofSeconds(120));
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().untilAsserted(() -> {
            try (Connection c = open(url(true, router(2)))) {
                assertThat(scalar(c, "select pg_is_in_recovery()")).isEqualTo("t");
            }
        });
    }

    @Test
    @Order(9)
    void aRouterThatLosesTheDcsClosesItsSessionsAndStopsListening() throws Exception {
        RouterProcess r = router(2);
        try (Connection open = open(url(true, r))) {
            assertThat(scalar(open, "select 1")).isEqualTo("1");
            for (int i = 1; i <= 3; i++) {
                cluster.freeze(cluster.etcdPid(i));
            }
            // Within its 3 s lease the router fences: the open session is closed and new ones are refused.
            // The router closes it: the driver sees the connection end (08006), not an error from postgres.
            await().atMost(Duration.ofSeconds(8))
                    .ignoreExceptions()
                    .untilAsserted(() -> assertThatThrownBy(() -> scalar(open, "select 1"))
                            .isInstanceOfSatisfying(
                                    SQLException.class,
                                    e -> assertThat(e.getSQLState())
                                            .as(e.toString())
                                            .isEqualTo("08006")));
            await().atMost(Duration.ofSeconds(8))
                    .untilAsserted(() -> assertThatThrownBy(() -> new Socket(r.host(), r.readOnlyPort()).close())
                            .isInstanceOf(java.net.ConnectException.class));
        } finally {
            for (int i = 1; i <= 3; i++) {
                cluster.thaw(cluster.etcdPid(i));
            }
        }
        cluster.awaitHealthy(Duration.ofSeconds(120));
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().untilAsserted(() -> {
            try (Connection c = open(url(false, r))) {
                assertThat(scalar(c, "select pg_is_in_recovery()")).isEqualTo("f");
            }
        });
    }

    @Test
    @Order(10)
    void withOneRouterKilledTheOtherKeepsServingAMultiHostClient() throws Exception {
        // Router 2 has a replica for reads again: the test before moved the primary, and router 2 takes a replica
        // back only once its own health check has seen it answer.
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().untilAsserted(() -> {
            try (Connection c = open(url(true, router(2)))) {
                assertThat(scalar(c, "select pg_is_in_recovery()")).isEqualTo("t");
            }
        });
        RouterProcess first = router(1);
        ProcessHandle.of(first.pid()).ifPresent(ProcessHandle::destroyForcibly);
        await().atMost(Duration.ofSeconds(5)).until(() -> !Processes.alive(first.pid()));
        try {
            routerTwoServesMultiHostClients();
        } finally {
            LocalDeployment.relaunchRouter(cluster.dir, first);
        }
    }

    private void routerTwoServesMultiHostClients() throws Exception {
        for (boolean readOnly : new boolean[] {false, true}) {
            // libpq: the URI `warden uri` prints, both routers listed.
            String hosts = router(1).host() + ":"
                    + (readOnly ? router(1).readOnlyPort() : router(1).readWritePort()) + ","
                    + router(2).host() + ":"
                    + (readOnly ? router(2).readOnlyPort() : router(2).readWritePort());
            var psql = psql(
                    "postgresql://postgres@" + hosts + "/postgres?connect_timeout=2"
                            + (readOnly ? "" : "&target_session_attrs=read-write"),
                    "select pg_is_in_recovery()");
            assertThat(psql.output().strip()).as(psql.output()).isEqualTo(readOnly ? "t" : "f");
        }
        // pgjdbc remembers failed hosts for hostRecheckSeconds (10 s by default); with a short recheck it moves on too.
        String both = url(false, router(1), router(2)) + "?targetServerType=primary&hostRecheckSeconds=1";
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().untilAsserted(() -> {
            try (Connection c = open(both)) {
                assertThat(scalar(c, "select pg_is_in_recovery()")).isEqualTo("f");
            }
        });
    }

    /**
     * Where the kernel offers io_uring the routers relay over it; epoll is the fallback for kernels and containers
     * without it. Both must carry the same sessions: plain and TLS, reads and writes, a pgbench run.
     */
    @Test
    @Order(11)
    void aRouterOnTheEpollFallbackRelaysPlainAndTlsSessions() throws Exception {
        // Read afresh: the test before relaunched router 1 under a new pid.
        RouterProcess first =
                io.warden.runtime.DeploymentState.read(cluster.dir).routers().get(0);
        await().atMost(Duration.ofSeconds(30))
                .ignoreExceptions()
                .until(() -> status(first).path("state").asText().equals("serving"));
        String auto = status(first).path("transport").asText();
        assertThat(auto).isIn("io_uring", "epoll");
        java.nio.file.Path config = java.nio.file.Path.of(first.configFile());
        String before = java.nio.file.Files.readString(config);
        ProcessHandle.of(first.pid()).ifPresent(ProcessHandle::destroy);
        await().atMost(Duration.ofSeconds(10)).until(() -> !Processes.alive(first.pid()));
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> refuses(first.host(), first.apiPort()));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError(
                    "router-1 (pid " + first.pid() + ") still serves its API; sockets:\n"
                            + Processes.run(List.of("ss", "-tanp"), Map.of(), Duration.ofSeconds(5))
                                    .output(),
                    e);
        }
        java.nio.file.Files.writeString(config, before + "transport: epoll\n");
        RouterProcess relaunched;
        try {
            relaunched = LocalDeployment.relaunchRouter(cluster.dir, first);
            await().atMost(Duration.ofSeconds(30))
                    .ignoreExceptions()
                    .until(() -> status(relaunched).path("state").asText().equals("serving"));
            java.nio.file.Path log = config.getParent().resolve("router.log");
            assertThat(status(relaunched).path("transport").asText())
                    .as(
                            "router-1 after a restart with 'transport: epoll'; its log:\n%s",
                            java.nio.file.Files.readString(log))
                    .isEqualTo("epoll");
            for (boolean readOnly : new boolean[] {false, true}) {
                try (Connection c = DriverManager.getConnection(url(readOnly, relaunched), cluster.superuserLogin())) {
                    assertThat(scalar(c, "select ssl from pg_stat_ssl where pid = pg_backend_pid()"))
                            .isEqualTo("t");
                    assertThat(scalar(c, "select pg_is_in_recovery()")).isEqualTo(readOnly ? "t" : "f");
                }
            }
            // pgbench -i streams its COPY through the relay: a long one-way flow, where backpressure matters.
            var init = pgbench(relaunched, "-i", "-q", "-s", "1");
            assertThat(init.exitCode()).as(init.output()).isZero();
            var pgbench = pgbench(relaunched, "-n", "-c", "4", "-j", "2", "-t", "200");
            assertThat(pgbench.exitCode()).as(pgbench.output()).isZero();
            assertThat(pgbench.output()).contains("number of transactions actually processed: 800/800");
        } finally {
            java.nio.file.Files.writeString(config, before);
        }
    }

    /** Runs {@code sql} with psql, connected as {@code conninfo} says with the superuser's password. */
    private static Processes.Result psql(String conninfo, String sql) {
        return Processes.run(
                List.of("psql", "-X", "-At", conninfo, "-c", sql),
                cluster.superuserEnvironment(),
                Duration.ofSeconds(20));
    }

    /** Runs pgbench as the superuser through the router's read-write port, with {@code args} before the connection. */
    private static Processes.Result pgbench(RouterProcess router, String... args) {
        List<String> command = new ArrayList<>(List.of("pgbench"));
        command.addAll(List.of(args));
        command.addAll(List.of(
                "-h", router.host(), "-p", String.valueOf(router.readWritePort()), "-U", "postgres", "postgres"));
        return Processes.run(command, cluster.superuserEnvironment(), Duration.ofSeconds(120));
    }

    private static boolean refuses(String host, int port) throws java.io.IOException {
        try (Socket ignored = new Socket(host, port)) {
            return false;
        } catch (java.net.ConnectException e) {
            return true;
        }
    }

    private static com.fasterxml.jackson.databind.JsonNode status(RouterProcess r) throws Exception {
        return io.warden.common.Json.json().readTree(apiGet(r, "/status"));
    }

    /** The body of router {@code r}'s answer to GET {@code path} on its API. */
    private static String apiGet(RouterProcess r, String path) throws Exception {
        return java.net.http.HttpClient.newHttpClient()
                .send(
                        java.net.http.HttpRequest.newBuilder(
                                        java.net.URI.create("http://" + r.host() + ":" + r.apiPort() + path))
                                .timeout(Duration.ofSeconds(5))
                                .build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString())
                .body();
    }
}
