package io.warden.cli;

import io.warden.watchdog.Watchdog;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "watchdog", description = "Run a node's watchdog, which fences postgres when the agent stops checking in.")
final class WatchdogCommand implements Callable<Integer> {
    @Option(names = "--socket", required = true, description = "Unix socket the agent connects to")
    Path socket;

    @Option(names = "--data-dir", required = true, description = "the postgres data directory to fence")
    Path dataDir;

    @Override
    public Integer call() throws Exception {
        new Watchdog(socket, dataDir).run();
        return 0;
    }
}
