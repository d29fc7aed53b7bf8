package io.warden.security;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link EtcdCertificates}: what a member's and a client's certificates say, and when they are issued again. */
class EtcdCertificatesTest {
    private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");
    private static final String MEMBER = "warden-etcd-member";

    @TempDir
    Path dir;

    private CertificateAuthority etcdCa;

    @BeforeEach
    void ca() {
        etcdCa = CertificateAuthority.ensure(
                dir.resolve("ca/etcd-ca.key"), dir.resolve("ca/etcd-ca.crt"), "etcd t", NOW);
    }

    private static X509Certificate read(Path file) {
        return CertificateAuthority.readCertificate(file);
    }

    @Test
    void aMembersCertificateNamesTheAddressesItIsDialledAtAndServesAndDialsPeers() throws Exception {
        Path member = dir.resolve("e1");

        EtcdCertificates.ensureMember(etcdCa, MEMBER, List.of("127.0.0.1", "10.20.1.1"), member, NOW);

        X509Certificate certificate = read(member.resolve(EtcdCertificates.MEMBER_CERTIFICATE));
        assertThat(NodeCertificates.alternativeNames(certificate)).containsExactlyInAnyOrder("127.0.0.1", "10.20.1.1");
        assertThat(certificate.getSubjectX500Principal().getName()).isEqualTo("CN=" + MEMBER);
        assertThat(certificate.getExtendedKeyUsage())
                .containsExactlyInAnyOrder("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        certificate.verify(etcdCa.certificate().getPublicKey());
        assertThat(Files.readString(member.resolve(EtcdCertificates.CA)))
                .isEqualTo(CertificateAuthority.certificatePem(etcdCa.certificate()));
        assertThat(PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(member.resolve(EtcdCertificates.MEMBER_KEY))))
                .isEqualTo("rw-------");
    }

    @Test
    void aClientsCertificateIsForClientAuthenticationOnlyAndNamesNoAddress() throws Exception {
        Path client = dir.resolve("node-1/etcd-client");

        EtcdCertificates.ensureClient(etcdCa, "node-1", client, NOW);

        X509Certificate certificate = read(client.resolve(EtcdCertificates.CLIENT_CERTIFICATE));
        assertThat(certificate.getSubjectX500Principal().getName()).isEqualTo("CN=node-1");
        assertThat(certificate.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(NodeCertificates.alternativeNames(certificate)).isEmpty();
        assertThat(PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(client.resolve(EtcdCertificates.CLIENT_KEY))))
                .isEqualTo("rw-------");
    }

    @Test
    void aCertificateIsKeptUntilItsNamesChangeOrItNearsExpiry() {
        Path member = dir.resolve("e1");
        List<String> names = List.of("127.0.0.1", "10.20.1.1");
        EtcdCertificates.ensureMember(etcdCa, MEMBER, names, member, NOW);

        assertThat(EtcdCertificates.ensureMember(etcdCa, MEMBER, names, member, NOW.plus(Duration.ofDays(1))))
                .isEmpty();
        assertThat(EtcdCertificates.ensureMember(etcdCa, MEMBER, List.of("127.0.0.1"), member, NOW))
                .hasValueSatisfying(reason -> assertThat(reason).startsWith("names"));
        assertThat(EtcdCertificates.ensureClient(etcdCa, "router-1", dir.resolve("r"), NOW))
                .contains("no certificate yet");
        assertThat(EtcdCertificates.ensureClient(etcdCa, "router-1", dir.resolve("r"), NOW.plus(Duration.ofDays(84))))
                .hasValueSatisfying(reason -> assertThat(reason).startsWith("expires"));
    }

    @Test
    void aCertificateFromTheDeploymentCaIsReplacedByOneFromTheEtcdCa() throws Exception {
        CertificateAuthority deploymentCa =
                CertificateAuthority.ensure(dir.resolve("ca/ca.key"), dir.resolve("ca.crt"), "t", NOW);
        Path client = dir.resolve("operator");
        EtcdCertificates.ensureClient(deploymentCa, "operator", client, NOW);

        assertThat(EtcdCertificates.ensureClient(etcdCa, "operator", client, NOW))
                .contains("signed by another certificate authority");
        read(client.resolve(EtcdCertificates.CLIENT_CERTIFICATE))
                .verify(etcdCa.certificate().getPublicKey());
        assertThat(Files.readString(client.resolve(EtcdCertificates.CA)))
                .isEqualTo(CertificateAuthority.certificatePem(etcdCa.certificate()));
    }
}
