package io.warden.it;

import static org.awaitility.Awaitility.await;

import io.warden.cli.Deployments;
import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.common.Processes;
import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.DeploymentState.NodeHost;
import io.warden.runtime.Fault;
import io.warden.runtime.LocalDeployment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A real local deployment for one integration test: three etcd members and N nodes (agents, watchdogs, postgres
 * 15), started through the same runtime as {@code warden up}, with the faults the tests inject: kill a host,
 * crash postgres, freeze an agent, cut a node's link, stop etcd members. {@link #close()} undoes every fault and
 * stops everything, also when the test failed.
 */
final class TestCluster implements AutoCloseable {
    private static final Path ROOT = Path.of("/tmp/warden-it");

    final Path dir;
    private DeploymentState state;
    private final Set<Long> frozen = ConcurrentHashMap.newKeySet();
    private final Set<String> cutLinks = ConcurrentHashMap.newKeySet();

    private LocalDeployment.Options options;
    private Duration certificateCheck;
    private boolean repair;

    private TestCluster(Path dir, DeploymentState state) {
        this.dir = dir;
        this.state = state;
        RUNNING.add(this);
    }

    /**
     * Once per test JVM, before the first cluster: what an earlier run that was killed left behind (cgroups, node
     * namespaces) goes, as ./warden up sweeps it. Each cluster's own directory is brought down anew on its start.
     */
    private static boolean swept;

    private static synchronized void sweepOnce() {
        if (!swept) {
            io.warden.runtime.local.Sweeper.sweep().forEach(line -> System.err.println("sweeper: " + line));
            swept = true;
        }
    }

    /** Starts a deployment and waits until it is healthy. Each test class passes its own base port, 300 apart: a deployment spans base+1 to base+2xx. */
    static TestCluster start(String name, int nodes, int basePort, String isolation) {
        return start(name, nodes, basePort, isolation, Map.of());
    }

    static TestCluster start(String name, int nodes, int basePort, String isolation, Map<String, String> extraConfig) {
        return start(name, nodes, basePort, isolation, extraConfig, Duration.ofHours(1));
    }

    /**
     * As {@link #start(String, int, int, String)}, with controllers that repair: the other test classes stop, kill and
     * freeze nodes on purpose and expect them back, so theirs only renew certificates.
     */
    static TestCluster startRepairing(String name, int nodes, int basePort, String isolation) {
        return start(name, nodes, basePort, isolation, Map.of(), Duration.ofHours(1), true);
    }

    static TestCluster start(
            String name,
            int nodes,
            int basePort,
            String isolation,
            Map<String, String> extraConfig,
            Duration certificateCheck) {
        return start(name, nodes, basePort, isolation, extraConfig, certificateCheck, false);
    }

