package io.warden.dcs;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.common.Processes;
import io.warden.runtime.EtcdIdentity;
import io.warden.runtime.LocalDeployment;
import io.warden.runtime.TlsFiles;
import io.warden.security.CertificateAuthority;
import io.warden.security.EtcdCertificates;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The contract against {@link EtcdDcs} on a real etcd: one member on 127.0.0.1 with free ports, started here in a
 * temporary directory of its own, stopped by its pid and the directory deleted, whatever the outcome. Each test gets a
 * cluster prefix of its own, so none sees another's keys; tests run one at a time, since one freezes etcd.
 *
 * <p>Its cost is the leases it lets expire (about 1.5 s each: a 1 s ttl and etcd's 500 ms expiry check) and the
 * timeouts of the cut-off test; the whole class takes 10-15 s.
 */
class EtcdDcsContractIT extends DcsContract {
    /** etcd checks for expired leases every 500 ms, and a slow machine may add as much again: well past that. */
    private static final Duration EXPIRY_SLACK = Duration.ofSeconds(5);

    private static final AtomicInteger CLUSTERS = new AtomicInteger();

    private static Path dir;
    private static long pid;
    private static String endpoint;
    private static EtcdTls tls;
    private static CertificateAuthority ca;
    private static TlsFiles client;
    private static List<String> command;

    @BeforeAll
    static void startEtcd() throws IOException {
        dir = Files.createTempDirectory("warden-dcs-contract-");
        try {
            int clientPort = freePort();
            int peerPort = freePort();
            endpoint = "https://127.0.0.1:" + clientPort;
            String peer = "https://127.0.0.1:" + peerPort;
            // TLS with client certificates, as every deployment's etcd runs: the contract holds for that.
            ca = CertificateAuthority.ensure(dir.resolve("ca.key"), dir.resolve("ca.crt"), "contract", Instant.now());
            EtcdCertificates.ensureMember(
                    ca, EtcdIdentity.MEMBER_COMMON_NAME, List.of("127.0.0.1"), dir.resolve("member"), Instant.now());
            EtcdCertificates.ensureClient(ca, "contract", dir.resolve("client"), Instant.now());
            TlsFiles member =
                    files(dir.resolve("member"), EtcdCertificates.MEMBER_CERTIFICATE, EtcdCertificates.MEMBER_KEY);
            client = files(dir.resolve("client"), EtcdCertificates.CLIENT_CERTIFICATE, EtcdCertificates.CLIENT_KEY);
            tls = new EtcdTls(Path.of(client.ca()), Path.of(client.certificate()), Path.of(client.key()));
            command = new java.util.ArrayList<>(List.of(
                    "etcd",
                    "--name",
                    "contract",
                    "--data-dir",
                    dir.resolve("data").toString(),
                    "--listen-client-urls",
                    endpoint,
                    "--advertise-client-urls",
                    endpoint,
                    "--listen-peer-urls",
                    peer,
                    "--initial-advertise-peer-urls",
                    peer,
                    "--initial-cluster",
                    "contract=" + peer,
                    "--initial-cluster-state",
                    "new"));
            // Tuned as a deployment's members are: etcd's shortest lease is then 1.5 election timeouts rounded up to
            // whole seconds, 1 s, and a lone member elects itself at once.
            command.addAll(LocalDeployment.ETCD_TUNING);
            command.addAll(LocalDeployment.etcdTlsArguments(member));
            launch();
        } catch (RuntimeException | Error e) {
            printLog();
            stopEtcd();
            throw e;
        }
    }

    private static void launch() {
        pid = Processes.startService(command, dir.resolve("etcd.log"), Map.of());
        Awaitility.await("etcd at " + endpoint + " healthy (see " + dir.resolve("etcd.log") + ")")
                .atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> LocalDeployment.etcdHealthy(endpoint, Optional.of(client)));
    }

    private static TlsFiles files(Path directory, String certificate, String key) {
        return new TlsFiles(
                directory.resolve(EtcdCertificates.CA).toString(),
                directory.resolve(certificate).toString(),
                directory.resolve(key).toString());
    }

    @AfterAll
    static void stopEtcd() {
        if (pid > 0) {
            Processes.stop(pid, Duration.ofSeconds(10));
            pid = 0;
        }
        if (dir != null) {
            deleteTree(dir);
            dir = null;
        }
    }

    @Override
    protected Dcs newStore(Duration requestTimeout) {
        return new EtcdDcs(
                List.of(endpoint), "contract-" + CLUSTERS.incrementAndGet(), requestTimeout, Optional.of(tls));
    }

    /** Not part of the contract (only etcd has a version): the warnings are those of the release the member runs. */
    @Test
    void theVersionWarningsAreThoseOfTheReleaseEachMemberRuns() {
        Processes.Result installed = Processes.run(List.of("etcd", "--version"), Duration.ofSeconds(10));
        Matcher version = Pattern.compile("etcd Version: (\\S+)").matcher(installed.output());
        assertThat(version.find())
                .as("etcd --version said: " + installed.output())
                .isTrue();

        List<String> warnings = ((EtcdDcs) dcs).versionWarnings();

        assertThat(warnings)
                .isEqualTo(EtcdVersions.warnings(version.group(1)).stream()
                        .map(warning -> "etcd member " + endpoint + ": " + warning)
                        .toList());
    }

    /**
     * Not part of the contract (it is about TLS): a client that outlives its etcd client certificate keeps its etcd
     * once the controller renewed the files, because it reads them again for the next connection. Without that, the
     * client would offer its expired certificate when it reconnects, and etcd would refuse it.
     */
    @Test
    void aClientPresentsItsRenewedCertificateWhenItReconnectsAfterTheOldOneExpired() throws Exception {
        Path clientDir = dir.resolve("renewing");
        // Issued as if almost 90 days ago: it expires 8 s from now, and etcd refuses it from then on.
        EtcdCertificates.ensureClient(
                ca,
                "renewing",
                clientDir,
                Instant.now().minus(CertificateAuthority.LIFETIME).plusSeconds(8));
        Path certificate = clientDir.resolve(EtcdCertificates.CLIENT_CERTIFICATE);
        Instant expires =
                CertificateAuthority.readCertificate(certificate).getNotAfter().toInstant();
        EtcdTls renewing = new EtcdTls(
                clientDir.resolve(EtcdCertificates.CA), certificate, clientDir.resolve(EtcdCertificates.CLIENT_KEY));
        EtcdDcs store = new EtcdDcs(List.of(endpoint), "renewal", Duration.ofSeconds(2), Optional.of(renewing));
        try {
            assertThat(store.grantLease(Duration.ofSeconds(5))).isPositive();
            assertThat(EtcdCertificates.ensureClient(ca, "renewing", clientDir, Instant.now()))
                    .as("due in its last 7 days, so renewed")
                    .isPresent();
            Awaitility.await("the first certificate expired")
                    .atMost(Duration.ofSeconds(30))
                    .until(() -> Instant.now().isAfter(expires.plusSeconds(1)));

            // A restart ends every connection: the client must make a new one, with a new handshake.
            Processes.stop(pid, Duration.ofSeconds(10));
            launch();

            Awaitility.await("the client back in etcd with its renewed certificate")
                    .atMost(Duration.ofSeconds(30))
                    .ignoreExceptions()
                    .until(() -> store.grantLease(Duration.ofSeconds(5)) > 0);
        } finally {
            store.close();
        }
    }

    /** Freezes etcd (SIGSTOP): its port still accepts connections and nothing answers, the worst case for a client. */
    @Override
    protected void whileCutOff(Dcs store, Runnable body) {
        if (!Processes.signal(pid, "STOP")) {
            throw new IllegalStateException("cannot freeze etcd (pid " + pid + ")");
        }
        try {
            body.run();
        } finally {
            Processes.signal(pid, "CONT");
        }
    }

    @Override
    protected void await(String what, BooleanSupplier condition) {
        Awaitility.await(what)
                .atMost(REQUEST_TIMEOUT)
                .pollInterval(Duration.ofMillis(20))
                .until(condition::getAsBoolean);
    }

    @Override
    protected void letLeasesExpire(Duration ttl, String what, BooleanSupplier condition) {
        Awaitility.await(what)
                .atMost(ttl.plus(EXPIRY_SLACK))
                .pollInterval(Duration.ofMillis(50))
                .until(condition::getAsBoolean);
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static void printLog() {
        try {
            List<String> lines = Files.readAllLines(dir.resolve("etcd.log"));
            System.err.println("---- etcd.log (last 25 lines)");
            lines.subList(Math.max(0, lines.size() - 25), lines.size()).forEach(System.err::println);
        } catch (IOException e) {
            System.err.println("---- etcd.log: " + e.getMessage());
        }
    }

    private static void deleteTree(Path root) {
        try (var paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.delete(path);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + root, e);
        }
    }
}
