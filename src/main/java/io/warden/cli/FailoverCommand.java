package io.warden.cli;

import java.time.Duration;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "failover",
        description = "Manual failover: promote the named replica, also when the primary is unhealthy or gone.")
final class FailoverCommand extends ConfirmedCommand {
    @Option(
            names = "--candidate",
            paramLabel = "NODE",
            required = true,
            description =
                    "the replica to promote; refused when tagged nofailover or further behind than maximum_lag_on_failover")
    String candidate;

    @Option(
            names = "--accept-data-loss",
            description =
                    "promote the candidate even from a timeline older than the cluster's newest, or further behind than"
                            + " maximum_lag_on_failover: what it lacks is discarded (the history says so)")
    boolean acceptDataLoss;

    @Override
    int run(ClusterClient client) {
        if (!confirm.granted(
                "Fail over to " + candidate + (acceptDataLoss ? ", discarding what it lacks" : "") + "?")) {
            return 1;
        }
        Map<String, Object> body = acceptDataLoss
                ? Map.of("candidate", candidate, "accept_data_loss", true)
                : Map.of("candidate", candidate);
        return json.print(client.cluster("POST", "/failover", body, Duration.ofSeconds(40)));
    }
}
