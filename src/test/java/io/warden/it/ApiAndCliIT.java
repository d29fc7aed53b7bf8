package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.warden.agent.AgentMetricNames;
import io.warden.cluster.HistoryEntry;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.common.Json;
import io.warden.common.Processes;
import io.warden.http.PrometheusText;
import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.DeploymentState.NodeHost;
import io.warden.runtime.DeploymentState.RouterProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The agents' Patroni-compatible REST API and the routers' API over real HTTP, and every operator command of the
 * CLI run as {@code ./warden} would be (its own JVM, its real exit status and output), on one real cluster of 3
 * nodes with its routers and etcd. Tests run in order; each leaves the cluster healthy for the next.
 *
 * <p>The last test stops the deployment with {@code down} and starts it again with {@code up}; {@link #stop()}
 * then stops what that {@code up} started. Commands covered end to end elsewhere and not repeated here:
 * {@code pause} and {@code resume} ({@code OperationsIT.pausedTheClusterDoesNotFailOverAndResumeRestoresIt}),
 * {@code restart --pending} ({@code OperationsIT.aRestartParameterReachesEveryNodeThroughARollingRestart}).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ApiAndCliIT {
    /** Trusts the deployment's CA (agents serve HTTPS); plain HTTP to the routers' read-only APIs. */
    private static HttpClient HTTP;

    @AutoClose
    private static TestCluster cluster;

    @BeforeAll
    static void start() {
        cluster = TestCluster.start("apicli", 3, 10700, "process");
        HTTP = cluster.http();
    }

    // ---- HTTP

    private static HttpResponse<String> http(String method, String url) {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url))
                .timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .build();
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + url, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + method + " " + url, e);
        }
    }

    private static String agentUrl(String node) {
        NodeHost n = cluster.node(node);
        return "https://" + n.host() + ":" + n.apiPort();
    }

    private static String routerUrl(RouterProcess router) {
        return "http://" + router.host() + ":" + router.apiPort();
    }

    private static HttpResponse<String> agent(String node, String path) {
        return http("GET", agentUrl(node) + path);
    }

    /** The status code of each path on {@code node}'s agent, in the order given, so a failure shows them all. */
    private static Map<String, Integer> statuses(String node, String method, List<String> paths) {
        Map<String, Integer> codes = new LinkedHashMap<>();
        paths.forEach(path ->
                codes.put(path, http(method, agentUrl(node) + path).statusCode()));
        return codes;
    }

    private static JsonNode json(String text) {
        try {
            return Json.json().readTree(text);
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + text, e);
        }
    }

    /** One of Patroni's health checks, with the status a running primary and a streaming replica answer it with. */
    private record HealthCheck(String path, int primary, int replica) {}

    private static final List<HealthCheck> HEALTH_CHECKS = List.of(
            new HealthCheck("/primary", 200, 503),
            new HealthCheck("/master", 200, 503),
            new HealthCheck("/read-write", 200, 503),
            new HealthCheck("/replica", 503, 200),
            new HealthCheck("/replica?lag=16MB", 503, 200),
            new HealthCheck("/read-only", 200, 200),
            new HealthCheck("/health", 200, 200),
            new HealthCheck("/liveness", 200, 200),
            new HealthCheck("/readiness", 200, 200));

    /** The status code of every health check on {@code node}'s agent, in the table's order. */
    private static Map<String, Integer> healthChecks(String node) {
        return statuses(
                node, "GET", HEALTH_CHECKS.stream().map(HealthCheck::path).toList());
    }

    /** Every health check with the status {@code expected} gives it in the table. */
    private static Map<String, Integer> expected(ToIntFunction<HealthCheck> expected) {
        Map<String, Integer> codes = new LinkedHashMap<>();
        HEALTH_CHECKS.forEach(check -> codes.put(check.path(), expected.applyAsInt(check)));
        return codes;
    }

    // ---- psql, as an operator or application would connect

    private static Processes.Result psql(String target, String sql) {
        return psql(target, sql, Map.of());
    }

    private static Processes.Result psql(String target, String sql, Map<String, String> environment) {
        return Processes.run(List.of("psql", "-X", "-At", target, "-c", sql), environment, Duration.ofSeconds(20));
    }

    private static String psqlOnNode(String node, String sql) {
        NodeHost n = cluster.node(node);
        Processes.Result result = psql(
                "postgresql://postgres@" + n.host() + ":" + n.port() + "/postgres?connect_timeout=3",
                sql,
                cluster.superuserEnvironment());
        assertThat(result.exitCode()).as(result.output()).isZero();
        return result.output().strip();
    }

    private static String anyReplica() {
        return cluster.replicaNames().getFirst();
    }

    private static void awaitHealthy() {
        cluster.awaitHealthy(Duration.ofMinutes(2));
    }

    // ---- the agents' API

    @Test
    @Order(1)
    void theAgentsServeTheirApiOnlyOverHttpsWithACertificateFromTheDeploymentsCa(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path other) throws Exception {
        String node = cluster.primary().name();
        NodeHost n = cluster.node(node);
        assertThat(agent(node, "/health").statusCode()).isEqualTo(200);
        assertThat(cluster.snapshot().members().get(node).apiUrl()).startsWith("https://");

        HttpClient plain =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
        HttpRequest inClear = HttpRequest.newBuilder(URI.create("http://" + n.host() + ":" + n.apiPort() + "/health"))
                .timeout(Duration.ofSeconds(10))
                .build();
        assertThatThrownBy(() -> plain.send(inClear, HttpResponse.BodyHandlers.ofString()))
                .as("plain HTTP to the agent's port")
                .isInstanceOf(IOException.class);

        io.warden.security.CertificateAuthority.ensure(
                other.resolve("ca.key"), other.resolve("ca.crt"), "another", java.time.Instant.now());
        HttpClient stranger = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(3))
                .sslContext(io.warden.common.PemTls.trusting(other.resolve("ca.crt")))
                .build();
        HttpRequest verified = HttpRequest.newBuilder(URI.create(agentUrl(node) + "/health"))
                .timeout(Duration.ofSeconds(10))
                .build();
        assertThatThrownBy(() -> stranger.send(verified, HttpResponse.BodyHandlers.ofString()))
                .as("a client that trusts another CA")
                .isInstanceOf(javax.net.ssl.SSLHandshakeException.class);
    }

    @Test
    @Order(1)
    void thePrimaryPassesThePrimaryChecksAndFailsTheReplicaChecksAsPatroniDoes() {
        String primary = cluster.primary().name();

        assertThat(healthChecks(primary)).isEqualTo(expected(HealthCheck::primary));
        JsonNode self = json(agent(primary, "/primary").body());
        assertThat(self.get("name").asText()).isEqualTo(primary);
        assertThat(self.get("role").asText()).isEqualTo("primary");
        // HAProxy's `option httpchk` sends OPTIONS; other balancers send HEAD. Both answer as GET does.
        assertThat(statuses(primary, "OPTIONS", List.of("/primary", "/replica")))
                .isEqualTo(Map.of("/primary", 200, "/replica", 503));
        HttpResponse<String> head = http("HEAD", agentUrl(primary) + "/primary");
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.body()).isEmpty();
    }

    @Test
    @Order(2)
    void eachStreamingReplicaPassesTheReplicaChecksAndFailsThePrimaryChecks() {
        for (Member replica : cluster.replicas()) {
            Map<String, Integer> codes = healthChecks(replica.name());

            assertThat(codes).as(replica.name()).isEqualTo(expected(HealthCheck::replica));
            assertThat(statuses(replica.name(), "OPTIONS", List.of("/primary", "/replica")))
                    .isEqualTo(Map.of("/primary", 503, "/replica", 200));
            JsonNode self = json(agent(replica.name(), "/replica").body());
            assertThat(self.get("role").asText()).isEqualTo("replica");
            assertThat(self.get("state").asText()).isEqualTo("streaming");
        }
    }

    @Test
    @Order(3)
    void aReplicaBehindThePrimaryFailsReplicaLagZeroButPassesWithinSixteenMegabytes() throws Exception {
        String replica = anyReplica();
        // Freezing the WAL receiver keeps the replica streaming (its status stays "streaming") while it stops
        // receiving: the primary's next write puts it behind by exactly that write, and nothing else moves.
        long walReceiver = cluster.queryLong(replica, "select pid from pg_stat_wal_receiver");
        cluster.freeze(walReceiver);
        try {
            cluster.executeOnPrimary("create table lag_probe as select g from generate_series(1, 20000) g");

            HttpResponse<String> behind = await().atMost(Duration.ofSeconds(20))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> agent(replica, "/replica?lag=0"), r -> r.statusCode() == 503);

            JsonNode self = json(behind.body());
            assertThat(self.get("state").asText())
                    .as("still streaming: the 503 is for the lag alone")
                    .isEqualTo("streaming");
            assertThat(self.get("lag_bytes").asLong()).isPositive().isLessThan(16L << 20);
            assertThat(agent(replica, "/replica?lag=16MB").statusCode()).isEqualTo(200);
            assertThat(agent(replica, "/replica").statusCode()).isEqualTo(200);
            assertThat(agent(replica, "/replica?lag=1kB").statusCode()).isEqualTo(503);
        } finally {
            cluster.thaw(walReceiver);
        }
        await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> agent(replica, "/replica?lag=0").statusCode(), code -> code == 200);
    }

    @Test
    @Order(4)
    void metricsArePrometheusTextWithEveryAgentMetricAndTheNodesRole() {
        String primary = cluster.primary().name();

        for (NodeHost node : cluster.state().nodes()) {
            HttpResponse<String> metrics = agent(node.name(), "/metrics");

            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.headers().firstValue("Content-Type"))
                    .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain"));
            Map<String, PrometheusText.Family> families = PrometheusText.parse(metrics.body());
            assertThat(AgentMetricNames.AFTER_A_CYCLE).allSatisfy(name -> {
                assertThat(families).as(node.name()).containsKey(name);
                assertThat(families.get(name).samples())
                        .as(name + " on " + node.name())
                        .isNotEmpty();
            });
            List<String> lines = metrics.body().lines().toList();
            boolean isPrimary = node.name().equals(primary);
            // The Prometheus client writes every value as a float.
            assertThat(lines)
                    .as(node.name())
                    .contains(
                            "warden_postgres_running 1.0",
                            "warden_primary " + (isPrimary ? "1.0" : "0.0"),
                            "warden_replica_streaming " + (isPrimary ? "0.0" : "1.0"),
                            "warden_ha_cycle_errors_total 0.0");
        }
    }

    @Test
    @Order(5)
    void anUnknownPathIs404WithAJsonMessageOnTheAgentsAndTheRouters() {
        List<String> apis = new ArrayList<>(
                cluster.state().nodes().stream().map(n -> agentUrl(n.name())).toList());
        cluster.state().routers().forEach(r -> apis.add(routerUrl(r)));

        for (String api : apis) {
            HttpResponse<String> reply = http("GET", api + "/nowhere");

            assertThat(reply.statusCode()).as(api).isEqualTo(404);
            assertThat(reply.headers().firstValue("Content-Type")).hasValue("application/json");
            assertThat(json(reply.body()).get("message").asText()).as(api).isEqualTo("no such endpoint: /nowhere");
        }
    }

    /**
     * Every path of the agent's API (docs/rest-api.md) with every method that is not a read: the routes that change
     * something and the read paths alike, since the token is checked before any route is looked up.
     */
    private static final List<String> AGENT_PATHS = List.of(
            "/switchover",
            "/failover",
            "/config",
            "/restart",
            "/reload",
            "/reinitialize",
            "/status",
            "/",
            "/patroni",
            "/primary",
            "/master",
            "/read-write",
            "/replica",
            "/read-only",
            "/health",
            "/liveness",
            "/readiness",
            "/cluster",
            "/history",
            "/metrics");

    @Test
    @Order(7)
    void everyRequestThatIsNotAReadIsRefusedWithoutTheOperatorsTokenAndChangesNothing() throws Exception {
        Untouched before = Untouched.now();
        String wrongToken = io.warden.security.ApiToken.generate().authorization();

        for (String node : List.of(before.primary(), before.replica())) {
            for (String path : AGENT_PATHS) {
                for (String method : List.of("POST", "PUT", "PATCH", "DELETE")) {
                    for (String authorization : java.util.Arrays.asList(null, wrongToken)) {
                        String body = changing(path, before.replica());
                        TestCluster.ApiReply reply = cluster.api(node, method, path, body, null, authorization);
                        String what = method + " " + path + " on " + node
                                + (authorization == null ? " without a token" : " with another token");
                        assertThat(reply.status()).as(what).isEqualTo(401);
                        assertThat(json(reply.body()).get("message").asText())
                                .as(what)
                                .contains("token");
                    }
                }
            }
        }

        before.stillSo();
    }

    /**
     * What a refused request must leave as it found it: the cluster config, the switchover key, the leader, and the
     * postmasters of the primary and of the replica the requests named.
     */
    private record Untouched(
            long configRevision, String primary, String replica, long primaryPostmaster, long replicaPostmaster) {
        /** As things are now, for the primary and the first replica. */
        static Untouched now() {
            String primary = cluster.primary().name();
            String replica = cluster.replicaNames().getFirst();
            return new Untouched(
                    cluster.snapshot().configRevision(),
                    primary,
                    replica,
                    cluster.postmasterPid(primary),
                    cluster.postmasterPid(replica));
        }

        void stillSo() {
            var after = cluster.snapshot();
            assertThat(after.configRevision())
                    .as("the cluster config was not written")
                    .isEqualTo(configRevision);
            assertThat(after.switchover())
                    .as("no switchover or failover was requested")
                    .isEmpty();
            assertThat(after.leader().map(l -> l.name())).contains(primary);
            assertThat(cluster.postmasterPid(primary))
                    .as("the primary was not restarted")
                    .isEqualTo(primaryPostmaster);
            assertThat(cluster.postmasterPid(replica))
                    .as("the replica was neither restarted nor reinitialized")
                    .isEqualTo(replicaPostmaster);
        }
    }

    /** A body that would change something at {@code path} if it were let through, naming {@code replica}. */
    private static String changing(String path, String replica) {
        return path.equals("/config")
                ? "{\"pause\": true, \"parameters\": {\"work_mem\": \"7MB\"}}"
                : "{\"candidate\": \"" + replica + "\", \"node\": \"" + replica + "\"}";
    }

    /** An HTTPS client trusting the deployment's CA and presenting the pair {@code certificate}, {@code key}. */
    private static HttpClient presenting(Path certificate, Path key) {
        return HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(5))
                .sslContext(io.warden.common.PemTls.client(cluster.caFile(), certificate, key))
                .build();
    }

    /** {@code method path} with {@code body} on {@code node}'s agent, sent by {@code client}, with no token. */
    private static HttpResponse<String> send(HttpClient client, String node, String method, String path, String body)
            throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(agentUrl(node) + path))
                .timeout(Duration.ofSeconds(30))
                .method(method, HttpRequest.BodyPublishers.ofString(body))
                .build();
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    /**
     * A node's agent certificate (its key is the agent's user's) authenticates that node, which may read and change
     * nothing: 403 on every path with every method that is not a read, on the other nodes and on itself.
     */
    @Test
    @Order(8)
    void withANodesCertificateEveryRequestThatIsNotAReadIsRefused403AndChangesNothing() throws Exception {
        Untouched before = Untouched.now();
        Path node2 = io.warden.cli.Deployments.tlsDir(cluster.dir, "node-2");

        try (HttpClient asNode2 = presenting(node2.resolve("api.crt"), node2.resolve("api.key"))) {
            assertThat(send(asNode2, before.primary(), "GET", "/cluster", "").statusCode())
                    .as("a node reads")
                    .isEqualTo(200);
            for (String node : List.of(before.primary(), before.replica())) {
                for (String path : AGENT_PATHS) {
                    for (String method : List.of("POST", "PUT", "PATCH", "DELETE")) {
                        String body = changing(path, before.replica());
                        HttpResponse<String> reply = send(asNode2, node, method, path, body);
                        String what = method + " " + path + " on " + node + " with node-2's certificate";
                        assertThat(reply.statusCode()).as(what).isEqualTo(403);
                        assertThat(json(reply.body()).get("message").asText())
                                .as(what)
                                .contains("authenticated as node 'node-2' by its certificate");
                    }
                }
            }
        }

        before.stillSo();
    }

    /**
     * The operator's certificate, which up issues, is a credential without the token: over the API, and for the CLI
     * with the token file moved away. The operator's name from another CA gets no answer at all.
     */
    @Test
    @Order(9)
    void theOperatorsCertificateWithoutTheTokenChangesThingsAndOneFromAnotherCaGetsNoAnswer(
            @org.junit.jupiter.api.io.TempDir Path other) throws Exception {
        String replica = anyReplica();
        Path operator = io.warden.cli.Deployments.operatorTlsDir(cluster.dir);
        String loadedAt = psqlOnNode(replica, "select pg_conf_load_time()");

        try (HttpClient asOperator = presenting(operator.resolve("operator.crt"), operator.resolve("operator.key"))) {
            HttpResponse<String> reload = send(asOperator, replica, "POST", "/reload", "");
            assertThat(reload.statusCode()).as(reload.body()).isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> psqlOnNode(replica, "select pg_conf_load_time()"), at -> !at.equals(loadedAt));

        Path tokenFile = DeploymentFile.API_TOKEN.in(cluster.dir);
        Path aside = tokenFile.resolveSibling("api-token.aside");
        Files.move(tokenFile, aside);
        try {
            TestCluster.CliRun reloadByCertificate = cluster.warden("reload", replica);
            assertThat(reloadByCertificate.exitCode())
                    .as(reloadByCertificate.toString())
                    .isZero();
            assertThat(reloadByCertificate.out()).contains("reloaded postgres");
        } finally {
            Files.move(aside, tokenFile);
        }

        var stranger = io.warden.security.CertificateAuthority.ensure(
                other.resolve("ca.key"), other.resolve("ca.crt"), "another", Instant.now());
        io.warden.security.NodeCertificates.ensureOperator(stranger, other.resolve("operator"), Instant.now());
        try (HttpClient foreign =
                presenting(other.resolve("operator/operator.crt"), other.resolve("operator/operator.key"))) {
            assertThatThrownBy(() -> send(foreign, replica, "POST", "/reload", ""))
                    .as("the operator's name on a certificate from another CA")
                    .isInstanceOf(IOException.class);
        }
    }

    // ---- the routers' API

    @Test
    @Order(6)
    void eachRouterReportsServingRoutesToTheLeaderAndPublishesMetrics() {
        String primary = cluster.primary().name();
        for (RouterProcess router : cluster.state().routers()) {
            HttpResponse<String> status = http("GET", routerUrl(router) + "/status");
            HttpResponse<String> health = http("GET", routerUrl(router) + "/health");
            HttpResponse<String> metrics = http("GET", routerUrl(router) + "/metrics");

            assertThat(status.statusCode()).isEqualTo(200);
            JsonNode described = json(status.body());
            assertThat(described.get("id").asText()).isEqualTo(router.id());
            assertThat(described.get("state").asText()).isEqualTo("serving");
            assertThat(described.get("primary").asText()).isEqualTo(primary);
            List<String> replicas = new ArrayList<>();
            described.get("replicas").fieldNames().forEachRemaining(replicas::add);
            assertThat(replicas)
                    .containsExactlyInAnyOrderElementsOf(
                            cluster.replicas().stream().map(Member::name).toList());
            assertThat(health.statusCode()).isEqualTo(200);
            assertThat(json(health.body()).get("state").asText()).isEqualTo("serving");
            assertThat(metrics.statusCode()).isEqualTo(200);
            assertThat(metrics.headers().firstValue("Content-Type"))
                    .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain"));
            assertThat(metrics.body().lines())
                    .contains("warden_router_serving 1.0")
                    .anyMatch(line -> line.startsWith("warden_router_connections "))
                    .anyMatch(line -> line.startsWith("warden_router_connections_accepted_total "))
                    .anyMatch(line -> line.startsWith("warden_router_relayed_bytes_total{direction=\"to_server\"} "));
        }
    }

    // ---- the CLI

    @Test
    @Order(10)
    void listShowsEveryNodeWithItsRoleAndBothRoutersAndListJsonAgreesWithTheDcs() {
        String primary = cluster.primary().name();

        TestCluster.CliRun table = cluster.warden("list");

        assertThat(table.exitCode()).as(table.toString()).isZero();
        List<String> lines = table.out().lines().toList();
        assertThat(lines.getFirst())
                .as(table.toString())
                .startsWith("NAME")
                .contains("ROLE", "STATE", "LAG_BYTES", "API_URL");
        for (NodeHost node : cluster.state().nodes()) {
            String role = node.name().equals(primary) ? "primary  running" : "replica  streaming";
            assertThat(lines)
                    .as(table.toString())
                    .anyMatch(line -> line.startsWith(node.name())
                            && line.contains(role)
                            && line.contains(node.host())
                            && line.contains(Integer.toString(node.port())));
        }
        assertThat(lines).as(table.toString()).anyMatch(line -> line.startsWith("leader: " + primary + " "));
        cluster.state()
                .routers()
                .forEach(router -> assertThat(lines)
                        .as(table.toString())
                        .anyMatch(line ->
                                line.startsWith(router.id()) && line.contains("serving") && line.contains(primary)));

        TestCluster.CliRun asJson = cluster.warden("list", "--json");

        assertThat(asJson.exitCode()).as(asJson.toString()).isZero();
        assertThat(asJson.err()).isEmpty();
        JsonNode rows = json(asJson.out());
        assertThat(rows).hasSize(3);
        for (JsonNode row : rows) {
            Member m = cluster.snapshot().members().get(row.get("name").asText());
            assertThat(row.get("role").asText()).isEqualTo(m.role().label());
            assertThat(row.get("state").asText()).isEqualTo(m.state().label());
            assertThat(row.get("leader").asBoolean()).isEqualTo(m.name().equals(primary));
            assertThat(row.get("api_url").asText()).isEqualTo(agentUrl(m.name()));
            assertThat(row.get("postgres_pid").asLong()).isEqualTo(cluster.postmasterPid(m.name()));
        }
    }

    @Test
    @Order(11)
    void uriConnectsPsqlAsAdminThroughTheRoutersToThePrimaryAndWithReadOnlyToAReplica() {
        String primary = cluster.primary().name();

        TestCluster.CliRun readWrite = cluster.warden("uri");
        TestCluster.CliRun readOnly = cluster.warden("uri", "--read-only");

        assertThat(readWrite.exitCode()).as(readWrite.toString()).isZero();
        assertThat(readOnly.exitCode()).as(readOnly.toString()).isZero();
        String writeUri = readWrite.out().strip();
        String readUri = readOnly.out().strip();
        for (RouterProcess router : cluster.state().routers()) {
            assertThat(writeUri).contains(router.host() + ":" + router.readWritePort());
            assertThat(readUri).contains(router.host() + ":" + router.readOnlyPort());
        }
        assertThat(writeUri)
                .startsWith("postgresql://admin:")
                .contains("/it?")
                .contains("target_session_attrs=read-write");

        String sql = "select pg_is_in_recovery(), current_setting('cluster_name'), current_user, current_database(),"
                + " current_setting('is_superuser')";
        Processes.Result toPrimary = psql(writeUri, sql);
        Processes.Result toReplica = psql(readUri, sql);
        assertThat(toPrimary.output().strip()).as(toPrimary.output()).isEqualTo("f|" + primary + "|admin|it|off");
        assertThat(toReplica.output().strip())
                .as(toReplica.output())
                .startsWith("t|")
                .isIn(cluster.replicas().stream()
                        .map(r -> "t|" + r.name() + "|admin|it|off")
                        .toList());
    }

    @Test
    @Order(12)
    void editConfigChangesAParameterThatShowConfigAndShowOnThePrimaryThenReport() {
        String primary = cluster.primary().name();

        TestCluster.CliRun edit =
                cluster.warden("edit-config", "--set", "maximum_lag_on_failover=2097152", "--pg", "work_mem=7MB");

        assertThat(edit.exitCode()).as(edit.toString()).isZero();
        assertThat(edit.out()).contains("config updated").contains("applied: every node reloads");
        TestCluster.CliRun yaml = cluster.warden("show-config");
        assertThat(yaml.exitCode()).as(yaml.toString()).isZero();
        assertThat(yaml.out()).contains("maximum_lag_on_failover: 2097152").contains("work_mem: \"7MB\"");
        TestCluster.CliRun asJson = cluster.warden("show-config", "--json");
        assertThat(asJson.exitCode()).as(asJson.toString()).isZero();
        assertThat(json(asJson.out()).at("/parameters/work_mem").asText()).isEqualTo("7MB");
        await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> psqlOnNode(primary, "show work_mem"), "7MB"::equals);
    }

    @Test
    @Order(13)
    void editConfigRefusesAValueOutOfRangeWithExitOneAndTheReasonAndChangesNothing() {
        long revision = cluster.snapshot().configRevision();

        TestCluster.CliRun refused = cluster.warden("edit-config", "--pg", "max_connections=0");

        assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(1);
        assertThat(refused.err())
                .contains("max_connections")
                .contains("minimum")
                .contains("(HTTP 400)");
        assertThat(cluster.snapshot().configRevision()).isEqualTo(revision);
    }

    @Test
    @Order(14)
    void restartOfAReplicaStartsANewPostmasterThatStreamsAgain() {
        String replica = anyReplica();
        long before = cluster.postmasterPid(replica);

        TestCluster.CliRun restart = cluster.warden("restart", replica);

        assertThat(restart.exitCode()).as(restart.toString()).isZero();
        assertThat(restart.out().strip()).isEqualTo("restarted postgres as replica");
        // The command returns once the node streams again.
        assertThat(cluster.postmasterPid(replica)).isNotEqualTo(before);
        Member m = cluster.snapshot().members().get(replica);
        assertThat(m.role()).isEqualTo(Role.REPLICA);
        assertThat(m.state()).isEqualTo(MemberState.STREAMING);
        awaitHealthy();
    }

    @Test
    @Order(15)
    void reloadReloadsThePostgresOfEveryNodeOrOfTheOneNamed() {
        String replica = anyReplica();
        Map<String, String> loadedAt = new LinkedHashMap<>();
        cluster.state()
                .nodes()
                .forEach(n -> loadedAt.put(n.name(), psqlOnNode(n.name(), "select pg_conf_load_time()")));

        TestCluster.CliRun all = cluster.warden("reload");

        assertThat(all.exitCode()).as(all.toString()).isZero();
        for (NodeHost node : cluster.state().nodes()) {
            assertThat(all.out().lines())
                    .as(all.toString())
                    .anyMatch(line -> line.startsWith(node.name() + " ") && line.endsWith("reloaded postgres"));
            await().atMost(Duration.ofSeconds(10))
                    .pollInterval(Duration.ofMillis(200))
                    .until(
                            () -> psqlOnNode(node.name(), "select pg_conf_load_time()"),
                            at -> !at.equals(loadedAt.get(node.name())));
        }

        TestCluster.CliRun one = cluster.warden("reload", replica);

        assertThat(one.exitCode()).as(one.toString()).isZero();
        assertThat(one.out().lines())
                .as(one.toString())
                .singleElement()
                .asString()
                .startsWith(replica + " ")
                .endsWith("reloaded postgres");
    }

    @Test
    @Order(16)
    void reinitRebuildsAReplicaFromThePrimaryAndIsRefusedOnThePrimary() throws Exception {
        String primary = cluster.primary().name();
        String replica = anyReplica();
        // A file only the old data directory has: a rebuilt one is a fresh copy of the primary's.
        Path marker = cluster.dataDir(replica).resolve("warden-it-marker");
        Files.writeString(marker, "from before the reinit");
        cluster.executeOnPrimary("create table before_reinit as select g from generate_series(1, 100) g");

        TestCluster.CliRun reinit = cluster.warden("reinit", replica, "--force");

        assertThat(reinit.exitCode()).as(reinit.toString()).isZero();
        assertThat(reinit.out().strip()).isEqualTo("rebuilt this replica from " + primary);
        assertThat(marker).doesNotExist();
        assertThat(cluster.snapshot().members().get(replica).state()).isEqualTo(MemberState.STREAMING);
        assertThat(cluster.queryLong(replica, "select count(*) from before_reinit"))
                .isEqualTo(100);

        TestCluster.CliRun refused = cluster.warden("reinit", primary, "--force");

        assertThat(refused.exitCode()).as(refused.toString()).isEqualTo(1);
        assertThat(refused.err()).contains("only a replica can be rebuilt").contains("(HTTP 412)");
        assertThat(cluster.primary().name()).isEqualTo(primary);
        awaitHealthy();
    }

    @Test
    @Order(17)
    void aScheduledSwitchoverIsListedThenCancelledAndThePrimaryStays() {
        String primary = cluster.primary().name();
        String candidate = anyReplica();
        String at = Instant.now()
                .plus(1, ChronoUnit.MINUTES)
                .truncatedTo(ChronoUnit.SECONDS)
                .toString();

        // No --force: without a terminal nothing is asked, as in a script.
        TestCluster.CliRun schedule = cluster.warden("switchover", "--candidate", candidate, "--at", at);

        assertThat(schedule.exitCode()).as(schedule.toString()).isZero();
        assertThat(schedule.out().strip())
                .isEqualTo("switchover from " + primary + " to " + candidate + " scheduled at " + at);
        assertThat(cluster.snapshot().switchover())
                .hasValueSatisfying(s -> assertThat(s.scheduledAt()).isEqualTo(at));

        TestCluster.CliRun list = cluster.warden("switchover", "--list");

        assertThat(list.exitCode()).as(list.toString()).isZero();
        assertThat(list.out().lines())
                .as(list.toString())
                .hasSize(2)
                .last()
                .asString()
                .startsWith("switchover")
                .contains(primary, candidate, at);

        TestCluster.CliRun cancel = cluster.warden("switchover", "--cancel");

        assertThat(cancel.exitCode()).as(cancel.toString()).isZero();
        assertThat(cancel.out().strip()).isEqualTo("cancelled the pending switchover to " + candidate);
        assertThat(cluster.snapshot().switchover()).isEmpty();
        TestCluster.CliRun listAgain = cluster.warden("switchover", "--list");
        assertThat(listAgain.out().strip()).as(listAgain.toString()).isEqualTo("no switchover is pending");
        TestCluster.CliRun cancelAgain = cluster.warden("switchover", "--cancel");
        assertThat(cancelAgain.exitCode()).as(cancelAgain.toString()).isEqualTo(1);
        assertThat(cancelAgain.err()).contains("no switchover is pending (HTTP 404)");
        assertThat(cluster.primary().name()).isEqualTo(primary);
    }

    @Test
    @Order(18)
    void failoverPromotesTheNamedReplicaAndHistoryRecordsTheNewTimelineAndWhy() {
        Member old = cluster.primary();
        String candidate = anyReplica();

        TestCluster.CliRun failover = cluster.warden("failover", "--candidate", candidate, "--force");

        assertThat(failover.exitCode()).as(failover.toString()).isZero();
        assertThat(failover.out().strip()).isEqualTo("failed over to " + candidate);
        Member promoted = cluster.primary();
        assertThat(promoted.name()).isEqualTo(candidate);
        assertThat(promoted.timeline()).isGreaterThan(old.timeline());
        await().atMost(Duration.ofMinutes(1)).ignoreExceptions().untilAsserted(() -> {
            Member m = cluster.snapshot().members().get(old.name());
            assertThat(m.state()).isEqualTo(MemberState.STREAMING);
            assertThat(m.timeline()).isEqualTo(promoted.timeline());
        });

        TestCluster.CliRun history = cluster.warden("history");

        assertThat(history.exitCode()).as(history.toString()).isZero();
        List<String> lines = history.out().lines().toList();
        assertThat(lines.getFirst()).contains("TL", "LSN", "NODE", "AT", "REASON");
        assertThat(lines.get(1).strip()).startsWith("1 ");
        assertThat(lines.get(1).substring(lines.getFirst().indexOf("REASON")))
                .as("in the REASON column")
                .isEqualTo("bootstrap");
        assertThat(lines.getLast().strip())
                .as(history.toString())
                .startsWith(promoted.timeline() + " ")
                .contains(candidate, "manual failover to me");

        TestCluster.CliRun asJson = cluster.warden("history", "--json");

        assertThat(asJson.exitCode()).as(asJson.toString()).isZero();
        JsonNode timelines = json(asJson.out());
        JsonNode last = timelines.get(timelines.size() - 1);
        assertThat(last.get("timeline").asLong()).isEqualTo(promoted.timeline());
        assertThat(last.get("member").asText()).isEqualTo(candidate);
        awaitHealthy();
    }

    @Test
    @Order(30)
    void downStopsEveryProcessOfTheDeploymentAndUpBringsTheSameClusterBackWithItsData() throws Exception {
        DeploymentState before = DeploymentState.read(cluster.dir);
        List<Long> pids = new ArrayList<>();
        before.etcd().forEach(e -> pids.add(e.pid()));
        before.nodes()
                .forEach(n -> pids.addAll(List.of(n.agentPid(), n.watchdogPid(), cluster.postmasterPid(n.name()))));
        before.routers().forEach(r -> pids.add(r.pid()));
        List<HistoryEntry> history = cluster.snapshot().history();

        TestCluster.CliRun down = cluster.warden("down");

        Instant stopped = Instant.now();
        assertThat(down.exitCode()).as(down.toString()).isZero();
        assertThat(down.out().strip()).isEqualTo("stopped the deployment in " + cluster.dir.toAbsolutePath());
        assertThat(pids)
                .as("pids of etcd, agents, watchdogs, postgres and routers")
                .noneMatch(Processes::alive);

        TestCluster.CliRun up = cluster.warden(
                "up",
                "--detach",
                "--isolation",
                "process",
                "--nodes",
                "3",
                "--base-port",
                Integer.toString(before.basePort()),
                "--cluster",
                before.cluster(),
                "--read-write-port",
                Integer.toString(before.routers().getFirst().readWritePort()),
                "--read-only-port",
                Integer.toString(before.routers().getFirst().readOnlyPort()));

        assertThat(up.exitCode()).as(up.toString()).isZero();
        assertThat(up.out())
                .contains("cluster '" + before.cluster() + "' is healthy")
                .contains("connect: psql");
        // The same data directories and etcd data: the tables and the timelines written before are there.
        assertThat(cluster.queryLong(cluster.primary().name(), "select count(*) from before_reinit"))
                .isEqualTo(100);
        List<HistoryEntry> after = cluster.snapshot().history();
        assertThat(after.subList(0, history.size())).isEqualTo(history);
        // Nobody was promoted while down stopped the nodes (the leader's agent goes last), so no timeline forked:
        // a promotion then and another at up gave two nodes the same timeline on different histories.
        assertThat(after.subList(history.size(), after.size()))
                .as(after.toString())
                .allSatisfy(entry -> assertThat(Instant.parse(entry.at())).isAfter(stopped));
        assertThat(after)
                .extracting(HistoryEntry::timeline)
                .as(after.toString())
                .doesNotHaveDuplicates()
                .isSorted();
    }
}
