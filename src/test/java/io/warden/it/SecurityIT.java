package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.warden.common.Processes;
import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState.NodeHost;
import io.warden.runtime.LocalDeployment;
import io.warden.security.CertificateAuthority;
import io.warden.security.NodeCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * docs/security.md's rows for connections, on one cluster whose nodes each have their own address (network
 * namespaces), so "from a member" and "from elsewhere" are different addresses: pg_hba.conf as the agents manage
 * it, replication only from the members, and no password method but scram-sha-256.
 */
@ExtendWith(SecurityCluster.class)
class SecurityIT {
    static TestCluster cluster;

    @BeforeAll
    static void start() {
        cluster = SecurityCluster.cluster();
    }

    @Test
    void everyNodesPgHbaAcceptsOnlyScramOverTlsPeerOnItsSocketAndRejectsTheRest() throws Exception {
        for (NodeHost node : cluster.state().nodes()) {
            List<String> methods = cluster.queryColumn(
                    node.name(),
                    "select distinct auth_method || case when error is null then '' else ' ' || error end"
                            + " from pg_hba_file_rules order by 1",
                    row -> row.getString(1));
            assertThat(methods).as(node.name()).isSubsetOf("peer", "scram-sha-256", "cert", "reject");
        }
    }

    @Test
    void adminEndsTheSessionsOfRolesItMadeButNeitherASuperusersNorTheWalsendersNorAReplicasWalReceiver()
            throws Exception {
        NodeHost primary = cluster.node(cluster.primary().name());
        String primaryUrl = "jdbc:postgresql://" + primary.host() + ":" + primary.port() + "/it";
        try (Connection admin = asAdmin();
                Statement s = admin.createStatement()) {
            s.execute("select warden.create_role('sessions_victim', 'victim-password-1')");
        }
        try (Connection victim = login(primaryUrl, "sessions_victim", "victim-password-1");
                Connection superuser = cluster.connect(primary.name());
                Connection admin = asAdmin();
                Statement s = admin.createStatement()) {
            long victimPid = ((org.postgresql.PGConnection) victim).getBackendPID();
            long superuserPid = ((org.postgresql.PGConnection) superuser).getBackendPID();
            for (String refused : List.of(
                    "select pg_terminate_backend(" + superuserPid + ")",
                    "select pg_cancel_backend(" + superuserPid + ")",
                    "select pg_terminate_backend(pid) from pg_stat_activity where backend_type = 'walsender'",
                    "select pg_terminate_backend(pid) from pg_stat_activity where backend_type = 'autovacuum launcher'")) {
                assertThatThrownBy(() -> s.execute(refused))
                        .as(refused)
                        .isInstanceOfSatisfying(
                                SQLException.class,
                                e -> assertThat(e.getSQLState())
                                        .as(e.getMessage())
                                        .isEqualTo("42501"));
            }
            assertThat(superuser.isValid(5)).as("the superuser's session").isTrue();
            // Not a backend at all: postgres answers false with a warning.
            try (var rs = s.executeQuery(
                    "select pg_terminate_backend(pid) from pg_stat_activity where backend_type = 'checkpointer'")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getBoolean(1)).as("the checkpointer ended").isFalse();
            }

            // Admin holds each role it made with warden.create_role, and a member may end its roles' sessions.
            try (var rs = s.executeQuery("select pg_terminate_backend(" + victimPid + ")")) {
                rs.next();
                assertThat(rs.getBoolean(1)).isTrue();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> !victim.isValid(1));
        }
        NodeHost replica = cluster.state().nodes().stream()
                .filter(n -> !n.name().equals(primary.name()))
                .findFirst()
                .orElseThrow();
        try (Connection admin = login(
                        "jdbc:postgresql://" + replica.host() + ":" + replica.port() + "/it",
                        "admin",
                        adminPassword());
                Statement s = admin.createStatement()) {
            // The WAL receiver is an auxiliary process, not a backend: postgres answers false (with a warning).
            try (var rs = s.executeQuery("select pg_terminate_backend(pid) from pg_stat_wal_receiver")) {
                assertThat(rs.next())
                        .as("admin sees the replica's WAL receiver")
                        .isTrue();
                assertThat(rs.getBoolean(1)).as("the WAL receiver ended").isFalse();
            }
        }
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(cluster.queryLong(
                                primary.name(),
                                "select count(*) from pg_stat_replication where state = 'streaming'"
                                        + " and backend_start < now() - interval '2 seconds'"))
                        .as("both replicas still stream on the connections they had")
                        .isEqualTo(2));
    }

    @Test
    void replicatorCannotLogInToADatabaseEvenWithItsOwnCertificate() throws Exception {
        NodeHost node = cluster.node(cluster.primary().name());
        Path tls = io.warden.cli.Deployments.tlsDir(cluster.dir, node.name());
        Processes.Result attempt = Processes.run(
                List.of(
                        LocalDeployment.POSTGRES_BIN + "/psql",
                        "host=" + node.host() + " port=" + node.port() + " user=replicator dbname=postgres"
                                + " sslmode=verify-full sslrootcert=" + cluster.caFile() + " sslcert="
                                + tls.resolve("replicator.crt") + " sslkey=" + tls.resolve("replicator.key")
                                + " connect_timeout=5",
                        "-c",
                        "select 1"),
                Map.of("LC_ALL", "C.UTF-8"),
                Duration.ofSeconds(20));

        assertThat(attempt.ok()).as(attempt.output()).isFalse();
        assertThat(attempt.output()).contains("pg_hba.conf rejects connection").contains("user \"replicator\"");
    }

    @Test
    void rotatingAdminsPasswordUnderAReconnectingLoadFailsNoConnectionThatUsedThePublishedPassword() throws Exception {
        Path file = DeploymentFile.ADMIN_PASSWORD.in(cluster.dir);
        String before = adminPassword();
        List<String> urls = List.of(routersUrl(false), routersUrl(true));
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger logins = new java.util.concurrent.atomic.AtomicInteger();
        List<String> failures = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        List<Thread> clients = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String url = urls.get(i % 2);
            clients.add(Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    // As a client that picks up the new password: read the file for every connection.
                    String password = adminPassword();
                    try (Connection c = login(url, "admin", password);
                            Statement s = c.createStatement()) {
                        s.execute("select 1");
                        logins.incrementAndGet();
                    } catch (SQLException e) {
                        failures.add(password + " " + url + ": " + e.getMessage());
                    }
                }
            }));
        }
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> logins.get() > 20);

            TestCluster.CliRun rotate = cluster.warden("credentials", "rotate", "admin");

            assertThat(rotate.exitCode()).as(rotate.toString()).isZero();
            assertThat(rotate.out()).contains("every replica has replayed it");
            assertThat(adminPassword()).isNotEqualTo(before);
            int loginsAtRotation = logins.get();
            await().atMost(Duration.ofSeconds(30)).until(() -> logins.get() > loginsAtRotation + 20);
        } finally {
            stop.set(true);
            for (Thread t : clients) {
                t.join(Duration.ofSeconds(30));
            }
            cluster.warden("edit-config", "--pg", "recovery_min_apply_delay=null");
        }
        String after = adminPassword();
        // A client still holding the old password fails from the moment the primary took the new one until the
        // file says so, as with any password change; one that read the new password never does.
        assertThat(failures).noneMatch(f -> f.startsWith(after));
        assertThatThrownBy(() -> login(urls.get(0), "admin", before).close())
                .as("the old password no longer logs in")
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("password authentication failed");
        assertThat(file.resolveSibling("admin-password.pending")).doesNotExist();
        String statements = String.join(
                "\n",
                cluster.queryColumn(
                        cluster.primary().name(),
                        "select query from pg_stat_activity",
                        r -> String.valueOf(r.getString(1))));
        assertThat(statements).doesNotContain(adminPassword());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-------");
    }

    /** Both routers' read-write (or read-only) port, as warden uri lists them, in admin's database. */
    private static String routersUrl(boolean readOnly) {
        return "jdbc:postgresql://"
                + cluster.state().routers().stream()
                        .map(r -> r.host() + ":" + (readOnly ? r.readOnlyPort() : r.readWritePort()))
                        .collect(java.util.stream.Collectors.joining(","))
                + "/it" + (readOnly ? "" : "?targetServerType=primary");
    }

    @Test
    void theControllerRenewsCertificatesNearTheirExpiryWhileEverythingRunsAndEachIsServedWithoutARestart()
            throws Exception {
        NodeHost node = cluster.state().nodes().getLast();
        Path tls = io.warden.cli.Deployments.tlsDir(cluster.dir, node.name());
        long postmaster =
                cluster.queryLong(node.name(), "select extract(epoch from pg_postmaster_start_time())::bigint");
        var member = cluster.state().etcd().get(1);
        var router = cluster.state().routers().getLast();
        Path memberDir = cluster.dir.resolve("etcd/tls/" + member.name());
        Path routerDir = Path.of(router.configFile()).getParent().resolve("etcd-client");
        long etcdPid = member.pid();
        // As each certificate would be 86 days after it was issued: valid for 4 more days, so due. Nobody runs a
        // command: the controller (checking every 2 s here, hourly by default) finds them.
        CertificateAuthority ca = CertificateAuthority.load(DeploymentFile.CA_KEY.in(cluster.dir), cluster.caFile());
        CertificateAuthority etcdCa = CertificateAuthority.load(
                DeploymentFile.ETCD_CA_KEY.in(cluster.dir), DeploymentFile.ETCD_CA_CERTIFICATE.in(cluster.dir));
        java.time.Instant issued = java.time.Instant.now().minus(Duration.ofDays(86));
        // Paused while the aging pairs go in: a round between a key and its certificate would renew the pair for
        // "its key does not match it", not for its expiry, which is what this test is about.
        // Both controllers: the standby would take over the rounds if only the leader were held.
        List<Long> controllers = cluster.controllerPids();
        assertThat(controllers).as("both controllers run").hasSize(2);
        controllers.forEach(cluster::freeze);
        try {
            plant(
                    ca.issue(
                            node.name(),
                            LocalDeployment.certificateNames(node.host()),
                            CertificateAuthority.Purpose.SERVER,
                            issued),
                    tls,
                    "server",
                    "postgres");
            plant(
                    etcdCa.issue(
                            io.warden.runtime.EtcdIdentity.MEMBER_COMMON_NAME,
                            NodeCertificates.alternativeNames(
                                            CertificateAuthority.readCertificate(memberDir.resolve("member.crt")))
                                    .stream()
                                    .toList(),
                            CertificateAuthority.Purpose.SERVER,
                            issued),
                    memberDir,
                    "member",
                    "root");
            plant(
                    etcdCa.issue(router.id(), List.of(), CertificateAuthority.Purpose.CLIENT, issued),
                    routerDir,
                    "client",
                    "root");
        } finally {
            controllers.forEach(cluster::thaw);
        }

        java.time.Instant renewedAfter = java.time.Instant.now().plus(Duration.ofDays(80));
        await().atMost(Duration.ofSeconds(60))
                .untilAsserted(() -> assertThat(List.of(
                                validUntil(tls.resolve("server.crt")),
                                validUntil(memberDir.resolve("member.crt")),
                                validUntil(routerDir.resolve("client.crt"))))
                        .allSatisfy(until -> assertThat(until).isAfter(renewedAfter)));
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(
                        () -> assertThat(served(node).getNotAfter().toInstant()).isAfter(renewedAfter));
        assertThat(etcdServed(member.clientUrl()).getNotAfter().toInstant())
                .as("etcd reads its certificate files again for each new connection")
                .isAfter(renewedAfter);
        assertThat(cluster.queryLong(node.name(), "select extract(epoch from pg_postmaster_start_time())::bigint"))
                .as("postgres was reloaded, not restarted")
                .isEqualTo(postmaster);
        assertThat(Processes.alive(etcdPid)).as("etcd was not restarted").isTrue();
        // Whichever controller leads renewed them: its log says so.
        String controllerLogs = Files.readString(
                        DeploymentFile.CONTROLLER.in(cluster.dir).resolve("controller-1.log"))
                + Files.readString(DeploymentFile.CONTROLLER.in(cluster.dir).resolve("controller-2.log"));
        assertThat(controllerLogs)
                .contains("renewed " + node.name() + "'s certificates (expires")
                .contains("renewed etcd member " + member.name() + "'s certificate (expires")
                .contains("renewed " + router.id() + "'s etcd client certificate (expires");

        TestCluster.CliRun listed = cluster.warden("certificates", "--renew");
        assertThat(listed.exitCode()).as(listed.toString()).isZero();
        assertThat(listed.out()).contains("nothing was due").containsPattern(node.name() + " +\\S+ +(89|90) ");
    }

    @Test
    void noPasswordOrTokenIsInTheInventoryOrAnyProcesssCommandLineOrEnvironmentEachHasAnOwnerOnlyFileOfItsOwn()
            throws Exception {
        List<Path> secrets = List.of(
                DeploymentFile.SUPERUSER_PASSWORD.in(cluster.dir),
                DeploymentFile.REPLICATION_PASSWORD.in(cluster.dir),
                DeploymentFile.ADMIN_PASSWORD.in(cluster.dir),
                DeploymentFile.API_TOKEN.in(cluster.dir),
                // The master key that wraps the volumes' keys (docs/runtime.md): never on a command line either.
                cluster.dir.resolve("master.key"));
        var state = cluster.state();
        List<Long> pids = new java.util.ArrayList<>();
        pids.addAll(cluster.controllerPids());
        state.controllers().forEach(c -> pids.add(c.supervisorPid()));
        state.routers().forEach(r -> pids.add(r.pid()));
        state.etcd().forEach(e -> pids.add(e.pid()));
        for (NodeHost node : state.nodes()) {
            pids.add(node.agentPid());
            pids.add(node.watchdogPid());
            Path postmaster = node.dataDir().resolve("postmaster.pid");
            pids.add(Long.parseLong(Files.readAllLines(postmaster).getFirst().strip()));
        }
        String inventory = Files.readString(io.warden.runtime.DeploymentState.file(cluster.dir));

        for (Path file : secrets) {
            String secret = Files.readString(file).strip();
            assertThat(secret).as(file.toString()).hasSizeGreaterThanOrEqualTo(20);
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                    .as(file.toString())
                    .isEqualTo("rw-------");
            assertThat(inventory).as("deployment.json").doesNotContain(secret);
            for (long pid : pids) {
                assertThat(pid).isPositive();
                String cmdline = Files.readString(Path.of("/proc/" + pid + "/cmdline"));
                String environ = new String(
                        Files.readAllBytes(Path.of("/proc/" + pid + "/environ")),
                        java.nio.charset.StandardCharsets.ISO_8859_1);
                assertThat(cmdline).as("the command line of pid " + pid).doesNotContain(secret);
                assertThat(environ).as("the environment of pid " + pid).doesNotContain(secret);
            }
        }
    }

    @Test
    void aSecondControllerUnderARunningOnesIdIsRefusedWhileTheFirstKeepsRunningAndListSaysSo() {
        List<Long> running = cluster.controllerPids();

        TestCluster.CliRun detached = cluster.warden("controller", "--detach");
        // Past the check of deployment.json, the lock: a controller started by hand meets the running one's.
        TestCluster.CliRun direct = cluster.warden("controller", "--id", "controller-1", "--certificate-check", "1h");
        TestCluster.CliRun listed = cluster.warden("list");

        assertThat(detached.exitCode()).as(detached.toString()).isEqualTo(2);
        assertThat(detached.err()).contains("the controllers already run");
        assertThat(direct.exitCode()).as(direct.toString()).isEqualTo(2);
        assertThat(direct.err()).contains("another controller already runs").contains("as controller-1");
        assertThat(running).hasSize(2).allMatch(Processes::alive);
        assertThat(listed.out())
                .contains("controller-1 running (pid " + running.get(0) + ",")
                .contains("controller-2 running (pid " + running.get(1) + ",");
    }

    /** Writes {@code pair} as {@code name}.key (owner-only, {@code owner}'s) and then {@code name}.crt into {@code dir}. */
    private static void plant(CertificateAuthority.Issued pair, Path dir, String name, String owner) throws Exception {
        Path staged = dir.resolve(name + ".key.test");
        Files.writeString(staged, pair.keyPem());
        Files.setPosixFilePermissions(staged, PosixFilePermissions.fromString("rw-------"));
        Processes.run(List.of("chown", owner, staged.toString()), Duration.ofSeconds(5));
        Files.move(staged, dir.resolve(name + ".key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(dir.resolve(name + ".crt"), pair.certificatePem());
    }

    private static java.time.Instant validUntil(Path certificate) {
        return CertificateAuthority.readCertificate(certificate).getNotAfter().toInstant();
    }

    /** The certificate the etcd member at {@code clientUrl} serves now, to the operator's client certificate. */
    private static java.security.cert.X509Certificate etcdServed(String clientUrl) throws Exception {
        java.net.URI url = java.net.URI.create(clientUrl);
        Path operator = DeploymentFile.OPERATOR_ETCD_CLIENT.in(cluster.dir);
        javax.net.ssl.SSLContext context = io.warden.common.PemTls.client(
                operator.resolve("ca.crt"), operator.resolve("client.crt"), operator.resolve("client.key"));
        try (javax.net.ssl.SSLSocket socket =
                (javax.net.ssl.SSLSocket) context.getSocketFactory().createSocket(url.getHost(), url.getPort())) {
            socket.startHandshake();
            return (java.security.cert.X509Certificate) socket.getSession().getPeerCertificates()[0];
        }
    }

    /** The certificate {@code node}'s postgres serves now: a TLS handshake after an SSLRequest, trusting anything. */
    private static java.security.cert.X509Certificate served(NodeHost node) throws Exception {
        try (java.net.Socket plain = new java.net.Socket(node.host(), node.port())) {
            plain.setSoTimeout(5000);
            java.io.DataOutputStream out = new java.io.DataOutputStream(plain.getOutputStream());
            out.writeInt(8);
            out.writeInt(80877103);
            out.flush();
            assertThat(plain.getInputStream().read()).as("postgres offers TLS").isEqualTo('S');
            javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
            context.init(
                    null,
                    new javax.net.ssl.TrustManager[] {
                        new javax.net.ssl.X509TrustManager() {
                            @Override
                            public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String type) {}

                            @Override
                            public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String type) {}

                            @Override
                            public java.security.cert.X509Certificate[] getAcceptedIssuers() {
                                return new java.security.cert.X509Certificate[0];
                            }
                        }
                    },
                    null);
            try (javax.net.ssl.SSLSocket tls = (javax.net.ssl.SSLSocket)
                    context.getSocketFactory().createSocket(plain, node.host(), node.port(), false)) {
                tls.startHandshake();
                return (java.security.cert.X509Certificate) tls.getSession().getPeerCertificates()[0];
            }
        }
    }

    @Test
    void theAgentsPeerRoleChecksAndRewindsFromAMemberByItsCertificateAndDoesNothingElseNorFromElsewhere() {
        NodeHost primary = cluster.node(cluster.primary().name());
        NodeHost replica = cluster.state().nodes().stream()
                .filter(n -> !n.name().equals(primary.name()))
                .findFirst()
                .orElseThrow();
        Path tls = io.warden.cli.Deployments.tlsDir(cluster.dir, replica.name());
        String conninfo = "host=" + primary.host() + " port=" + primary.port()
                + " user=warden_peer dbname=postgres sslmode=verify-full sslrootcert=" + tls.resolve("ca.crt")
                + " sslcert=" + tls.resolve("warden_peer.crt") + " sslkey=" + tls.resolve("warden_peer.key")
                + " connect_timeout=5";
        // As the replica's agent reaches the primary: from its own address, with its certificate (libpq wants the
        // key's owner, the postgres user, to run it).
        List<String> fromReplica = List.of("ip", "netns", "exec", replica.netns(), "runuser", "-u", "postgres", "--");

        Processes.Result checks = psqlAs(
                fromReplica,
                conninfo,
                "checkpoint",
                "select count(*) > 0 from pg_ls_waldir()",
                "select length(pg_read_binary_file('global/pg_control')) > 0");
        assertThat(checks.ok()).as(checks.output()).isTrue();
        assertThat(checks.output()).contains("CHECKPOINT").contains("t");
        for (String refused : List.of(
                "create table peer_was_here(id int)",
                "select rolpassword from pg_authid",
                "select pg_read_file('/etc/passwd')",
                "copy (select 1) to program 'id'")) {
            Processes.Result attempt = psqlAs(fromReplica, conninfo, refused);
            assertThat(attempt.ok()).as(refused + ": " + attempt.output()).isFalse();
            assertThat(attempt.output()).as(refused).containsAnyOf("permission denied", "must be superuser");
        }
        Processes.Result fromHost = psqlAs(List.of("runuser", "-u", "postgres", "--"), conninfo, "select 1");
        assertThat(fromHost.ok()).as(fromHost.output()).isFalse();
        assertThat(fromHost.output()).contains("pg_hba.conf rejects connection").contains("warden_peer");
    }

    private static Processes.Result psqlAs(List<String> prefix, String conninfo, String... statements) {
        List<String> command = new java.util.ArrayList<>(prefix);
        command.addAll(List.of(LocalDeployment.POSTGRES_BIN + "/psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", conninfo));
        for (String statement : statements) {
            command.addAll(List.of("-c", statement));
        }
        return Processes.run(command, Map.of("LC_ALL", "C.UTF-8"), Duration.ofSeconds(30));
    }

    @Test
    void aConnectionWithoutTlsIsRefusedByEveryNode() throws Exception {
        for (NodeHost node : cluster.state().nodes()) {
            Properties plain = new Properties();
            plain.setProperty("user", "postgres");
            plain.setProperty("password", cluster.superuserPassword());
            plain.setProperty("sslmode", "disable");
            plain.setProperty("connectTimeout", "5");
            String url = "jdbc:postgresql://" + node.host() + ":" + node.port() + "/postgres";

            assertThatThrownBy(() -> DriverManager.getConnection(url, plain).close())
                    .as(node.name())
                    .isInstanceOf(SQLException.class)
                    .hasMessageContaining("pg_hba.conf rejects connection")
                    .hasMessageContaining("no encryption");
            try (Connection verified = login(url.replace("/postgres", "/it"), "admin", adminPassword())) {
                assertThat(verified.isValid(5))
                        .as(node.name() + " over verified TLS")
                        .isTrue();
            }
        }
    }

    @Test
    void everyNodeServesACertificateOfItsOwnFromTheDeploymentsCaWithTheKeyOutsideItsDataDirectory() throws Exception {
        java.security.cert.X509Certificate ca = CertificateAuthority.readCertificate(cluster.caFile());
        Set<String> keys = new java.util.HashSet<>();
        for (NodeHost node : cluster.state().nodes()) {
            String certificateFile = cluster.queryColumn(node.name(), "show ssl_cert_file", r -> r.getString(1))
                    .getFirst();
            String dataDirectory = cluster.queryColumn(node.name(), "show data_directory", r -> r.getString(1))
                    .getFirst();
            assertThat(certificateFile).doesNotStartWith(dataDirectory);
            java.security.cert.X509Certificate served = CertificateAuthority.readCertificate(Path.of(certificateFile));
            served.verify(ca.getPublicKey());
            assertThat(NodeCertificates.alternativeNames(served))
                    .as(node.name() + " is named by its own address and both routers'")
                    .contains(node.host(), "127.0.0.1", "127.0.0.2")
                    .noneMatch(name -> name.contains("*"));
            keys.add(java.util.HexFormat.of().formatHex(served.getPublicKey().getEncoded()));
        }
        assertThat(keys).as("one key per node").hasSize(cluster.state().nodes().size());
    }

    @Test
    void eachAgentLogsInToItsOwnPostgresAsTheSuperuserByACertificateWhoseKeyThePostgresOsUserCannotRead()
            throws Exception {
        for (NodeHost node : cluster.state().nodes()) {
            // The agent's own sessions, from the loopback; the test's query comes from elsewhere, by password.
            await().atMost(Duration.ofSeconds(15))
                    .untilAsserted(() -> assertThat(cluster.queryColumn(
                                    node.name(),
                                    "select coalesce(s.client_dn, '(no certificate)') from pg_stat_ssl s"
                                            + " join pg_stat_activity a using (pid)"
                                            + " where a.application_name = 'warden-agent' and a.usename = 'postgres'"
                                            + " and a.client_addr = '127.0.0.1'",
                                    row -> row.getString(1)))
                            .as(node.name())
                            .isNotEmpty()
                            .containsOnly("/CN=postgres"));

            Path key =
                    io.warden.cli.Deployments.tlsDir(cluster.dir, node.name()).resolve("superuser.pk8");
            Processes.Result read = Processes.run(
                    List.of("runuser", "-u", "postgres", "--", "cat", key.toString()), Duration.ofSeconds(10));
            assertThat(read.ok()).as(node.name() + ": " + read.output()).isFalse();
            assertThat(read.output()).contains("Permission denied");
        }
    }

    @Test
    void theCaKeyIsNotReadableByThePostgresOsUser() {
        Path key = DeploymentFile.CA_KEY.in(cluster.dir);
        assertThat(key).exists();
        Processes.Result read = Processes.run(
                List.of("runuser", "-u", "postgres", "--", "cat", key.toString()), Duration.ofSeconds(10));

        assertThat(read.ok()).as(read.output()).isFalse();
        assertThat(read.output()).contains("Permission denied");
    }

    @Test
    void aReplicationConnectionFromAnAddressThatIsNotAMemberIsRefusedWhileTheMembersStream() throws Exception {
        String primary = cluster.primary().name();
        NodeHost target = cluster.node(primary);
        // From the host's side of the node's link: an address of this machine, not of any member.
        Processes.Result attempt = Processes.run(
                List.of(
                        LocalDeployment.POSTGRES_BIN + "/psql",
                        "host=" + target.host() + " port=" + target.port()
                                + " user=replicator dbname=replication replication=true sslmode=verify-full"
                                + " sslrootcert=" + cluster.caFile()
                                + " connect_timeout=5",
                        "-c",
                        "IDENTIFY_SYSTEM"),
                Map.of(
                        "PGPASSWORD",
                        io.warden.security.PasswordFile.read(
                                DeploymentFile.REPLICATION_PASSWORD.in(cluster.dir), "the replicator's password"),
                        "LC_ALL",
                        "C.UTF-8"),
                Duration.ofSeconds(20));

        assertThat(attempt.ok()).as(attempt.output()).isFalse();
        assertThat(attempt.output()).contains("no pg_hba.conf entry for replication connection from host");
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(cluster.queryLong(
                                primary, "select count(*) from pg_stat_replication where state = 'streaming'"))
                        .as("the members stream")
                        .isEqualTo(2));
    }

    @Test
    void aRoleWhosePasswordIsStoredAsAnMd5HashCannotLogIn() throws Exception {
        String primary = cluster.primary().name();
        try (Connection c = cluster.connect(primary);
                Statement s = c.createStatement()) {
            s.execute("set password_encryption = 'md5'");
            s.execute("create role legacy login password 'legacy-password-1'");
            s.execute("reset password_encryption");
            s.execute("create role modern login password 'modern-password-1'");
        }
        NodeHost node = cluster.node(primary);
        String url = "jdbc:postgresql://" + node.host() + ":" + node.port() + "/postgres";

        assertThatThrownBy(() -> login(url, "legacy", "legacy-password-1"))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("password authentication failed for user \"legacy\"");
        try (Connection modern = login(url, "modern", "modern-password-1")) {
            assertThat(modern.isValid(5))
                    .as("a role with a scram-sha-256 secret logs in")
                    .isTrue();
        }
    }

    private static String adminPassword() {
        return io.warden.security.AdminPassword.read(DeploymentFile.ADMIN_PASSWORD.in(cluster.dir));
    }

    /** A session as admin, straight to the primary's postgres, in the database admin owns. */
    private static Connection asAdmin() throws SQLException {
        NodeHost node = cluster.node(cluster.primary().name());
        return login(
                "jdbc:postgresql://" + node.host() + ":" + node.port() + "/it",
                "admin",
                io.warden.security.AdminPassword.read(DeploymentFile.ADMIN_PASSWORD.in(cluster.dir)));
    }

    /** The roles, their powers and memberships, read by the superuser: what no refused attempt may change. */
    private static List<String> rolesAndMemberships() throws SQLException {
        String primary = cluster.primary().name();
        List<String> all = new java.util.ArrayList<>(cluster.queryColumn(
                primary,
                "select rolname || ' super=' || rolsuper || ' createrole=' || rolcreaterole || ' replication='"
                        + " || rolreplication || ' bypassrls=' || rolbypassrls || ' login=' || rolcanlogin"
                        + " from pg_roles order by 1",
                row -> row.getString(1)));
        all.addAll(cluster.queryColumn(
                primary,
                "select roleid::regrole || ' <- ' || member::regrole from pg_auth_members order by 1",
                row -> row.getString(1)));
        return all;
    }

    @Test
    void adminLogsInToItsOwnDatabaseAndReadsAndWritesThereWithoutBeingASuperuser() throws Exception {
        try (Connection admin = asAdmin();
                Statement s = admin.createStatement()) {
            s.execute("create table if not exists notes(id int primary key, body text)");
            s.execute("insert into notes values (1, 'hello') on conflict do nothing");
            try (var rs =
                    s.executeQuery("select (select body from notes where id = 1), current_setting('is_superuser'),"
                            + " pg_has_role('admin', 'pg_read_all_data', 'member'), current_database()")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("hello");
                assertThat(rs.getString(2)).as("is_superuser").isEqualTo("off");
                assertThat(rs.getBoolean(3)).as("member of pg_read_all_data").isTrue();
                assertThat(rs.getString(4)).isEqualTo("it");
            }
        }
    }

    @Test
    void adminManagesRolesFromPsqlThroughWardensFunctionsAndGrantsThemWithPlainSql() throws Exception {
        NodeHost node = cluster.node(cluster.primary().name());
        String url = "jdbc:postgresql://" + node.host() + ":" + node.port() + "/it";
        try (Connection admin = asAdmin();
                Statement s = admin.createStatement()) {
            s.execute("create table if not exists notes(id int primary key, body text)");
            s.execute("insert into notes values (1, 'hello') on conflict do nothing");
            s.execute("select warden.create_role('app', " + "'" + "app-password-1')");
            s.execute("grant select on notes to app");
        }
        try (Connection app = login(url, "app", "app-password-1");
                Statement s = app.createStatement();
                var rs = s.executeQuery("select body from notes where id = 1")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("hello");
            assertThatThrownBy(() -> s.execute("insert into notes values (2, 'no')"))
                    .isInstanceOfSatisfying(
                            SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("42501"));
        }
        try (Connection admin = asAdmin();
                Statement s = admin.createStatement()) {
            s.execute("select warden.set_password('app', 'app-password-2')");
        }
        try (Connection app = login(url, "app", "app-password-2")) {
            assertThat(app.isValid(5)).as("the new password").isTrue();
        }
        try (Connection admin = asAdmin();
                Statement s = admin.createStatement()) {
            s.execute("revoke select on notes from app");
            s.execute("select warden.drop_role('app')");
        }
        assertThat(rolesAndMemberships()).noneMatch(r -> r.startsWith("app "));
    }

    /** docs/security.md's attack table: each statement, run as admin, is refused for lack of privilege. */
    static List<String> attacks() {
        return List.of(
                "alter role admin superuser",
                "create role intruder superuser login",
                "create role intruder login",
                "alter role admin replication",
                "alter role admin bypassrls",
                "grant pg_execute_server_program to admin",
                "grant pg_read_server_files to admin",
                "grant pg_write_server_files to admin",
                "grant pg_signal_backend to admin",
                "copy notes(body) from program 'id'",
                "copy notes(body) from '/etc/passwd'",
                "copy notes to '/tmp/warden-notes'",
                "select pg_read_file('postgresql.conf')",
                "select pg_ls_dir('.')",
                "alter system set work_mem = '1MB'",
                "select lo_import('/etc/passwd')",
                "set role postgres",
                "set role replicator",
                "set session authorization postgres",
                "load 'auto_explain'",
                "alter role replicator password 'taken-over-1'",
                "drop role replicator",
                "grant replicator to admin",
                "grant warden_peer to admin",
                "set role warden_peer",
                "alter role warden_peer superuser",
                "select warden.create_role('warden_peer')",
                "alter role postgres nologin",
                "select pg_terminate_backend(pid) from pg_stat_activity where backend_type = 'walsender'",
                "select pg_reload_conf()",
                "create extension adminpack",
                "select warden.create_role('pg_evil')",
                "select warden.create_role('replicator')",
                "select warden.create_role('x''; alter role admin superuser; --')",
                "select warden.drop_role('replicator')",
                "select warden.set_password('postgres', 'taken-over-2')",
                "select warden.check_name('anything')",
                "select warden.check_managed('anything')");
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.MethodSource("attacks")
    void asAdminThisIsRefusedForLackOfPrivilegeAndNoRoleChanges(String attack) throws Exception {
        try (Connection admin = asAdmin();
                Statement s = admin.createStatement()) {
            s.execute("create table if not exists notes(id int primary key, body text)");
        }
        List<String> before = rolesAndMemberships();

        try (Connection admin = asAdmin();
                Statement s = admin.createStatement()) {
            assertThatThrownBy(() -> s.execute(attack))
                    .as(attack)
                    .isInstanceOfSatisfying(
                            SQLException.class,
                            e -> assertThat(e.getSQLState()).as(e.getMessage()).isEqualTo("42501"));
        }

        assertThat(rolesAndMemberships())
                .as("roles and memberships after: " + attack)
                .isEqualTo(before);
    }

    private static Connection login(String url, String user, String password) throws SQLException {
        Properties props = cluster.verifiedTls();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("connectTimeout", "5");
        return DriverManager.getConnection(url, props);
    }

    // etcd: whoever can write /warden/<cluster>/config controls the database, so only Warden's certificates get in.

    /** etcdctl (Debian's etcd-client) against the first member, with {@code tls} options; its exit and output. */
    private static Processes.Result etcdctl(String endpoint, List<String> tls, String... command) {
        return etcdctl("2s", endpoint, tls, command);
    }

    /**
     * etcdctl with its dial timeout: a client etcd refuses is dialled again until then, so the refused clients' test
     * gives it one second where a client that gets in needs milliseconds.
     */
    private static Processes.Result etcdctl(String dialTimeout, String endpoint, List<String> tls, String... command) {
        List<String> line = new java.util.ArrayList<>(
                List.of("etcdctl", "--endpoints=" + endpoint, "--dial-timeout=" + dialTimeout, "--command-timeout=3s"));
        line.addAll(tls);
        line.addAll(List.of(command));
        return Processes.run(line, Map.of("ETCDCTL_API", "3"), Duration.ofSeconds(20));
    }

    private static String firstMember() {
        return cluster.state().etcd().getFirst().clientUrl();
    }

    /** etcdctl's TLS options for the operator's client certificate, which ./warden up issued. */
    private static List<String> operatorCertificate() {
        io.warden.runtime.TlsFiles operator = cluster.state().etcdClientTls().orElseThrow();
        return List.of("--cacert=" + operator.ca(), "--cert=" + operator.certificate(), "--key=" + operator.key());
    }

    /**
     * The config key as etcd has it (value and revisions; not the answer's header, whose revision every member
     * update moves), read with the operator's certificate.
     */
    private static String configKey() throws java.io.IOException {
        Processes.Result read =
                etcdctl(firstMember(), operatorCertificate(), "get", "--write-out=json", "/warden/it/config");
        assertThat(read.ok()).as(read.output()).isTrue();
        return io.warden.common.Json.wire().readTree(read.output()).path("kvs").toString();
    }

    @Test
    void etcdctlWithAWardenIssuedClientCertificateReadsTheClusterKeys() {
        Processes.Result leader =
                etcdctl(firstMember(), operatorCertificate(), "get", "--print-value-only", "/warden/it/leader");

        assertThat(leader.ok()).as(leader.output()).isTrue();
        assertThat(leader.output().strip()).isEqualTo(cluster.primary().name());
    }

    /** The ways to reach etcd without a Warden-issued client certificate, each with the etcdctl options it takes. */
    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> etcdClientsWithoutAWardenCertificate()
            throws Exception {
        io.warden.runtime.TlsFiles operator = cluster.state().etcdClientTls().orElseThrow();
        Path elsewhere = cluster.dir.resolve("another-ca");
        CertificateAuthority other = CertificateAuthority.ensure(
                elsewhere.resolve("ca.key"), elsewhere.resolve("ca.crt"), "elsewhere", java.time.Instant.now());
        io.warden.security.EtcdCertificates.ensureClient(
                other, "operator", elsewhere.resolve("client"), java.time.Instant.now());
        Path client = elsewhere.resolve("client");
        Path nodeTls = cluster.nodeDir("node-1").resolve("tls");
        String https = firstMember();
        return java.util.stream.Stream.of(
                org.junit.jupiter.params.provider.Arguments.of(
                        "no certificate, not even etcd's CA", https, List.of("--insecure-skip-tls-verify")),
                org.junit.jupiter.params.provider.Arguments.of(
                        "etcd's CA but no client certificate", https, List.of("--cacert=" + operator.ca())),
                org.junit.jupiter.params.provider.Arguments.of(
                        "plain http", https.replace("https://", "http://"), List.of()),
                org.junit.jupiter.params.provider.Arguments.of(
                        "a client certificate from another CA",
                        https,
                        List.of(
                                "--cacert=" + operator.ca(),
                                "--cert=" + client.resolve(io.warden.security.EtcdCertificates.CLIENT_CERTIFICATE),
                                "--key=" + client.resolve(io.warden.security.EtcdCertificates.CLIENT_KEY))),
                org.junit.jupiter.params.provider.Arguments.of(
                        "a node's replicator certificate (the deployment CA's, readable by the postgres OS user)",
                        https,
                        List.of(
                                "--cacert=" + operator.ca(),
                                "--cert=" + nodeTls.resolve(NodeCertificates.REPLICATOR_CERTIFICATE),
                                "--key=" + nodeTls.resolve(NodeCertificates.REPLICATOR_KEY))));
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.MethodSource("etcdClientsWithoutAWardenCertificate")
    void etcdRefusesToReadOrWriteTheClusterKeysForAClientWithoutAWardenIssuedCertificate(
            String who, String endpoint, List<String> tls) throws java.io.IOException {
        String before = configKey();

        Processes.Result read = etcdctl("1s", endpoint, tls, "get", "--prefix", "/warden/");
        Processes.Result write = etcdctl("1s", endpoint, tls, "put", "/warden/it/config", "{\"postgresql\":{}}");

        assertThat(read.ok()).as(who + " reading: " + read.output()).isFalse();
        assertThat(read.output()).as(who).doesNotContain("/warden/it/leader");
        assertThat(write.ok()).as(who + " writing: " + write.output()).isFalse();
        assertThat(configKey()).as("the config key after " + who).isEqualTo(before);
    }

    @Test
    void etcdsPeerPortTakesAMembersCertificateButNotAClientCertificateFromTheSameCa() {
        io.warden.runtime.TlsFiles operator = cluster.state().etcdClientTls().orElseThrow();
        Path member = cluster.dir.resolve("etcd/tls/e2");
        String peerMembers = cluster.state().etcd().getFirst().peerUrl() + "/members";

        Processes.Result asClient = peerPortGet(peerMembers, operator.ca(), operator.certificate(), operator.key());
        Processes.Result asMember = peerPortGet(
                peerMembers,
                operator.ca(),
                member.resolve(io.warden.security.EtcdCertificates.MEMBER_CERTIFICATE)
                        .toString(),
                member.resolve(io.warden.security.EtcdCertificates.MEMBER_KEY).toString());

        assertThat(asClient.ok())
                .as("the operator's client certificate on the peer port: " + asClient.output())
                .isFalse();
        assertThat(asClient.output()).doesNotContain("peerURLs").containsIgnoringCase("ssl");
        assertThat(asMember.ok())
                .as("a member's certificate on the peer port: " + asMember.output())
                .isTrue();
        assertThat(asMember.output()).contains("peerURLs");
    }

    /** A GET of {@code url} on an etcd peer port with curl, presenting {@code certificate}. */
    private static Processes.Result peerPortGet(String url, String ca, String certificate, String key) {
        return Processes.run(
                List.of(
                        "curl",
                        "-sS",
                        "--http1.1",
                        "--max-time",
                        "5",
                        "--fail",
                        "--cacert",
                        ca,
                        "--cert",
                        certificate,
                        "--key",
                        key,
                        url),
                Duration.ofSeconds(20));
    }
}
