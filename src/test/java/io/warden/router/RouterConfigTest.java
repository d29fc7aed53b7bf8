package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.WardenException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RouterConfigTest {
    @TempDir
    Path dir;

    private Path file(String ttl) throws IOException {
        return file("http://127.0.0.1:2379", "ttl: " + ttl + "\n");
    }

    /** router-1's config, reaching etcd at {@code etcd}, with {@code more} (whole lines) after the keys every one has. */
    private Path file(String etcd, String more) throws IOException {
        return Files.writeString(dir.resolve("router.yaml"), """
                id: router-1
                read_write_port: 5432
                read_only_port: 5433
                api_port: 6051
                etcd: [%s]
                """.formatted(etcd) + more);
    }

    @Test
    void aTtlThatIsNotAWholeNumberOfSecondsIsRefusedLikeTheAgents() throws IOException {
        // etcd grants whole seconds: 2900ms would silently become a 2 s lease against a 2.4 s local deadline.
        assertThatThrownBy(() -> RouterConfig.load(file("2900ms")))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("ttl 2900ms")
                .hasMessageContaining("whole number of seconds");
    }

    @Test
    void aTtlUnderTwoSecondsIsRefused() throws IOException {
        assertThatThrownBy(() -> RouterConfig.load(file("1s")))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("at least 2s");
    }

    @Test
    void aWholeSecondTtlIsTaken() throws IOException {
        assertThat(RouterConfig.load(file("4s")).ttl()).isEqualTo(Duration.ofSeconds(4));
    }

    @Test
    void allowedClientsAreParsedFromTheFileAndAWrongEntryIsRefusedWithItsFix() throws IOException {
        Path listed = Files.writeString(
                dir.resolve("listed.yaml"),
                Files.readString(file("3s")) + "allowed_clients: [10.0.0.0/8, \"fd00::/8\"]\n");
        Path wrong = Files.writeString(
                dir.resolve("wrong.yaml"), Files.readString(file("3s")) + "allowed_clients: [10.0.0.1/8]\n");

        assertThat(RouterConfig.load(listed).allowedClients())
                .containsExactly(ClientRange.parse("10.0.0.0/8"), ClientRange.parse("fd00::/8"));
        assertThat(RouterConfig.load(file("3s")).allowedClients()).isEqualTo(ClientRange.EVERYONE);
        assertThatThrownBy(() -> RouterConfig.load(wrong))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("did you mean 10.0.0.0/8?");
    }

    @Test
    void etcdOverTlsTakesTheRoutersClientCertificate() throws IOException {
        Path key = dir.resolve("client.key");
        Files.writeString(key, "key");
        Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path config = file("https://127.0.0.1:2379", """
                etcd_ca_file: %s
                etcd_cert_file: %s
                etcd_key_file: %s
                """.formatted(
                        Files.writeString(dir.resolve("ca.crt"), "ca"),
                        Files.writeString(dir.resolve("client.crt"), "c"),
                        key));

        assertThat(RouterConfig.load(config).etcdTls())
                .contains(new io.warden.dcs.EtcdTls(dir.resolve("ca.crt"), dir.resolve("client.crt"), key));
    }

    @Test
    void etcdOverTlsWithoutTheKeyIsRefusedNamingTheFileAndTheKey() throws IOException {
        Path config = file("https://127.0.0.1:2379", """
                etcd_ca_file: /nowhere/ca.crt
                etcd_cert_file: /nowhere/client.crt
                """);

        assertThatThrownBy(() -> RouterConfig.load(config))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("etcd_key_file")
                .hasMessageContaining(config.toString());
    }
}
