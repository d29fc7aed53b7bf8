package io.warden.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.warden.common.WardenException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A deployment directory made before etcd ran with TLS: etcd keeps its members' http:// peer URLs in its data, so
 * {@code up} refuses it, with the way out, before it issues or starts anything.
 */
class PlainEtcdDeploymentTest {
    @TempDir
    Path dir;

    private static final EtcdIdentity NEVER = new EtcdIdentity() {
        @Override
        public TlsFiles member(String member, List<String> names, Path memberDir) {
            throw new AssertionError("nothing may be issued for a refused deployment");
        }

        @Override
        public TlsFiles client(String client, Path clientDir) {
            throw new AssertionError("nothing may be issued for a refused deployment");
        }
    };

    @Test
    void aDeploymentWhoseEtcdRanWithoutTlsIsRefusedWithThePurgeThatStartsItAnew() throws Exception {
        new DeploymentState(
                        "main",
                        6000,
                        "process",
                        0,
                        List.of(new DeploymentState.EtcdMember(
                                "e1", "http://127.0.0.1:6001", "http://127.0.0.1:6011", 0, dir + "/etcd/e1")),
                        List.of(),
                        List.of(),
                        null,
                        0,
                        "")
                .write(dir);
        Files.createDirectories(dir.resolve("etcd/e1/member"));
        var options = new LocalDeployment.Options(
                dir, 3, 6000, "process", 230, "main", Map.of(), 5432, 5433, NodeIdentity.NONE, NEVER);

        WardenException e = catchThrowableOfType(WardenException.class, () -> LocalDeployment.up(options));

        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("without TLS").contains("http://");
        assertThat(e.nextStep()).contains("./warden down --purge --dir " + dir);
    }
}
