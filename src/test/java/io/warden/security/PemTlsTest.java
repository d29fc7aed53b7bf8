package io.warden.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.PemTls;
import io.warden.common.WardenException;
import io.warden.security.CertificateAuthority.Issued;
import io.warden.security.CertificateAuthority.Purpose;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Warden's TLS contexts over real loopback handshakes: a renewed pair is presented from the next handshake on, by a
 * server and by a client alike, without building the context again (what keeps a long-running agent or router in
 * etcd after its certificate is renewed).
 */
class PemTlsTest {
    private static final Instant NOW = Instant.now();

    @TempDir
    Path dir;

    private CertificateAuthority ca;

    private CertificateAuthority ca() {
        if (ca == null) {
            ca = CertificateAuthority.ensure(dir.resolve("ca/ca.key"), dir.resolve("ca.crt"), "test", NOW);
        }
        return ca;
    }

    /** Writes a fresh pair into {@code name}.crt/.key, stamped a second later than any earlier write. */
    private BigInteger write(String name, Purpose purpose, int generation) throws IOException {
        Issued issued = ca().issue(name, List.of("127.0.0.1"), purpose, NOW);
        Path key = dir.resolve(name + ".key");
        Path certificate = dir.resolve(name + ".crt");
        writeKey(key, issued.keyPem());
        Files.writeString(certificate, issued.certificatePem(), StandardCharsets.US_ASCII);
        // File times are coarse on some filesystems: make each generation's stamp differ for certain.
        FileTime stamp = FileTime.from(NOW.plusSeconds(generation));
        Files.setLastModifiedTime(key, stamp);
        Files.setLastModifiedTime(certificate, stamp);
        return issued.certificate().getSerialNumber();
    }

