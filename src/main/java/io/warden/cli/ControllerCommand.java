package io.warden.cli;

import io.warden.common.Units;
import io.warden.common.WardenException;
import io.warden.controller.CertificateUpkeep;
import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.LocalDeployment;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "controller",
        description = "Run the deployment's controller (started by 'up'; runs until SIGTERM): it renews the"
                + " deployment's certificates (nodes', etcd members' and clients') before they expire.")
final class ControllerCommand implements Callable<Integer> {
    /** How long a SIGTERM waits for the round under way, so that no pair is left half written. */
    private static final Duration ROUND_GRACE = Duration.ofSeconds(30);

    @Mixin
    DirOption dir;

    @Mixin
    CertificateCheckOption certificateCheck;

    @Option(
            names = "--detach",
            description = "start the controller in the background, as up does, and return once it runs (to start"
                    + " it again after it died)")
    boolean detach;

    @Override
    public Integer call() throws IOException {
        Path deployment = dir.resolve();
        // Only for a deployment that exists: a mistyped --dir must not grow a CA of its own.
        DeploymentState state = DeploymentState.read(deployment);
        if (detach) {
            if (state.controllerPid() > 0 && io.warden.common.Processes.alive(state.controllerPid())) {
                throw new WardenException(
                        "the controller already runs for " + deployment + " (pid " + state.controllerPid() + ")",
                        "leave it running; ./warden down stops it");
            }
            long pid = LocalDeployment.startController(deployment, certificateCheck.every)
                    .controllerPid();
            System.out.println("controller started (pid " + pid + "), checking the certificates every "
                    + Units.format(certificateCheck.every) + "; its log: "
                    + DeploymentFile.CONTROLLER.in(deployment).resolve("controller.log"));
            return 0;
        }
        Files.createDirectories(DeploymentFile.CONTROLLER.in(deployment));
        Path lockFile = DeploymentFile.CONTROLLER_LOCK.in(deployment);
        // The CA keys live on this machine only, so a lock here is what keeps a second controller from renewing the
        // same files at the same time. Leadership through the DCS comes with controllers on several hosts.
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = channel.tryLock()) {
            if (lock == null) {
                throw new WardenException(
                        "another controller already runs for " + deployment + " (it holds " + lockFile + ")",
                        "leave that one running; ./warden down stops it");
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
            channel.force(true);
            run(deployment);
            return 0;
        }
    }

    /**
     * Rounds until SIGTERM or until the deployment is gone. A SIGTERM ends the wait between rounds, never a round:
     * the hook waits for the round under way to finish.
     */
    private void run(Path deployment) {
        CertificateUpkeep upkeep =
                new CertificateUpkeep(now -> Deployments.renewCertificates(deployment), certificateCheck.every);
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            stop.countDown();
                            try {
                                stopped.await(ROUND_GRACE.toMillis(), TimeUnit.MILLISECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        },
                        "shutdown"));
        System.out.println("controller for " + deployment + ": checking the certificates every "
                + Units.format(certificateCheck.every));
        try {
            while (stop.getCount() > 0) {
                if (!Files.exists(DeploymentState.file(deployment))) {
                    System.out.println("the deployment in " + deployment + " is gone (no deployment.json): stopping");
                    return;
                }
                Duration next = upkeep.step(Instant.now()).nextIn();
                if (stop.await(next.toMillis(), TimeUnit.MILLISECONDS)) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            stopped.countDown();
        }
    }
}
