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
                    + " no longer fit)."
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

    @Override
    public Integer call() {
        if (fault.equals("break") != rejoin) {
            throw new io.warden.common.WardenException(
                    fault.equals("break")
                            ? "fault break needs to know what to break"
                            : "--rejoin goes with fault break, not with fault " + fault,
                    "run ./warden fault break " + node + " --rejoin");
        }
        Fault parsed = rejoin ? Fault.BREAK_REJOIN : Fault.parse(fault);
        System.out.println(Deployments.runtime(dir.resolve()).drill(parsed, node));
        return 0;
    }
}
