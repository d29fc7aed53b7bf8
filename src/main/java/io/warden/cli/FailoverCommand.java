package io.warden.cli;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "failover",
        description = "Manual failover: promote the named replica, also when the primary is unhealthy or gone.")
final class FailoverCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Option(names = "--candidate", paramLabel = "NODE", required = true,
            description = "the replica to promote; refused when tagged nofailover or further behind than maximum_lag_on_failover")
    String candidate;

    @Mixin
    ConfirmOption confirm;

    @Option(names = "--json", description = "print the agent's JSON answer")
    boolean json;

    @Override
    public Integer call() {
        try (ClusterClient client = new ClusterClient(dir)) {
            if (!confirm.granted("Fail over to " + candidate + "?")) {
                return 1;
            }
            return Output.print(client.cluster("POST", "/failover", Map.of("candidate", candidate), Duration.ofSeconds(40)), json);
        }
    }
}