    /** Writes a key as Warden does: readable and writable by its owner alone. */
    private static void writeKey(Path key, String pem) throws IOException {
        Files.writeString(key, pem, StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    }

    /** What one handshake showed each side: the serial of the certificate it got from the other. */
    private record Seen(BigInteger byServer, BigInteger byClient) {}

    /** One handshake; with {@code mutual} the server demands the client's certificate. */
    private static Seen handshake(SSLContext server, SSLContext client, boolean mutual) throws Exception {
        try (SSLServerSocket listening = (SSLServerSocket)
                server.getServerSocketFactory().createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            listening.setNeedClientAuth(mutual);
            CompletableFuture<BigInteger> accepted = CompletableFuture.supplyAsync(() -> {
                try (SSLSocket socket = (SSLSocket) listening.accept()) {
                    socket.startHandshake();
                    BigInteger serial = mutual
                            ? ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber()
                            : null;
                    socket.getInputStream().read();
                    return serial;
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (SSLSocket socket = (SSLSocket) client.getSocketFactory()
                    .createSocket(InetAddress.getLoopbackAddress(), listening.getLocalPort())) {
                socket.startHandshake();
                BigInteger served = ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
                socket.getOutputStream().write(1);
                return new Seen(accepted.get(10, TimeUnit.SECONDS), served);
            }
        }
    }

    private static BigInteger servedSerial(SSLContext server, SSLContext client) throws Exception {
        return handshake(server, client, false).byClient();
    }

    /** Which side's pair is renewed while its context stays the same. */
    enum Side {
        CLIENT,
        SERVER
    }

    @ParameterizedTest(name = "the {0} presents its renewed certificate from the next handshake on")
    @EnumSource(Side.class)
    void aRenewedPairIsPresentedFromTheNextHandshakeOnWithTheSameContext(Side renewing) throws Exception {
        BigInteger[] serial = {write("server", Purpose.SERVER, 0), write("client", Purpose.CLIENT, 0)};
        SSLContext server = PemTls.client(dir.resolve("ca.crt"), dir.resolve("server.crt"), dir.resolve("server.key"));
        SSLContext client = PemTls.client(dir.resolve("ca.crt"), dir.resolve("client.crt"), dir.resolve("client.key"));
        assertThat(handshake(server, client, true)).isEqualTo(new Seen(serial[1], serial[0]));

        BigInteger renewed =
                renewing == Side.SERVER ? write("server", Purpose.SERVER, 1) : write("client", Purpose.CLIENT, 1);
        serial[renewing == Side.SERVER ? 0 : 1] = renewed;

        assertThat(handshake(server, client, true)).isEqualTo(new Seen(serial[1], serial[0]));
    }

    @Test
    void aHalfWrittenRenewalKeepsThePairThatWorks() throws Exception {
        BigInteger first = write("server", Purpose.SERVER, 0);
        SSLContext server = PemTls.server(dir.resolve("server.crt"), dir.resolve("server.key"));
        SSLContext client = PemTls.trusting(dir.resolve("ca.crt"));
        // A renewal cut short: the new key is on disk, its certificate is not.
        writeKey(
                dir.resolve("server.key"),
                ca().issue("server", List.of("127.0.0.1"), Purpose.SERVER, NOW).keyPem());
        Files.setLastModifiedTime(dir.resolve("server.key"), FileTime.from(NOW.plusSeconds(5)));

        assertThat(servedSerial(server, client)).isEqualTo(first);
    }

    @Test
    void aClientThatTrustsAnotherCaRefusesTheServer() throws Exception {
        write("server", Purpose.SERVER, 0);
        SSLContext server = PemTls.server(dir.resolve("server.crt"), dir.resolve("server.key"));
        CertificateAuthority.ensure(dir.resolve("other/ca.key"), dir.resolve("other.crt"), "other", NOW);
        SSLContext stranger = PemTls.trusting(dir.resolve("other.crt"));

        assertThatThrownBy(() -> servedSerial(server, stranger)).isInstanceOf(SSLHandshakeException.class);
    }

    @Test
    void aKeyThatDoesNotBelongToItsCertificateIsRefusedAtTheStart() throws Exception {
        write("server", Purpose.SERVER, 0);
        writeKey(
                dir.resolve("server.key"),
                ca().issue("other", List.of("127.0.0.1"), Purpose.SERVER, NOW).keyPem());

        assertThatThrownBy(() -> PemTls.server(dir.resolve("server.crt"), dir.resolve("server.key")))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("does not belong to the certificate");
    }

    @Test
    void aHandshakeGetsTheKeyAndTheCertificateOfOneGenerationWhenARenewalLandsBetweenItsQuestions() throws Exception {
        BigInteger first = write("server", Purpose.SERVER, 0);
        javax.net.ssl.X509ExtendedKeyManager keys =
                PemTls.keyManager(dir.resolve("server.crt"), dir.resolve("server.key"));
        String chosen = keys.chooseServerAlias("EC", null, null);

        // The JDK asks for the key and then for the chain; the pair is renewed before it does.
        BigInteger renewed = write("server", Purpose.SERVER, 1);
        java.security.PrivateKey key = keys.getPrivateKey(chosen);
        X509Certificate[] chain = keys.getCertificateChain(chosen);

        assertThat(chain[0].getSerialNumber()).isEqualTo(first);
        assertThat(PemTls.belongsTo(key, chain[0]))
                .as("the key signs for the certificate sent with it")
                .isTrue();
        String next = keys.chooseServerAlias("EC", null, null);
        assertThat(keys.getCertificateChain(next)[0].getSerialNumber()).isEqualTo(renewed);
        assertThat(PemTls.belongsTo(keys.getPrivateKey(next), keys.getCertificateChain(next)[0]))
                .isTrue();
    }

    @Test
    void aKeyOthersCanReadIsRefusedRatherThanPresented() throws Exception {
        write("server", Purpose.SERVER, 0);
        Files.setPosixFilePermissions(
                dir.resolve("server.key"), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));

        assertThatThrownBy(() -> PemTls.server(dir.resolve("server.crt"), dir.resolve("server.key")))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("can be read or written by others");
    }
}
