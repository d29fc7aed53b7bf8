package io.warden.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What every etcd member's certificate names: each address a client of the deployment dials etcd at. */
class EtcdCertificateNamesTest {
    private static LocalDeployment.Options options(String isolation, int nodes) {
        return new LocalDeployment.Options(
                Path.of("/tmp/unused"),
                nodes,
                6000,
                isolation,
                230,
                "main",
                Map.of(),
                5432,
                5433,
                NodeIdentity.NONE,
                new EtcdIdentity() {
                    @Override
                    public TlsFiles member(String member, java.util.List<String> names, Path dir) {
                        throw new AssertionError("no certificate is issued here");
                    }

                    @Override
                    public TlsFiles client(String client, Path dir) {
                        throw new AssertionError("no certificate is issued here");
                    }
                });
    }

    @Test
    void withoutNamespacesEveryoneDialsEtcdOnTheLoopback() {
        assertThat(LocalDeployment.etcdCertificateNames(options("process", 3))).containsExactly("127.0.0.1");
    }

    @Test
    void inNamespacesEveryHostDialsTheNetworksOwnAddressSoHostsMadeLaterNeedNoNewCertificate() {
        assertThat(LocalDeployment.etcdCertificateNames(options("netns", 3)))
                .containsExactly("127.0.0.1", NetworkNamespaces.dcsAddress(230));
        assertThat(LocalDeployment.etcdCertificateNames(options("netns", 5)))
                .isEqualTo(LocalDeployment.etcdCertificateNames(options("netns", 3)));
    }
}
