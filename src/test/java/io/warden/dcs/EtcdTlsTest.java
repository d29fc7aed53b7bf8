package io.warden.dcs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link EtcdTls#configured}: which endpoints need which files, and every way a person can get them wrong. */
class EtcdTlsTest {
    private static final List<String> HTTPS = List.of("https://127.0.0.1:2379", "https://127.0.0.1:2380");

    @TempDir
    Path dir;

    private String ca;
    private String certificate;
    private String key;

    @BeforeEach
    void files() throws IOException {
        ca = Files.writeString(dir.resolve("ca.crt"), "ca").toString();
        certificate =
                Files.writeString(dir.resolve("client.crt"), "certificate").toString();
        Path keyFile = dir.resolve("client.key");
        Files.writeString(keyFile, "key");
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        key = keyFile.toString();
    }

    private static EtcdTls.Invalid refusal(Runnable configure) {
        EtcdTls.Invalid e = catchThrowableOfType(EtcdTls.Invalid.class, configure::run);
        assertThat(e).as("the configuration is refused").isNotNull();
        assertThat(e.fix()).isNotBlank();
        return e;
    }

    @Test
    void httpsEndpointsWithTheThreeFilesGiveThoseFiles() {
        assertThat(EtcdTls.configured(HTTPS, ca, certificate, key))
                .contains(new EtcdTls(Path.of(ca), Path.of(certificate), Path.of(key)));
    }

    @Test
    void httpEndpointsWithoutFilesGiveNoTls() {
        assertThat(EtcdTls.configured(List.of("http://127.0.0.1:2379"), null, null, null))
                .isEqualTo(Optional.empty());
    }

    @Test
    void httpsEndpointsWithoutTheClientCertificateAreRefusedNamingWhatIsMissing() {
        EtcdTls.Invalid e = refusal(() -> EtcdTls.configured(HTTPS, ca, null, null));

        assertThat(e.getMessage())
                .contains("etcd_cert_file")
                .contains("etcd_key_file")
                .doesNotContain("etcd_ca_file");
        assertThat(e.fix()).contains("etcd_ca_file").contains("./warden up");
    }

    @Test
    void httpEndpointsWithACertificateAreRefusedRatherThanTheCertificateSilentlyUnused() {
        EtcdTls.Invalid e = refusal(() -> EtcdTls.configured(List.of("http://127.0.0.1:2379"), ca, certificate, key));

        assertThat(e.getMessage()).contains("http://").contains("never be used");
        assertThat(e.fix()).contains("https://");
    }

    @Test
    void endpointsMixingHttpAndHttpsAreRefused() {
        EtcdTls.Invalid e = refusal(() ->
                EtcdTls.configured(List.of("https://127.0.0.1:2379", "http://127.0.0.1:2380"), ca, certificate, key));

        assertThat(e.getMessage()).contains("mix");
    }

    @Test
    void anEndpointWithoutAnHttpSchemeIsRefused() {
        EtcdTls.Invalid e = refusal(() -> EtcdTls.configured(List.of("127.0.0.1:2379"), ca, certificate, key));

        assertThat(e.getMessage()).contains("127.0.0.1:2379").contains("not an http:// or https:// URL");
    }

    @Test
    void aFileThatIsNotThereIsNamedWithItsKey() {
        String gone = dir.resolve("gone.crt").toString();

        EtcdTls.Invalid e = refusal(() -> EtcdTls.configured(HTTPS, gone, certificate, key));

        assertThat(e.getMessage()).contains("etcd_ca_file").contains(gone);
    }

    @Test
    void aKeyOthersCanReadIsRefusedWithTheFix() throws IOException {
        Files.setPosixFilePermissions(Path.of(key), PosixFilePermissions.fromString("rw-r--r--"));

        EtcdTls.Invalid e = refusal(() -> EtcdTls.configured(HTTPS, ca, certificate, key));

        assertThat(e.getMessage()).contains("etcd_key_file").contains("rw-r--r--");
        assertThat(e.fix()).contains("chmod 600 " + key);
    }
}
