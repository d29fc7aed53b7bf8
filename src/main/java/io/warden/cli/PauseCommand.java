package io.warden.cli;

import java.time.Duration;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** Maintenance mode on and off: one flag in the dynamic config, which every agent reads each cycle. */
final class PauseCommand {
    private PauseCommand() {}

    /** What pause and resume share: they differ only in the value they write. */
    private abstract static class Switch extends ClusterCommand {
        private final boolean pause;

        @Mixin
        JsonOption json;

        Switch(boolean pause) {
            this.pause = pause;
        }

        @Override
        int run(ClusterClient client) {
            ClusterClient.Answer answer =
                    client.cluster("PATCH", "/config", Map.of("pause", pause), Duration.ofSeconds(10));
            if (answer.ok() && !json.requested) {
                System.out.println(
                        pause
                                ? "maintenance mode on: no automatic failover or restarts until ./warden resume"
                                : "maintenance mode off: automatic failover and restarts are back");
                return 0;
            }
            return json.print(answer);
        }
    }

    @Command(
            name = "pause",
            description = "Maintenance mode: no automatic failover, no automatic start or restart of postgres.")
    static final class Pause extends Switch {
        Pause() {
            super(true);
        }
    }

    @Command(name = "resume", description = "End maintenance mode.")
    static final class Resume extends Switch {
        Resume() {
            super(false);
        }
    }
}
