package io.warden.cli;

import io.warden.common.Json;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "show-config", description = "The cluster's dynamic configuration, as kept in the DCS.")
final class ShowConfigCommand extends ClusterCommand {
    @Option(names = "--json", description = "print JSON, as the agents' GET /config answers, instead of YAML")
    boolean json;

    @Override
    int run(ClusterClient client) throws Exception {
        ClusterClient.Answer answer = client.cluster("GET", "/config", null, Duration.ofSeconds(5));
        if (!answer.ok() || json) {
            return Output.print(answer, true);
        }
        System.out.print(Json.yaml().writeValueAsString(answer.body()).replaceFirst("^---\\n", ""));
        return 0;
    }
}
