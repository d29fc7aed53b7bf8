package io.warden.cli;

import io.warden.common.Processes;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.LocalDeployment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "up",
        description =
                "Start a complete local deployment: 3 etcd members, N postgres nodes (each an agent, a watchdog and"
                        + " postgres), 2 routers and the controller; stays in the foreground until Ctrl-C unless --detach.")
final class UpCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Option(
            names = "--nodes",
            paramLabel = "N",
            defaultValue = "3",
            description = "how many postgres nodes: one primary, the others its replicas (default ${DEFAULT-VALUE})")
    int nodes;

    @Option(names = "--detach", description = "return once the cluster is healthy instead of staying in the foreground")
    boolean detach;

    @Option(
            names = "--base-port",
            paramLabel = "PORT",
            defaultValue = "6000",
            description =
                    "first of the ports the deployment uses: etcd on PORT+1..3 (peers PORT+11..13), the routers' APIs on"
                            + " PORT+51.., postgres on PORT+101.., the agents' REST APIs on PORT+201.. (default ${DEFAULT-VALUE})")
    int basePort;

    @Option(
            names = "--isolation",
            paramLabel = "MODE",
            description =
                    "netns: each node in its own network namespace with its own address, so its link can be cut (root"
                            + " only); process: plain processes on loopback (default: netns as root, otherwise process)")
    String isolation;

    @Option(
            names = "--encryption",
            paramLabel = "MODE",
            description = "encryption at rest of the nodes' volumes: required (refuse to start a node whose volume"
                    + " cannot be encrypted), preferred (plain, with a warning, where it cannot) or off (default:"
                    + " required as root, off without root, where nodes have no volumes)")
    String encryption;

    @Option(
            names = "--cluster",
            paramLabel = "NAME",
            defaultValue = "main",
            description = "the cluster's name, under which its keys live in etcd (default ${DEFAULT-VALUE})")
    String cluster;

    @Option(
            names = "--read-write-port",
            paramLabel = "PORT",
            defaultValue = "5432",
            description = "the routers' port that reaches the primary (default ${DEFAULT-VALUE})")
    int readWritePort;

    @Option(
            names = "--read-only-port",
            paramLabel = "PORT",
            defaultValue = "5433",
            description = "the routers' port that reaches the least busy replica (default ${DEFAULT-VALUE})")
    int readOnlyPort;

    @Mixin
    CertificateCheckOption certificateCheck;

    @Override
    public Integer call() {
        String mode = isolation != null ? isolation : (Processes.isRoot() ? "netns" : "process");
        if (!mode.equals("netns") && !mode.equals("process")) {
            throw new io.warden.common.WardenException(
                    "unknown --isolation '" + isolation + "'", "use netns or process");
        }
        if (mode.equals("process")) {
            System.err.println("note: process isolation" + (Processes.isRoot() ? "" : " (not root)")
                    + ": nodes are plain processes on the loopback. Dropped: a host of its own per node (so no"
                    + " network partitions: fault isolate refuses), CPU, memory and pids limits (fault freeze"
                    + " refuses), a volume per node and encryption at rest (fault fill-disk refuses)");
        }
        Path deployment = dir.resolve();
        io.warden.runtime.local.Sweeper.sweep().forEach(line -> System.err.println("note: " + line));
        if (mode.equals("netns") && io.warden.runtime.local.Cgroups.detect().isEmpty()) {
            System.err.println("warning: no usable cgroups (cpu, cpuacct, memory, pids and freezer controllers): nodes"
                    + " run without CPU, memory and pids limits, and fault freeze cannot pause a host");
        }
        String encryptionMode = encryption != null ? encryption : (mode.equals("netns") ? "required" : "off");
        var options = Deployments.upOptions(
                deployment, nodes, basePort, mode, cluster, Map.of(), readWritePort, readOnlyPort, encryptionMode);
        System.out.println(
                "starting " + nodes + " nodes and 3 etcd members in " + options.dir() + " (" + mode + " isolation)");
        DeploymentState state = LocalDeployment.up(options);
        try {
            Deployments.awaitHealthy(state, Duration.ofMinutes(3));
            state = LocalDeployment.startControllers(deployment, certificateCheck.every);
        } catch (RuntimeException e) {
            // Nothing half-started is left behind; the logs stay in the directory for the next look.
            Deployments.down(options.dir(), false);
            throw e;
        }
        if (!encryptionMode.equals("off")) {
            warnOfSlowEncryption();
        }
        System.out.println("cluster '" + cluster + "' is healthy:");
        ListCommand.print(deployment, state, false);
        System.out.println("\nconnect: psql '" + UriCommand.uri(deployment, state, false) + "'");
        if (detach) {
            System.out.println("stop with: ./warden down --dir " + options.dir());
            return 0;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("\nstopping...");
            Deployments.down(options.dir(), false);
            stopped.countDown();
        }));
        System.out.println("running in the foreground; Ctrl-C stops everything");
        try {
            stopped.await();
        } catch (InterruptedException e) {
            // Returning exits the JVM, and the shutdown hook above stops the deployment as Ctrl-C would.
            Thread.currentThread().interrupt();
            System.err.println("interrupted: stopping the deployment");
            return 130;
        }
        // Reached while the JVM shuts down, once the hook has stopped everything; the exit status is the signal's.
        return 0;
    }

    /** Encryption at rest on a kernel without accelerated AES costs a share of every write: the operator should know. */
    private static void warnOfSlowEncryption() {
        try {
            io.warden.runtime.local.FsCrypt.contentsCipherDriver(
                            java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/crypto")))
                    .filter(io.warden.runtime.local.FsCrypt::unaccelerated)
                    .ifPresent(driver -> System.err.println("note: this kernel encrypts the volumes with " + driver
                            + ", AES without CPU acceleration: writes cost noticeably more CPU than on plain volumes"
                            + " (see bench/volumes); a kernel with the aesni_intel (or arm64 ce) driver loaded removes"
                            + " most of that cost"));
        } catch (java.io.IOException e) {
            // No /proc/crypto: nothing to say.
        }
    }
}
