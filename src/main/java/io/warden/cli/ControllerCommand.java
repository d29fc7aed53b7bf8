package io.warden.cli;

import io.warden.api.ControllerApi;
import io.warden.common.Clock;
import io.warden.common.Units;
import io.warden.common.WardenException;
import io.warden.controller.CertificateUpkeep;
import io.warden.controller.ControllerLoop;
import io.warden.controller.repair.RepairController;
import io.warden.controller.scaling.ScalingController;
import io.warden.dcs.EtcdDcs;
import io.warden.dcs.Lease;
import io.warden.http.Admission;
import io.warden.http.HttpEndpoint;
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
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "controller",
        description = "Run one of the deployment's controllers (up starts two, each under a supervisor; runs until"
                + " SIGTERM). The one that holds the controller lease repairs the cluster (replaces abnormal nodes,"
                + " see docs/repair.md) and renews the deployment's certificates before they expire; the other"
                + " stands by.")
final class ControllerCommand implements Callable<Integer> {
    /** How long a SIGTERM waits for the round under way, so that no step is left half done. */
    private static final Duration ROUND_GRACE = Duration.ofSeconds(30);

    @Mixin
    DirOption dir;

    @Mixin
    CertificateCheckOption certificateCheck;

    @Option(
            names = "--detach",
            description = "start the deployment's controllers that do not run, in the background under their"
                    + " supervisors, as up does, and return once they run")
    boolean detach;

    @Option(names = "--id", description = "which controller this is (default: ${DEFAULT-VALUE})")
    String id = LocalDeployment.CONTROLLER_IDS.getFirst();

    @Option(names = "--api-port", description = "serve status, events, health and metrics here on 127.0.0.1 (0: none)")
    int apiPort;

    @Option(
            names = "--no-repair",
            description = "lead without repairing: renew certificates only (auto_repair in the cluster config is"
                    + " the switch for a running cluster)")
    boolean noRepair;

    @Option(
            names = "--no-scaling",
            description = "lead without scaling: never add units nor grow volumes (scaling.auto in the cluster"
                    + " config is the switch for a running cluster)")
    boolean noScaling;

    @Override
    public Integer call() throws IOException {
        Path deployment = dir.resolve();
        // Only for a deployment that exists: a mistyped --dir must not grow a CA of its own.
        DeploymentState state = DeploymentState.read(deployment);
        if (detach) {
            long running = LocalDeployment.CONTROLLER_IDS.stream()
                    .filter(c -> LocalDeployment.controllerPid(deployment, c) > 0)
                    .count();
            if (running == LocalDeployment.CONTROLLER_IDS.size()
                    || (state.controllerPid() > 0 && io.warden.common.Processes.alive(state.controllerPid()))) {
                throw new WardenException(
                        "the controllers already run for " + deployment,
                        "leave them running; ./warden down stops them");
            }
            DeploymentState started = LocalDeployment.startControllers(deployment, certificateCheck.every);
            System.out.println(ListCommand.controllerLine(started, deployment) + "; checking the certificates every "
                    + Units.format(certificateCheck.every) + "; their logs: "
                    + DeploymentFile.CONTROLLER.in(deployment));
            return 0;
        }
        if (!LocalDeployment.CONTROLLER_IDS.contains(id)) {
            throw new WardenException(
                    "no controller '" + id + "' in a deployment", "use one of " + LocalDeployment.CONTROLLER_IDS);
        }
        Files.createDirectories(DeploymentFile.CONTROLLER.in(deployment));
        Path lockFile = LocalDeployment.controllerLock(deployment, id);
        // One process per id: a second one started by hand would race the first for the same API port and log.
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = channel.tryLock()) {
            if (lock == null) {
                throw new WardenException(
                        "another controller already runs for " + deployment + " as " + id + " (it holds " + lockFile
                                + ")",
                        "leave that one running; ./warden down stops it");
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
            channel.force(true);
            run(deployment, state);
            return 0;
        }
    }

    /**
     * Rounds until SIGTERM or until the deployment is gone. A SIGTERM ends the wait between rounds, never a round:
     * the hook waits for the round under way to finish, then gives up the leadership so the standby takes over at
     * once.
     */
    private void run(Path deployment, DeploymentState state) {
        EtcdDcs dcs = Deployments.dcs(state, Duration.ofSeconds(3));
        Clock clock = Clock.SYSTEM;
        Lease lease = new Lease(
                dcs, ControllerLoop.TTL, Duration.ofSeconds(1), Duration.ofSeconds(60), clock, new Lease.Listener() {});
        ControllerLoop loop = new ControllerLoop(
                id,
                lease,
                dcs.control(),
                noRepair
                        ? Optional.empty()
                        : Optional.of(new RepairController(
                                dcs, dcs.control(), Deployments.runtime(deployment), Optional.of(clock))),
                noScaling
                        ? Optional.empty()
                        : Optional.of(new ScalingController(dcs, dcs.control(), Deployments.runtime(deployment))),
                new CertificateUpkeep(now -> Deployments.renewCertificates(deployment), certificateCheck.every),
                clock);
        Optional<HttpEndpoint> api = apiPort == 0
                ? Optional.empty()
                : Optional.of(HttpEndpoint.start(
                        "controller API",
                        "127.0.0.1",
                        apiPort,
                        "--api-port of " + id,
                        new ControllerApi(loop),
                        Admission.readOnlyApi()));
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        java.lang.Runtime.getRuntime()
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
        System.out.println(id + " for " + deployment + ": repairing while it leads, checking the certificates every "
                + Units.format(certificateCheck.every));
        try {
            lease.start(Lease.STARTUP_WAIT);
            lease.keepAliveOn("controller-lease");
            while (stop.getCount() > 0) {
                if (!Files.exists(DeploymentState.file(deployment))) {
                    System.out.println("the deployment in " + deployment + " is gone (no deployment.json): stopping");
                    return;
                }
                Duration next = loop.step(Instant.now());
                if (stop.await(next.toMillis(), TimeUnit.MILLISECONDS)) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            loop.resign();
            lease.revoke();
            api.ifPresent(HttpEndpoint::close);
            dcs.close();
            stopped.countDown();
        }
    }
}
