package io.warden.cli;

import io.warden.common.Json;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "show-config", description = "The cluster's dynamic configuration, as kept in the DCS.")
final class ShowConfigCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Option(names = "--json", description = "print JSON, as the agents' GET /config answers, instead of YAML")
    boolean json;

    @Override
    public Integer call() throws Exception {
        try (ClusterClient client = new ClusterClient(dir)) {
            ClusterClient.Answer answer = client.cluster("GET", "/config", null, Duration.ofSeconds(5));
            if (!answer.ok() || json) {
                return Output.print(answer, true);
            }
            System.out.print(Json.yaml().writeValueAsString(answer.body()).replaceFirst("^---\\n", ""));
            return 0;
        }
    }
}