    /**
     * As {@link #start(String, int, int, String, Map)}, with the controller checking the certificates every
     * {@code certificateCheck} (./warden up's --certificate-check) rather than hourly.
     */
    static TestCluster start(
            String name,
            int nodes,
            int basePort,
            String isolation,
            Map<String, String> extraConfig,
            Duration certificateCheck,
            boolean repair) {
        Path dir = ROOT.resolve(name);
        sweepOnce();
        try {
            Files.createDirectories(ROOT);
            Deployments.down(dir, true);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        // As ./warden up composes it: the secrets first, so every config points at them.
        var options =
                Deployments.upOptions(dir, nodes, basePort, isolation, "it", extraConfig, basePort + 61, basePort + 62);
        DeploymentState state = LocalDeployment.up(options);
        TestCluster cluster = new TestCluster(dir, state);
        cluster.options = options;
        cluster.certificateCheck = certificateCheck;
        cluster.repair = repair;
        try {
            Deployments.awaitHealthy(state, Duration.ofMinutes(3));
            // As ./warden up does once the cluster is healthy.
            cluster.state = LocalDeployment.startControllers(dir, certificateCheck, repair);
        } catch (RuntimeException e) {
            cluster.printLogTails();
            cluster.close();
            throw e;
        }
        return cluster;
    }

    /**
     * {@code warden down} keeping the data, then {@code warden up} again with the options of the first start, as an
     * operator restarting the machine would; waits until the deployment is healthy and its controllers run.
     */
    void downAndUpAgain() {
        synchronized (this) {
            if (dcs != null) {
                dcs.close();
                dcs = null;
            }
        }
        Deployments.down(dir, false);
        state = LocalDeployment.up(options);
        Deployments.awaitHealthy(state, Duration.ofMinutes(3));
        state = LocalDeployment.startControllers(dir, certificateCheck, repair);
    }

    /** The end of every node's logs on stderr: what CI shows when a deployment did not come up. */
    /** An extension for a test class sharing one cluster: prints its log tails when one of its tests fails. */
    /** The clusters started and not yet closed, whose logs {@link LogTailsOnFailure} shows when a test fails. */
    private static final java.util.Set<TestCluster> RUNNING = java.util.concurrent.ConcurrentHashMap.newKeySet();

    static java.util.List<TestCluster> running() {
        return java.util.List.copyOf(RUNNING);
    }

    void printLogTails() {
        for (NodeHost node : state.nodes()) {
            Path logDir = node.logDir();
            for (String log : List.of("agent.log", "postgres.log", "watchdog.log")) {
                // Postgres logs are long; the agent's decisions say more.
                try {
                    List<String> lines = Files.readAllLines(logDir.resolve(log));
                    List<String> useful = lines.stream()
                            .filter(l -> !l.contains("Unsafe") && !l.startsWith("WARNING: "))
                            .toList();
                    System.err.println("---- " + node.name() + "/" + log + " (last 25 lines)");
                    useful.subList(Math.max(0, useful.size() - 25), useful.size())
                            .forEach(System.err::println);
                } catch (IOException e) {
                    System.err.println("---- " + node.name() + "/" + log + ": " + e.getMessage());
                }
            }
        }
    }

    DeploymentState state() {
        return state;
    }

    private io.warden.dcs.EtcdDcs dcs;

    /** The cluster as etcd has it now, through one client kept for the test (a new gRPC client per poll is slow). */
    synchronized ClusterSnapshot snapshot() {
        if (dcs == null) {
            dcs = Deployments.dcs(state, Duration.ofSeconds(5));
        }
        return dcs.read();
    }

    /** The controllers' keys as etcd has them now: who leads, the repair under way, the event log. */
    synchronized io.warden.dcs.ControlStore.Snapshot control() {
        snapshot();
        return dcs.control().read();
    }

    /** Revokes a lease in etcd: every key bound to it vanishes at once, as if it had expired now. */
    synchronized void revokeLease(long leaseId) {
        snapshot();
        dcs.revokeLease(leaseId);
    }

    /** The node that holds the leader key and runs as primary; fails when there is none right now. */
    Member primary() {
        ClusterSnapshot cluster = snapshot();
        return cluster.leaderMember()
                .filter(m -> m.role() == Role.PRIMARY && m.state() == MemberState.RUNNING)
                .orElseThrow(() -> new AssertionError("no running primary; leader key: " + cluster.leader()));
    }

    /** Waits for a running primary other than {@code previous} (whose key may still be in etcd for a while). */
    Member awaitNewPrimary(String previous, Duration timeout) {
        return await().atMost(timeout)
                .pollInterval(Duration.ofMillis(100))
                .ignoreExceptions()
                .until(this::primary, m -> !m.name().equals(previous));
    }

    void awaitHealthy(Duration timeout) {
        try {
            Deployments.awaitHealthy(state, timeout);
        } catch (RuntimeException e) {
            printLogTails();
            throw e;
        }
    }

    NodeHost node(String name) {
        return state.nodes().stream()
                .filter(n -> n.name().equals(name))
                .findFirst()
                .orElseThrow();
    }

    int index(String name) {
        return Integer.parseInt(name.substring(name.lastIndexOf('-') + 1));
    }

    Path dataDir(String name) {
        return node(name).dataDir();
    }

    long postmasterPid(String name) {
        try {
            return Long.parseLong(Files.readAllLines(dataDir(name).resolve("postmaster.pid"))
                    .getFirst()
                    .strip());
        } catch (IOException e) {
            throw new IllegalStateException("no postmaster.pid for " + name, e);
        }
    }

    /** The postmaster running on the node's data directory, if one does. */
    java.util.Optional<Long> runningPostmaster(String name) {
        return Files.exists(dataDir(name).resolve("postmaster.pid"))
                ? java.util.Optional.of(postmasterPid(name)).filter(Processes::alive)
                : java.util.Optional.empty();
    }

    /** A JDBC connection straight to one node (not through libpq's host selection). */
    Connection connect(String name) throws SQLException {
        return connect(name, 10);
    }

    /** A connection straight to one node that waits up to {@code socketTimeoutSeconds} for an answer (0: for ever). */
    Connection connect(String name, int socketTimeoutSeconds) throws SQLException {
        NodeHost node = node(name);
        return connectUrl("jdbc:postgresql://" + node.host() + ":" + node.port() + "/postgres", socketTimeoutSeconds);
    }

    /**
     * A connection that reaches whichever node is primary, as an application would through the multi-host URI. When
     * none does, the error adds each node's own answer (pgjdbc's "could not find a server" names none of them).
     */
    Connection connectPrimary() throws SQLException {
        StringBuilder hosts = new StringBuilder();
        for (NodeHost node : state.nodes()) {
            hosts.append(hosts.isEmpty() ? "" : ",")
                    .append(node.host())
                    .append(':')
                    .append(node.port());
        }
        try {
            return connectUrl("jdbc:postgresql://" + hosts + "/postgres?targetServerType=primary");
        } catch (SQLException e) {
            throw new SQLException(e.getMessage() + "; each node: " + eachNodesAnswer(), e.getSQLState(), e);
        }
    }

    /**
     * A connection to the primary for a test's own setup: waits up to {@link #PRIMARY_WAIT} for a node that takes
     * writes, since a test may start a moment after the one before shook the cluster, and says once on the test's
     * output when it had to wait, with each node's answer, so a primary briefly unreachable shows in the log.
     */
    private Connection awaitPrimaryConnection() throws SQLException {
        long deadline = System.nanoTime() + PRIMARY_WAIT.toNanos();
        boolean said = false;
        while (true) {
            try {
                return connectPrimary();
            } catch (SQLException e) {
                if (System.nanoTime() - deadline > 0) {
                    printLogTails();
                    throw new SQLException("no node took writes within " + PRIMARY_WAIT.toSeconds() + " s", e);
                }
                if (!said) {
                    System.out.println("waiting for a node that takes writes: " + e.getMessage());
                    said = true;
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
    }

    private static final Duration PRIMARY_WAIT = Duration.ofSeconds(15);

    /** What each node answers a direct session right now: in recovery or not, or its error. */
    private String eachNodesAnswer() {
        List<String> answers = new ArrayList<>();
        for (NodeHost node : state.nodes()) {
            String answer;
            try (Connection c = connect(node.name(), 3);
                    Statement s = c.createStatement();
                    var rs = s.executeQuery("select pg_is_in_recovery()")) {
                rs.next();
                answer = rs.getBoolean(1) ? "in recovery" : "takes writes";
            } catch (SQLException e) {
                answer = e.getMessage();
            }
            answers.add(node.name() + ": " + answer);
        }
        return String.join("; ", answers);
    }

    private Connection connectUrl(String url) throws SQLException {
        return connectUrl(url, 10);
    }

    private Connection connectUrl(String url, int socketTimeoutSeconds) throws SQLException {
        Properties props = superuserLogin();
        props.setProperty("connectTimeout", "2");
        // pgjdbc remembers for 10 s which hosts of a multi-host URL were replicas and skips them: right after a
        // failover it would skip the new primary. A test asks the nodes as they are now.
        props.setProperty("hostRecheckSeconds", "0");
        props.setProperty("socketTimeout", Integer.toString(socketTimeoutSeconds));
        return DriverManager.getConnection(url, props);
    }

    /**
     * pgjdbc properties to log in as the superuser over TLS, verifying the node's certificate against the
     * deployment's CA as every client must; a caller adds the timeouts it needs.
     */
    Properties superuserLogin() {
        Properties props = verifiedTls();
        props.setProperty("user", "postgres");
        props.setProperty("password", superuserPassword());
        // From the loopback (every node in process isolation) postgres takes the superuser by certificate alone.
        Path tls = superuserTlsDir();
        props.setProperty("sslcert", tls.resolve("superuser.crt").toString());
        props.setProperty("sslkey", tls.resolve("superuser.pk8").toString());
        return props;
    }

    /**
     * The environment for psql or pgbench to log in as the superuser: its password, and its client certificate, which
     * is what postgres asks of the superuser from the loopback.
     */
    Map<String, String> superuserEnvironment() {
        Path tls = superuserTlsDir();
        return Map.of(
                "PGPASSWORD",
                superuserPassword(),
                "PGSSLCERT",
                tls.resolve("superuser.crt").toString(),
                "PGSSLKEY",
                tls.resolve("superuser.key").toString());
    }

    /**
     * Where a superuser client certificate is: beside the first node that still exists (every node's TLS dir has
     * one, and a repair removes the replaced node's with it).
     */
    private Path superuserTlsDir() {
        return DeploymentState.read(dir).nodes().stream()
                .map(n -> Deployments.tlsDir(dir, n.name()))
                .filter(tls -> Files.exists(tls.resolve("superuser.crt")))
                .findFirst()
                .orElse(Deployments.tlsDir(dir, "node-1"));
    }

    /** pgjdbc properties for TLS with {@code verify-full} against the deployment's CA (no client certificate). */
    Properties verifiedTls() {
        Properties props = new Properties();
        props.setProperty("sslmode", "verify-full");
        props.setProperty("sslrootcert", caFile().toString());
        props.setProperty("sslcert", "");
        return props;
    }

    /** The deployment CA's certificate, as ./warden uri hands it to clients. */
    Path caFile() {
        return DeploymentFile.CA_CERTIFICATE.in(dir);
    }

    /** The postgres superuser's password, from the owner-only file ./warden up keeps it in. */
    String superuserPassword() {
        return io.warden.security.PasswordFile.read(
                DeploymentFile.SUPERUSER_PASSWORD.in(dir), "the superuser's password");
    }

    long queryLong(String node, String sql) throws SQLException {
        try (Connection c = connect(node);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Every id in {@code table} on one node, read directly from it. */
    java.util.Set<Long> ids(String node, String table) throws SQLException {
        return new java.util.HashSet<>(queryColumn(node, "select id from " + table, row -> row.getLong(1)));
    }

    /** Reads a value from the current row of a result set. */
    @FunctionalInterface
    interface RowReader<T> {
        T read(ResultSet row) throws SQLException;
    }

    /** What {@code reader} reads from each row {@code sql} returns on one node, read directly from it, in order. */
    <T> List<T> queryColumn(String node, String sql, RowReader<T> reader) throws SQLException {
        List<T> values = new ArrayList<>();
        try (Connection c = connect(node);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                values.add(reader.read(rs));
            }
        }
        return values;
    }

    void executeOnPrimary(String sql) throws SQLException {
        try (Connection c = awaitPrimaryConnection();
                Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    /** A connection through both routers' read-write ports, as an application using `warden uri` would. */
    Connection connectThroughRouters() throws SQLException {
        StringBuilder hosts = new StringBuilder();
        for (DeploymentState.RouterProcess r : state.routers()) {
            hosts.append(hosts.isEmpty() ? "" : ",")
                    .append(r.host())
                    .append(':')
                    .append(r.readWritePort());
        }
        return connectUrl("jdbc:postgresql://" + hosts + "/postgres?targetServerType=primary");
    }

    /** A read-write session through router {@code index} (1-based) alone, willing to wait that long for answers. */
    Connection connectThroughRouter(int index, int socketTimeoutSeconds) throws SQLException {
        DeploymentState.RouterProcess r = state.routers().get(index - 1);
        return connectUrl(
                "jdbc:postgresql://" + r.host() + ":" + r.readWritePort() + "/postgres", socketTimeoutSeconds);
    }

    /** An agent REST API answer. */
    record ApiReply(int status, String body, String etag) {}

    /** Calls {@code node}'s agent API as the operator: with the deployment's token on whatever is not a GET. */
    ApiReply api(String node, String method, String path, String body, String ifMatch) {
        String authorization = method.equals("GET")
                ? null
                : io.warden.security.ApiToken.read(DeploymentFile.API_TOKEN.in(dir))
                        .authorization();
        return api(node, method, path, body, ifMatch, authorization);
    }

    /** Calls {@code node}'s agent API with {@code authorization} as the Authorization header (null: none). */
    ApiReply api(String node, String method, String path, String body, String ifMatch, String authorization) {
        NodeHost n = node(node);
        var request = java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("https://" + n.host() + ":" + n.apiPort() + path))
                .timeout(Duration.ofSeconds(150))
                .method(
                        method,
                        body == null
                                ? java.net.http.HttpRequest.BodyPublishers.noBody()
                                : java.net.http.HttpRequest.BodyPublishers.ofString(body));
        if (ifMatch != null) {
            request.header("If-Match", ifMatch);
        }
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        try {
            var response = http().send(request.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            return new ApiReply(
                    response.statusCode(),
                    response.body(),
                    response.headers().firstValue("ETag").orElse(null));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private java.net.http.HttpClient http;

    /** An HTTPS client that trusts this deployment's CA alone, as the CLI's: the agents serve their API over TLS. */
    synchronized java.net.http.HttpClient http() {
        if (http == null) {
            http = java.net.http.HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(5))
                    .sslContext(io.warden.common.PemTls.trusting(caFile()))
                    .build();
        }
        return http;
    }

    /** Runs a CLI command in this JVM, as an operator would run ./warden; returns its exit status. */
    int cli(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add(1, "--dir=" + dir);
        return new picocli.CommandLine(new io.warden.cli.Main())
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    System.err.println("warden " + String.join(" ", args) + ": " + e);
                    return 2;
                })
                .execute(all.toArray(String[]::new));
    }

    /** What one {@code ./warden} command printed on stdout and on stderr, and its exit status. */
    record CliRun(List<String> args, int exitCode, String out, String err) {
        /** For assertion messages: the command and everything it printed. */
        @Override
        public String toString() {
            return "warden " + String.join(" ", args) + " -> exit " + exitCode + "\n--- stdout\n" + out + "--- stderr\n"
                    + err;
        }
    }

    /**
     * Runs a CLI command against this deployment in a JVM of its own, as an operator's shell runs {@code ./warden}:
     * the same {@code Main} on this JVM's class path, launched as the agents are, so exit status and output are
     * the real ones. Stdout and stderr are kept apart (scripts read --json from stdout alone), which is why this
     * uses a ProcessBuilder and not {@link Processes#run}, whose output merges them.
     */
    CliRun warden(String... args) {
        return warden(Duration.ofMinutes(3), args);
    }

    /** As {@link #warden(String...)}, for a command that may run for up to {@code limit} (a rolling operation). */
    CliRun warden(Duration limit, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add(1, "--dir=" + dir);
        try {
            Path out = Files.createTempFile("warden-cli", ".out");
            Path err = Files.createTempFile("warden-cli", ".err");
            try {
                Process process = new ProcessBuilder(
                                LocalDeployment.javaCommand("-Xmx128m", all.toArray(String[]::new)))
                        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile())
                        .start();
                // Generous: reinit and restart wait inside the command for the node to stream again (up to 2 min).
                if (!process.waitFor(limit.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor();
                    throw new AssertionError(
                            "warden " + String.join(" ", args) + " did not finish within " + limit.toSeconds()
                                    + " s; stdout:\n"
                                    + Files.readString(out) + "\nstderr:\n" + Files.readString(err));
                }
                return new CliRun(List.of(args), process.exitValue(), Files.readString(out), Files.readString(err));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running warden " + String.join(" ", args), e);
        }
    }

    /**
     * Gives a node per-node settings (tags, say): its host goes down, its config file gets the YAML lines, and it
     * comes back, as an operator editing a node's config and restarting it would.
     */
    void reconfigureNode(String name, String yamlLines) {
        killHost(name);
        Path config = Path.of(node(name).configFile());
        try {
            Files.writeString(config, Files.readString(config) + yamlLines + "\n");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        restartHost(name);
    }

    List<Member> replicas() {
        return snapshot().members().values().stream()
                .filter(m -> m.role() == Role.REPLICA)
                .toList();
    }

    /** The replicas' names in order: a test that picks replicas by position picks the same ones on every run. */
    List<String> replicaNames() {
        return replicas().stream().map(Member::name).sorted().toList();
    }

    /**
     * Host loss, through the runtime's fault drill: everything in the node's container (agent, watchdog, postgres and
     * its backends) dies at once; without cgroups, the agent, the watchdog and postgres by pid.
     */
    void killHost(String name) {
        fault(Fault.KILL, name);
    }

    /** The whole host paused with the cgroup freezer, as a VM pause looks to the database; {@link #close} thaws. */
    void freezeHost(String name) {
        fault(Fault.FREEZE, name);
    }

    void thawHost(String name) {
        fault(Fault.THAW, name);
    }

    private String fault(Fault fault, String name) {
        return runtime().drill(fault, name);
    }

    /** The deployment's runtime, as the CLI and the controller drive it. */
    io.warden.runtime.Runtime runtime() {
        return Deployments.runtime(dir);
    }

    /** The host comes back: its watchdog and agent start again from its config and data directory. */
    void restartHost(String name) {
        runtime().start(name);
        state = DeploymentState.read(dir);
    }

    /** Reads the inventory again, after the runtime changed it (a node made, removed or resized). */
    DeploymentState refreshState() {
        state = DeploymentState.read(dir);
        return state;
    }

    void killPostmaster(String name) {
        ProcessHandle.of(postmasterPid(name)).ifPresent(ProcessHandle::destroyForcibly);
    }

    /** The controllers' own pids (their JVMs, not their supervisors), those that run now. */
    java.util.List<Long> controllerPids() {
        return LocalDeployment.CONTROLLER_IDS.stream()
                .map(id -> LocalDeployment.controllerPid(dir, id))
                .filter(pid -> pid > 0)
                .toList();
    }

    void freeze(long pid) {
        frozen.add(pid);
        Processes.signal(pid, "STOP");
    }

    void thaw(long pid) {
        Processes.signal(pid, "CONT");
        frozen.remove(pid);
    }

    /** Resumes whatever a test froze and did not thaw, so the next test on a shared cluster starts unfrozen. */
    void thawAll() {
        frozen.forEach(this::thaw);
    }

    /** The node's own directory: its config file, logs, watchdog socket and data directory. */
    Path nodeDir(String name) {
        return Path.of(node(name).configFile()).getParent();
    }

    /** Where the node's logs are: on its volume when it has one. */
    Path logDir(String name) {
        return node(name).logDir();
    }

    /** Everything the node's agent has logged; the log is appended to across restarts of the host. */
    String agentLog(String name) {
        try {
            return Files.readString(logDir(name).resolve("agent.log"));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** What the node's agent answers on {@code GET /status}: its member record, with a replica's WAL position read just now. */
    Member status(String name) {
        ApiReply reply = api(name, "GET", "/status", null, null);
        if (reply.status() != 200) {
            throw new AssertionError(name + " answered GET /status with " + reply.status() + ": " + reply.body());
        }
        try {
            return io.warden.common.Json.wire().readValue(reply.body(), Member.class);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The system identifier in the control file of the node's data directory (pg_controldata; postgres may be down). */
    String systemIdentifier(String name) {
        var result = Processes.run(
                List.of(
                        LocalDeployment.POSTGRES_BIN + "/pg_controldata",
                        "-D",
                        dataDir(name).toString()),
                Map.of("LC_ALL", "C.UTF-8"),
                Duration.ofSeconds(20));
        if (!result.ok()) {
            throw new AssertionError("pg_controldata on " + dataDir(name) + " failed: " + result.tail());
        }
        return result.output()
                .lines()
                .filter(l -> l.startsWith("Database system identifier:"))
                .map(l -> l.substring(l.indexOf(':') + 1).strip())
                .findFirst()
                .orElseThrow(() -> new AssertionError("no system identifier in pg_controldata's output for " + name));
    }

    void cutLink(String name) {
        cutLinks.add(name);
        fault(Fault.ISOLATE, name);
    }

    void restoreLink(String name) {
        fault(Fault.HEAL, name);
        cutLinks.remove(name);
    }

    /**
     * Restarts router {@code index} (1-based) with {@code etcdEndpoints} instead of the deployment's etcd, from a
     * second config file beside its own (so its log stays where it was), until {@link #restoreRouter}. {@link #close}
     * stops it by pid wherever it points.
     */
    DeploymentState.RouterProcess rerouteRouter(int index, List<String> etcdEndpoints) {
        DeploymentState.RouterProcess router = state.routers().get(index - 1);
        Path own = Path.of(router.configFile());
        Path rerouted = own.resolveSibling("config-rerouted.yml");
        try {
            String yaml = Files.readString(own);
            String etcd = etcdEndpoints.stream().map(e -> "  - " + e + "\n").reduce("etcd:\n", String::concat);
            Files.writeString(
                    rerouted,
                    yaml.replaceAll("(?m)^etcd:\n(  - .*\n)+", java.util.regex.Matcher.quoteReplacement(etcd)));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return relaunchRouter(router, rerouted);
    }

    /** Restarts router {@code index} on its own config again, after {@link #rerouteRouter}. */
    DeploymentState.RouterProcess restoreRouter(int index) {
        DeploymentState.RouterProcess router = state.routers().get(index - 1);
        Path own = Path.of(router.configFile()).resolveSibling("config.yml");
        return relaunchRouter(router, own);
    }

    private DeploymentState.RouterProcess relaunchRouter(DeploymentState.RouterProcess router, Path config) {
        Processes.stop(router.pid(), Duration.ofSeconds(10));
        DeploymentState.RouterProcess relaunched = LocalDeployment.relaunchRouter(
                dir,
                new DeploymentState.RouterProcess(
                        router.id(),
                        router.host(),
                        router.readWritePort(),
                        router.readOnlyPort(),
                        router.apiPort(),
                        config.toString(),
                        router.pid()));
        state = DeploymentState.read(dir);
        return relaunched;
    }

    long etcdPid(int member) {
        return state.etcd().get(member - 1).pid();
    }

    @Override
    public void close() {
        RUNNING.remove(this);
        synchronized (this) {
            if (dcs != null) {
                dcs.close();
            }
        }
        frozen.forEach(pid -> Processes.signal(pid, "CONT"));
        for (String name : cutLinks) {
            try {
                fault(Fault.HEAL, name);
            } catch (RuntimeException ignored) {
                // The namespace goes with down() anyway.
            }
        }
        Deployments.down(dir, !Boolean.getBoolean("warden.keepTestDirs"));
    }
}
