package io.warden.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.WardenException;
import io.warden.security.CertificateAuthority.Issued;
import io.warden.security.CertificateAuthority.Purpose;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {
    private static final Instant NOW = Instant.parse("2026-12-02T00:00:00Z");

    @TempDir
    Path dir;

    private CertificateAuthority ca() {
        return CertificateAuthority.ensure(dir.resolve("ca/ca.key"), dir.resolve("ca.crt"), "test", NOW);
    }

    @Test
    void aNodeCertificateIsSignedByTheCaAndNamesExactlyItsAddressesAsIpAddresses() throws Exception {
        CertificateAuthority ca = ca();
        Issued issued = ca.issue("node-1", List.of("10.241.1.2", "127.0.0.1", "127.0.0.2"), Purpose.SERVER, NOW);

        X509Certificate certificate = issued.certificate();
        certificate.verify(ca.certificate().getPublicKey());
        assertThat(certificate.getSubjectAlternativeNames())
                .containsExactlyInAnyOrder(List.of(7, "10.241.1.2"), List.of(7, "127.0.0.1"), List.of(7, "127.0.0.2"));
        assertThat(certificate.getBasicConstraints()).isEqualTo(-1);
        assertThat(certificate.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1");
        assertThat(certificate.getNotAfter().toInstant()).isEqualTo(NOW.plus(CertificateAuthority.LIFETIME));
        assertThat(ca.certificate().getBasicConstraints()).isZero();
    }

    @Test
    void hostNamesBecomeDnsNamesAndAWildcardOrGarbageIsRefused() throws Exception {
        CertificateAuthority ca = ca();
        assertThat(ca.issue("node-1", List.of("db.example.org"), Purpose.SERVER, NOW)
                        .certificate()
                        .getSubjectAlternativeNames())
                .containsExactly(List.of(2, "db.example.org"));
        assertThatThrownBy(() -> ca.issue("node-1", List.of("*.example.org"), Purpose.SERVER, NOW))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("neither an IP address nor a host name");
    }

    @Test
    void everyCertificateGetsItsOwnKey() {
        CertificateAuthority ca = ca();
        Issued one = ca.issue("node-1", List.of("127.0.0.1"), Purpose.SERVER, NOW);
        Issued two = ca.issue("node-2", List.of("127.0.0.1"), Purpose.SERVER, NOW);
        assertThat(fingerprint(one.certificate().getPublicKey().getEncoded()))
                .isNotEqualTo(fingerprint(two.certificate().getPublicKey().getEncoded()));
        assertThat(one.certificate().getSerialNumber())
                .isNotEqualTo(two.certificate().getSerialNumber());
    }

    @Test
    void theCaKeyIsOwnerOnlyAndTheSameCaIsLoadedAgain() throws Exception {
        CertificateAuthority first = ca();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("ca/ca.key"))))
                .isEqualTo("rw-------");
        CertificateAuthority again = ca();
        assertThat(again.certificate()).isEqualTo(first.certificate());
        again.issue("node-1", List.of("127.0.0.1"), Purpose.SERVER, NOW)
                .certificate()
                .verify(first.certificate().getPublicKey());
    }

    @Test
    void aCaWithoutItsCertificateIsRefusedRatherThanReplaced() throws Exception {
        ca();
        Files.delete(dir.resolve("ca.crt"));
        assertThatThrownBy(this::ca)
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("half there")
                .hasMessageContaining("ca.crt is missing");
    }

    @Test
    void aNodeGetsACertificateWhenItHasNoneItsNamesChangeItNearsExpiryOrAnotherCaSignedIt() {
        CertificateAuthority ca = ca();
        List<String> names = List.of("10.241.1.2", "127.0.0.1");
        X509Certificate fresh = ca.issue("node-1", names, Purpose.SERVER, NOW).certificate();

        assertThat(NodeCertificates.renewal(Optional.empty(), names, ca.certificate(), NOW))
                .contains("no certificate yet");
        assertThat(NodeCertificates.renewal(Optional.of(fresh), names, ca.certificate(), NOW.plus(Duration.ofDays(82))))
                .isEmpty();
        assertThat(NodeCertificates.renewal(Optional.of(fresh), names, ca.certificate(), NOW.plus(Duration.ofDays(83))))
                .get()
                .asString()
                .startsWith("expires");
        assertThat(NodeCertificates.renewal(
                        Optional.of(fresh), List.of("10.241.1.2", "127.0.0.1", "127.0.0.3"), ca.certificate(), NOW))
                .get()
                .asString()
                .startsWith("names");
        CertificateAuthority other =
                CertificateAuthority.ensure(dir.resolve("other/ca.key"), dir.resolve("other/ca.crt"), "test", NOW);
        assertThat(NodeCertificates.renewal(Optional.of(fresh), names, other.certificate(), NOW))
                .contains("signed by another certificate authority");
    }

    @Test
    void ensureWritesTheKeyOwnerOnlyAndKeepsACertificateThatIsNotDue() throws Exception {
        CertificateAuthority ca = ca();
        Path tls = dir.resolve("node-1/tls");
        assertThat(NodeCertificates.ensure(ca, "node-1", List.of("127.0.0.1"), tls, Optional.empty(), NOW))
                .isPresent();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tls.resolve("server.key"))))
                .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tls.resolve("ca.crt"))))
                .isEqualTo("rw-r--r--");
        String before = Files.readString(tls.resolve("server.crt"));

        assertThat(NodeCertificates.ensure(
                        ca, "node-1", List.of("127.0.0.1"), tls, Optional.empty(), NOW.plusSeconds(60)))
                .isEmpty();
        assertThat(Files.readString(tls.resolve("server.crt"))).isEqualTo(before);
        assertThat(NodeCertificates.ensure(ca, "node-1", List.of("127.0.0.1", "127.0.0.2"), tls, Optional.empty(), NOW))
                .isPresent();
        assertThat(Files.readString(tls.resolve("server.crt"))).isNotEqualTo(before);
    }

    @Test
    void theOperatorsCertificateIsAClientCertificateForWardenOperatorOwnerOnlyAndRenewedAsTheNodesAre()
            throws Exception {
        CertificateAuthority ca = ca();
        Path operator = dir.resolve("tls/operator");

        assertThat(NodeCertificates.ensureOperator(ca, operator, NOW)).contains("no certificate yet");
        X509Certificate certificate = CertificateAuthority.readCertificate(operator.resolve("operator.crt"));
        certificate.verify(ca.certificate().getPublicKey());
        assertThat(certificate.getSubjectX500Principal().getName()).isEqualTo("CN=warden-operator");
        assertThat(certificate.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(operator)))
                .isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(operator.resolve("operator.key"))))
                .isEqualTo("rw-------");

        assertThat(NodeCertificates.ensureOperator(ca, operator, NOW.plus(Duration.ofDays(82))))
                .isEmpty();
        assertThat(NodeCertificates.ensureOperator(ca, operator, NOW.plus(Duration.ofDays(84))))
                .hasValueSatisfying(reason -> assertThat(reason).startsWith("expires"));
    }

    @Test
    void aNodesApiCertificateServesAndAuthenticatesAsItsAgent() throws Exception {
        Path tls = dir.resolve("tls/node-2");
        NodeCertificates.ensure(ca(), "node-2", List.of("127.0.0.1"), tls, Optional.empty(), NOW);

        X509Certificate api = CertificateAuthority.readCertificate(tls.resolve("api.crt"));
        // serverAuth to serve the API, clientAuth to present it to the other agents.
        assertThat(api.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        String commonName = api.getSubjectX500Principal().getName().substring("CN=".length());
        assertThat(NodeCertificates.agentNode(commonName)).contains("node-2");
        assertThat(NodeCertificates.agentNode("node-2")).isEmpty();
        assertThat(NodeCertificates.agentNode("warden agent ")).isEmpty();
    }

    @Test
    void aNodeCannotBeNamedAsTheOperatorsCertificate() {
        assertThatThrownBy(() -> NodeCertificates.ensure(
                        ca(), "warden-operator", List.of("127.0.0.1"), dir.resolve("tls/x"), Optional.empty(), NOW))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("a node cannot be named 'warden-operator'");
        assertThat(dir.resolve("tls/x")).doesNotExist();
    }

    private static String fingerprint(byte[] der) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(der));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aKeyThatDoesNotMatchItsCertificateIsReplacedWithANewPair() throws Exception {
        CertificateAuthority ca = ca();
        Path tls = dir.resolve("node-1/tls");
        NodeCertificates.ensure(ca, "node-1", List.of("127.0.0.1"), tls, Optional.empty(), NOW);
        // As an issue cut short between its two writes would leave it: another key beside the certificate.
        Files.writeString(
                tls.resolve("server.key"),
                ca.issue("other", List.of(), Purpose.SERVER, NOW).keyPem());
        Files.setPosixFilePermissions(tls.resolve("server.key"), PosixFilePermissions.fromString("rw-------"));

        assertThat(NodeCertificates.ensure(ca, "node-1", List.of("127.0.0.1"), tls, Optional.empty(), NOW))
                .contains("its key does not match it");
        assertThat(CertificateAuthority.matches(
                        tls.resolve("server.key"), CertificateAuthority.readCertificate(tls.resolve("server.crt"))))
                .isTrue();
    }

    @Test
    void anIpv6AddressIsComparedAsTheCertificateReportsItSoItIsNotReissuedEveryTime() {
        CertificateAuthority ca = ca();
        Path tls = dir.resolve("node-6/tls");
        assertThat(NodeCertificates.ensure(ca, "node-6", List.of("::1", "fd00::3"), tls, Optional.empty(), NOW))
                .isPresent();
        assertThat(NodeCertificates.ensure(ca, "node-6", List.of("::1", "fd00::3"), tls, Optional.empty(), NOW))
                .isEmpty();
    }

    @Test
    void aDottedNumberThatIsNoAddressIsRefusedRatherThanNamedAsAHost() {
        assertThatThrownBy(() -> ca().issue("node-1", List.of("999.1.1.1"), Purpose.SERVER, NOW))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("neither an IP address nor a host name");
    }
}
