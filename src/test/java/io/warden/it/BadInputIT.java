package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.warden.common.Processes;
import io.warden.runtime.LocalDeployment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue #2, scenario 8: each bad input stops the agent with exit status 2 and a message naming the problem and the
 * fix, and leaves what is on disk as it was.
 */
class BadInputIT {
    @AutoClose
    private static TestCluster cluster;

    private static Path dir;

    @BeforeAll
    static void start() throws IOException {
        cluster = TestCluster.start("badinput", 1, 9500, "process");
        dir = cluster.dir.resolve("bad");
        Files.createDirectories(dir);
    }

    private static Processes.Result agent(String yaml) throws IOException {
        Path config = Files.createTempFile(dir, "config", ".yml");
        Files.writeString(config, yaml);
        return Processes.run(
                LocalDeployment.javaCommand("-Xmx64m", "agent", "--config", config.toString()), Duration.ofSeconds(60));
    }

    /** A config an operator could write: node-1's etcd client certificate, since etcd lets in no one without one. */
    private static String valid(String name, String dataDir) {
        Path etcdClient = cluster.dir.resolve("nodes/node-1/etcd-client");
        return """
                name: %s
                cluster: it
                port: 9591
                api_port: 9592
                etcd: [https://127.0.0.1:9501]
                etcd_ca_file: %s
                etcd_cert_file: %s
                etcd_key_file: %s
                data_dir: %s
                watchdog: 'off'
                """.formatted(
                        name,
                        etcdClient.resolve("ca.crt"),
                        etcdClient.resolve("client.crt"),
                        etcdClient.resolve("client.key"),
                        dataDir);
    }

    @Test
    void aSwitchoverOnAOneNodeClusterIsRefusedAndTheCliSaysWhy() {
        String node = cluster.primary().name();

        TestCluster.ApiReply reply = cluster.api(node, "POST", "/switchover", "{}", null);

        assertThat(reply.status()).isEqualTo(412);
        assertThat(reply.body()).contains("no replica can take over");
        assertThat(cluster.cli("switchover", "--force")).isEqualTo(1);
        assertThat(cluster.snapshot().switchover()).isEmpty();
        assertThat(cluster.primary().name()).isEqualTo(node);
    }

    @Test
    void aMalformedConfigFileNamesTheLine() throws IOException {
        Processes.Result result = agent("name: n1\nport: [9591\n");
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.output())
                .contains("malformed config file")
                .contains("line")
                .contains("fix the YAML");
    }

    @Test
    void anUnknownKeyIsNamedWithTheKnownOnes() throws IOException {
        Processes.Result result = agent(valid("n1", dir.resolve("d1").toString()) + "colour: blue\n");
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.output())
                .contains("unknown key 'colour'")
                .contains("known keys:")
                .contains("data_dir");
        assertThat(dir.resolve("d1")).doesNotExist();
    }

    @Test
    void aDuplicateNodeNameIsRefusedWhileTheFirstIsAlive() throws IOException {
        Path data = dir.resolve("d2");
        var keyBefore = cluster.snapshot().leader().orElseThrow();
        Processes.Result result = agent(valid("node-1", data.toString()));
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.output())
                .contains("node name 'node-1' is already alive in cluster 'it'")
                .contains("another name");
        assertThat(data).doesNotExist();
        // The refused agent must not have touched the real node-1's leader key, not even on its way out.
        assertThat(cluster.snapshot().leader()).contains(keyBefore);
        assertThat(cluster.primary().name()).isEqualTo("node-1");
    }

    @Test
    void anUnreachableEtcdAtStartUpIsNamed() throws IOException {
        Processes.Result result =
                agent(valid("n3", dir.resolve("d3").toString()).replace("9501", "9599"));
        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.output())
                .contains("cannot reach etcd at https://127.0.0.1:9599")
                .contains("start etcd");
    }

    @Test
    void aDataDirectoryOwnedBySomeoneElseIsLeftUntouched() throws Exception {
        assumeTrue(Processes.isRoot(), "changing a directory's owner needs root");
        Path data = dir.resolve("d4");
        Files.createDirectories(data);
        Files.writeString(data.resolve("precious.txt"), "do not touch");
        assertThat(Processes.run(List.of("chown", "-R", "nobody", data.toString()), Duration.ofSeconds(5))
                        .ok())
                .isTrue();

        Processes.Result result = agent(valid("n4", data.toString()));

        assertThat(result.exitCode()).isEqualTo(2);
        assertThat(result.output()).contains("is owned by 'nobody'").contains("chown -R postgres");
        assertThat(Files.getOwner(data).getName()).isEqualTo("nobody");
        try (var files = Files.list(data)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactly("precious.txt");
        }
        assertThat(Files.readString(data.resolve("precious.txt"))).isEqualTo("do not touch");
    }
}
