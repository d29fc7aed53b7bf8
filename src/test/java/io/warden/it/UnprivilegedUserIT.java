package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.common.Processes;
import io.warden.runtime.DeploymentState;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * {@code ./warden} as a user who is not root, the way a new user tries it: up, psql through the router, down, with a
 * PATH that lacks /usr/sbin and /sbin (where runuser and ip live, which only root needs), from a copy of the
 * project that holds the jar already built and no sources (so no build either). Run as root, to become that user.
 */
class UnprivilegedUserIT {
    /** The user the test becomes; Debian's unprivileged account, which owns nothing. */
    private static final String USER = "nobody";

    private static final String PATH = "/usr/local/bin:/usr/bin:/bin";
    private static final int BASE_PORT = 15500;

    @Test
    void aUserWithoutRootStartsADeploymentConnectsWithPsqlAndStopsItWithAPathWithoutSbin() throws Exception {
        Assumptions.assumeTrue(Processes.isRoot(), "becoming another user needs root");
        Path jar = Path.of("target/warden.jar").toAbsolutePath();
        Assumptions.assumeTrue(Files.exists(jar), "the jar is built by mvn package, before the integration tests");
        Path copy = Files.createTempDirectory("warden-unprivileged-");
        Path home = copy.resolve("home");
        Path deployment = home.resolve("deployment");
        try {
            install(copy, jar);
            Files.createDirectories(home);
            Processes.run(List.of("chown", USER, home.toString()), Duration.ofSeconds(5));

            Processes.Result up = as(
                    copy,
                    home,
                    Duration.ofMinutes(4),
                    "up",
                    "--detach",
                    "--nodes",
                    "1",
                    "--dir",
                    deployment.toString(),
                    "--base-port",
                    Integer.toString(BASE_PORT),
                    "--read-write-port",
                    Integer.toString(BASE_PORT + 61),
                    "--read-only-port",
                    Integer.toString(BASE_PORT + 62));
            assertThat(up.ok()).as(up.toString()).isTrue();
            assertThat(up.output())
                    .contains("is healthy")
                    .doesNotContain("missing packages")
                    .contains("Dropped: a host of its own per node")
                    .contains("encryption at rest");

            Processes.Result uri = as(copy, home, Duration.ofMinutes(1), "uri", "--dir", deployment.toString());
            assertThat(uri.ok()).as(uri.toString()).isTrue();
            String url = uri.output()
                    .lines()
                    .filter(l -> l.startsWith("postgresql://"))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no URI in: " + uri.output()));
            Processes.Result psql = Processes.run(
                    List.of(
                            "runuser",
                            "-u",
                            USER,
                            "--",
                            "env",
                            "-i",
                            // In the user's home: the checkout psql would otherwise start in may be closed to it (a
                            // fresh clone under mktemp -d is 0700), and psql then warns before it answers.
                            "-C",
                            home.toString(),
                            "PATH=" + PATH,
                            "HOME=" + home,
                            "psql",
                            url,
                            "-tAc",
                            "select current_user || ' ' || inet_server_port()"),
                    Duration.ofMinutes(1));
            assertThat(psql.ok()).as(psql.toString()).isTrue();
            assertThat(psql.output().strip()).startsWith("admin ");

            List<Long> pids = pids(deployment);
            Processes.Result down = as(copy, home, Duration.ofMinutes(2), "down", "--dir", deployment.toString());
            assertThat(down.ok()).as(down.toString()).isTrue();
            assertThat(pids).isNotEmpty().noneMatch(Processes::alive);
        } finally {
            if (Files.exists(DeploymentState.file(deployment))) {
                as(copy, home, Duration.ofMinutes(2), "down", "--purge", "--dir", deployment.toString());
            }
            Processes.run(List.of("rm", "-rf", "--one-file-system", copy.toString()), Duration.ofMinutes(1));
        }
    }

    /** The launcher, its scripts and the built jar with its libraries, readable by all; no sources. */
    private static void install(Path copy, Path jar) throws IOException {
        Path project = jar.getParent().getParent();
        Processes.Result copied = Processes.run(
                List.of(
                        "bash",
                        "-c",
                        "mkdir -p \"$1/target\" && cp -r \"$2/warden\" \"$2/scripts\" \"$1/\" && cp -r \"$2/target/warden.jar\""
                                + " \"$2/target/lib\" \"$1/target/\" && chmod -R a+rX \"$1\"",
                        "install",
                        copy.toString(),
                        project.toString()),
                Duration.ofMinutes(1));
        assertThat(copied.ok()).as(copied.toString()).isTrue();
    }

    private static Processes.Result as(Path copy, Path home, Duration timeout, String... args) {
        List<String> command =
                new ArrayList<>(List.of("runuser", "-u", USER, "--", "env", "-i", "PATH=" + PATH, "HOME=" + home));
        command.add(copy.resolve("warden").toString());
        command.addAll(List.of(args));
        return Processes.run(command, Map.of(), timeout);
    }

    private static List<Long> pids(Path deployment) {
        DeploymentState state = DeploymentState.read(deployment);
        List<Long> pids = new ArrayList<>();
        state.etcd().forEach(e -> pids.add(e.pid()));
        state.nodes().forEach(n -> {
            pids.add(n.agentPid());
            pids.add(n.watchdogPid());
        });
        state.routers().forEach(r -> pids.add(r.pid()));
        state.controllers().forEach(c -> {
            pids.add(c.supervisorPid());
            pids.add(io.warden.runtime.LocalDeployment.controllerPid(deployment, c.id()));
        });
        return pids;
    }
}
