package io.warden.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "down",
        description = "Stop exactly what 'up' started (routers, agents and their postgres, watchdogs, etcd), by pid.")
final class DownCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Option(names = "--purge", description = "also delete the deployment directory and all data in it")
    boolean purge;

    @Override
    public Integer call() {
        Deployments.down(dir.resolve(), purge);
        System.out.println("stopped the deployment in " + dir.resolve() + (purge ? " and deleted its data" : ""));
        return 0;
    }
}
