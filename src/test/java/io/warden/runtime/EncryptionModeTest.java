package io.warden.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.WardenException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** up's --encryption: required by default where nodes get volumes, off where they cannot, and checked. */
class EncryptionModeTest {
    private static final EtcdIdentity NO_ETCD_CERTIFICATES = new EtcdIdentity() {
        @Override
        public TlsFiles member(String member, java.util.List<String> names, Path dir) {
            throw new AssertionError("no certificate is issued here");
        }

        @Override
        public TlsFiles client(String client, Path dir) {
            throw new AssertionError("no certificate is issued here");
        }
    };

    private static LocalDeployment.Options options(String isolation, String encryption) {
        return new LocalDeployment.Options(
                Path.of("/tmp/unused"),
                3,
                6000,
                isolation,
                230,
                "main",
                Map.of(),
                5432,
                5433,
                NodeIdentity.NONE,
                NO_ETCD_CERTIFICATES,
                encryption);
    }

    /** As up builds it when no --encryption is given. */
    private static LocalDeployment.Options defaults(String isolation) {
        var given = options(isolation, "off");
        return new LocalDeployment.Options(
                given.dir(),
                given.nodes(),
                given.basePort(),
                isolation,
                given.netId(),
                given.cluster(),
                given.extraNodeConfig(),
                given.readWritePort(),
                given.readOnlyPort(),
                given.identity(),
                given.etcdIdentity());
    }

    @Test
    void encryptionIsRequiredByDefaultWithVolumesAndOffWithoutThem() {
        assertThat(defaults("netns").encryption()).isEqualTo("required");
        assertThat(defaults("process").encryption()).isEqualTo("off");
    }

    @Test
    void encryptionWhereNodesHaveNoVolumesOrAnUnknownModeIsRefused() {
        assertThatThrownBy(() -> options("process", "required"))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("needs volumes");
        assertThatThrownBy(() -> options("netns", "sometimes"))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("is not a mode");
        assertThat(options("netns", "preferred").encryption()).isEqualTo("preferred");
    }
}
