package io.warden.cli;

import io.warden.common.Clock;
import io.warden.common.Units;
import io.warden.common.WardenException;
import io.warden.controller.CertificateUpkeep;
import io.warden.runtime.LocalDeployment;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "controller",
        description = "Run the deployment's controller (started by 'up'; runs until SIGTERM): it renews the"
                + " deployment's certificates (nodes', etcd members' and clients') before they expire.")
final class ControllerCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Option(
            names = "--interval",
            paramLabel = "DURATION",
            defaultValue = "1h",
            description = "how often to check the certificates (default ${DEFAULT-VALUE}); each is renewed in its"
                    + " last 7 days")
    String interval;

    @Override
    public Integer call() throws IOException {
        Path deployment = dir.resolve();
        Duration every;
        try {
            every = Units.duration(interval);
        } catch (IllegalArgumentException e) {
            throw new WardenException("--interval: " + e.getMessage(), "e.g. --interval 1h");
        }
        Files.createDirectories(LocalDeployment.controllerDirectory(deployment));
        Path lockFile = LocalDeployment.controllerDirectory(deployment).resolve("lock");
        // The CA keys live on this machine only, so a lock here is what keeps a second controller from renewing the
        // same files at the same time. Leadership through the DCS comes with controllers on several hosts.
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = channel.tryLock()) {
            if (lock == null) {
                throw new WardenException(
                        "another controller already runs for " + deployment + " (it holds " + lockFile + ")",
                        "leave that one running; ./warden down stops it");
            }
            CertificateUpkeep upkeep = new CertificateUpkeep(now -> Deployments.renewCertificates(deployment), every);
            Thread main = Thread.currentThread();
            Runtime.getRuntime().addShutdownHook(new Thread(main::interrupt, "shutdown"));
            System.out.println("controller for " + deployment + ": checking the certificates every " + interval);
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    Clock.SYSTEM.sleep(upkeep.step(Clock.SYSTEM.instant()).nextIn());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 0;
        }
    }
}
