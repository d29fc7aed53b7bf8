package io.warden.cli;

import io.warden.runtime.Fault;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(
        name = "fault",
        description = {
            "Inflict a fault on a node's host, as a drill: kill (the host dies: everything in it, kill -9),"
                    + " freeze / thaw (the whole host paused, as a VM pause looks to the database),"
                    + " isolate / heal (the host cut off the network), fill-disk (its volume filled)."
        })
final class FaultCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Parameters(index = "0", paramLabel = "FAULT", description = "kill, freeze, thaw, isolate, heal or fill-disk")
    String fault;

    @Parameters(index = "1", paramLabel = "NODE", description = "the node whose host it hits, e.g. node-1")
    String node;

    @Override
    public Integer call() {
        Fault parsed = Fault.parse(fault);
        System.out.println(Deployments.runtime(dir.resolve()).drill(parsed, node));
        return 0;
    }
}
