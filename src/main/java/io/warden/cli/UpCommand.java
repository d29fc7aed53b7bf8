package io.warden.cli;

import io.warden.common.Processes;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.LocalDeployment;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "up", description = "Start a complete local deployment: 3 etcd members and N postgres nodes.")
final class UpCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Option(names = "--nodes", defaultValue = "3", description = "postgres nodes (default ${DEFAULT-VALUE})")
    int nodes;

    @Option(names = "--detach", description = "return once the cluster is healthy instead of staying in the foreground")
    boolean detach;

    @Option(names = "--base-port", defaultValue = "6000", description = "etcd on base+1..3, postgres on base+101.., REST on base+201.. (default ${DEFAULT-VALUE})")
    int basePort;

    @Option(names = "--isolation", description = "netns (each node its own network namespace; root only) or process (default: netns as root)")
    String isolation;

    @Option(names = "--cluster", defaultValue = "main", description = "cluster name in etcd (default ${DEFAULT-VALUE})")
    String cluster;

    @Option(names = "--read-write-port", defaultValue = "5432", description = "routers' port to the primary (default ${DEFAULT-VALUE})")
    int readWritePort;

    @Option(names = "--read-only-port", defaultValue = "5433", description = "routers' port to the least busy replica (default ${DEFAULT-VALUE})")
    int readOnlyPort;

    @Override
    public Integer call() {
        String mode = isolation != null ? isolation : (Processes.isRoot() ? "netns" : "process");
        if (!mode.equals("netns") && !mode.equals("process")) {
            throw new io.warden.common.WardenException("unknown --isolation '" + isolation + "'", "use netns or process");
        }
        if (mode.equals("process") && Processes.isRoot() && isolation == null) {
            System.err.println("note: process isolation: nodes share loopback, so network partitions cannot be simulated");
        }
        var options = new LocalDeployment.Options(dir.resolve(), nodes, basePort, mode, 200 + (basePort / 100) % 50, cluster, Map.of(), readWritePort, readOnlyPort);
        System.out.println("starting " + nodes + " nodes and 3 etcd members in " + options.dir() + " (" + mode + " isolation)");
        DeploymentState state = LocalDeployment.up(options);
        try {
            LocalDeployment.awaitHealthy(state, Duration.ofMinutes(3));
        } catch (RuntimeException e) {
            // Nothing half-started is left behind; the logs stay in the directory for the next look.
            LocalDeployment.down(options.dir(), false);
            throw e;
        }
        System.out.println("cluster '" + cluster + "' is healthy:");
        ListCommand.print(state, false);
        System.out.println("\nconnect: psql '" + UriCommand.uri(state, false) + "'");
        if (detach) {
            System.out.println("stop with: ./warden down --dir " + options.dir());
            return 0;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("\nstopping...");
            LocalDeployment.down(options.dir(), false);
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
}
