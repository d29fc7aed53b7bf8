package io.warden.cli;

import io.warden.watchdog.Watchdog;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "watchdog",
        description = "Run a node's watchdog, which fences postgres when the agent stops checking in.")
final class WatchdogCommand implements Callable<Integer> {
    @Option(
            names = "--socket",
            paramLabel = "PATH",
            required = true,
            description = "the Unix socket on which the agent checks in")
    Path socket;

    @Option(
            names = "--data-dir",
            paramLabel = "DIR",
            required = true,
            description = "data directory of the postgres to kill when the agent stops checking in")
    Path dataDir;

    @Override
    public Integer call() throws Exception {
        new Watchdog(socket, dataDir).run();
        return 0;
    }
}
