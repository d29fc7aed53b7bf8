package io.warden.cli;

import io.warden.runtime.LocalDeployment;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(
        name = "keys",
        description = {
            "The keys of the nodes' encrypted volumes. 'keys rotate' wraps every volume key under a new master key"
                    + " (<dir>/master.key) and destroys the old one, with the database running; back up the new"
                    + " master key. The volume keys themselves change only with a new volume (docs/runtime.md)."
        })
final class KeysCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Parameters(
            index = "0",
            paramLabel = "ACTION",
            description = "rotate: wrap every volume key under a new master key")
    String action;

    @Override
    public Integer call() {
        if (!action.equals("rotate")) {
            throw new io.warden.common.WardenException("unknown keys action '" + action + "'", "use: keys rotate");
        }
        List<String> nodes = LocalDeployment.volumeKeys(dir.resolve()).rotate();
        if (nodes.isEmpty()) {
            System.out.println("no encrypted volume in " + dir.resolve() + ": nothing to rotate");
            return 0;
        }
        System.out.println("rotated the master key: the volume keys of " + String.join(", ", nodes)
                + " are wrapped under the new one in " + dir.resolve().resolve("master.key")
                + "; the old master key is destroyed and unwraps nothing");
        return 0;
    }
}
