package io.warden.cli;

import io.warden.cluster.ClusterSnapshot;
import io.warden.common.Json;
import io.warden.common.WardenException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "switchover",
        description = "Planned change of primary: the primary shuts down cleanly and hands over to a caught-up replica."
                + " With --at it is scheduled; --list shows and --cancel cancels a pending one.")
final class SwitchoverCommand extends ConfirmedCommand {
    @Option(
            names = "--candidate",
            paramLabel = "NODE",
            description = "the replica to promote (default: the most advanced healthy one; required when paused)")
    String candidate;

    @Option(
            names = "--leader",
            paramLabel = "NODE",
            description = "the primary you expect; refused if another node leads")
    String leader;

    @Option(
            names = "--at",
            paramLabel = "TIME",
            description = "when, as ISO-8601 with an offset, e.g. 2026-11-22T18:00:00Z (default: now)")
    String at;

    @Option(names = "--list", description = "show the pending switchover or failover, if any")
    boolean list;

    @Option(names = "--cancel", description = "cancel the pending switchover or failover")
    boolean cancel;

    @Override
    void checkOptions() {
        if (list && cancel) {
            throw new WardenException("--list and --cancel do not go together", "give one of them");
        }
    }

    @Override
    int run(ClusterClient client) {
        if (list) {
            return list(client.read());
        }
        if (cancel) {
            return json.print(client.cluster("DELETE", "/switchover", null, Duration.ofSeconds(5)));
        }
        ClusterSnapshot cluster = client.read();
        String from = cluster.leader().map(l -> l.name()).orElse("(no leader)");
        if (!confirm.granted("Switch over from " + from + (candidate == null ? "" : " to " + candidate)
                + (at == null ? " now" : " at " + at) + "?")) {
            return 1;
        }
        Map<String, String> body = new LinkedHashMap<>();
        body.put("leader", leader);
        body.put("candidate", candidate);
        body.put("scheduled_at", at);
        return json.print(client.cluster("POST", "/switchover", body, Duration.ofSeconds(40)));
    }

    private int list(ClusterSnapshot cluster) {
        if (json.requested) {
            System.out.println(cluster.switchover().map(Json::writePretty).orElse("null"));
            return 0;
        }
        if (cluster.switchover().isEmpty()) {
            System.out.println("no switchover is pending");
            return 0;
        }
        var s = cluster.switchover().get();
        System.out.printf(
                "%-10s %-10s %-10s %-26s %-26s%n", "KIND", "LEADER", "CANDIDATE", "SCHEDULED_AT", "REQUESTED_AT");
        System.out.printf(
                "%-10s %-10s %-10s %-26s %-26s%n",
                s.failover() ? "failover" : "switchover",
                s.leader().isEmpty() ? "(any)" : s.leader(),
                s.candidate(),
                s.scheduledAt().isEmpty() ? "now" : s.scheduledAt(),
                s.requestedAt());
        return 0;
    }
}
