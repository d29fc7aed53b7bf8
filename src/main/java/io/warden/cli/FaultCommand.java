package io.warden.cli;

import io.warden.runtime.Fault;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "fault",
        description = {
            "Inflict a fault on a node's host, as a drill: kill (the host dies: everything in it, kill -9),"
                    + " freeze / thaw (the whole host paused, as a VM pause looks to the database),"
                    + " isolate / heal (the host cut off the network), fill-disk (its volume filled),"
                    + " break --rejoin (the node can no longer rejoin another primary: its client certificates"
                    + " no longer fit), break --data (its data directory unusable: a zeroed control file)."
        })
final class FaultCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Parameters(
            index = "0",
            paramLabel = "FAULT",
            description = "kill, freeze, thaw, isolate, heal, fill-disk or break")
    String fault;

    @Parameters(index = "1", paramLabel = "NODE", description = "the node whose host it hits, e.g. node-1")
    String node;

    @Option(
            names = "--rejoin",
            description = "with break: the node's way back to another primary (pg_rewind, cloning, streaming)")
    boolean rejoin;

    @Option(names = "--data", description = "with break: the node's data directory (its control file zeroed)")
    boolean data;

    @Override
    public Integer call() {
        boolean breaking = fault.equals("break");
        if (breaking ? rejoin == data : rejoin || data) {
            throw new io.warden.common.WardenException(
                    breaking
                            ? "fault break needs one thing to break: --rejoin or --data"
                            : (rejoin ? "--rejoin" : "--data") + " goes with fault break, not with fault " + fault,
                    "run ./warden fault break " + node + " --rejoin (or --data)");
        }
        Fault parsed = rejoin ? Fault.BREAK_REJOIN : data ? Fault.BREAK_DATA : Fault.parse(fault);
        System.out.println(Deployments.runtime(dir.resolve()).drill(parsed, node));
        return 0;
    }
}
