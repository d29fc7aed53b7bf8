package io.warden.cli;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Maintenance mode on and off: one flag in the dynamic config, which every agent reads each cycle. */
final class PauseCommand {
    private PauseCommand() {}

    static int set(DirOption dir, boolean pause, boolean json) {
        try (ClusterClient client = new ClusterClient(dir)) {
            ClusterClient.Answer answer =
                    client.cluster("PATCH", "/config", Map.of("pause", pause), Duration.ofSeconds(10));
            if (answer.ok() && !json) {
                System.out.println(
                        pause
                                ? "maintenance mode on: no automatic failover or restarts until ./warden resume"
                                : "maintenance mode off: automatic failover and restarts are back");
                return 0;
            }
            return Output.print(answer, json);
        }
    }

    @Command(
            name = "pause",
            description = "Maintenance mode: no automatic failover, no automatic start or restart of postgres.")
    static final class Pause implements Callable<Integer> {
        @Mixin
        DirOption dir;

        @Option(names = "--json", description = "print the agent's JSON answer")
        boolean json;

        @Override
        public Integer call() {
            return set(dir, true, json);
        }
    }

    @Command(name = "resume", description = "End maintenance mode.")
    static final class Resume implements Callable<Integer> {
        @Mixin
        DirOption dir;

        @Option(names = "--json", description = "print the agent's JSON answer")
        boolean json;

        @Override
        public Integer call() {
            return set(dir, false, json);
        }
    }
}
