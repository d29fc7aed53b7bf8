package io.warden.cli;

import io.warden.cluster.HistoryEntry;
import io.warden.common.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "history",
        description = "Every timeline of the cluster: where it began, who was promoted, when and why.")
final class HistoryCommand extends ClusterCommand {
    @Option(names = "--json", description = "print a JSON array, one object per timeline, for scripts")
    boolean json;

    @Override
    int run(ClusterClient client) {
        var history = client.read().history();
        if (json) {
            System.out.println(Json.writePretty(history));
            return 0;
        }
        // AT is an Instant as the agent wrote it: up to 30 characters with nanoseconds.
        System.out.printf("%4s %-14s %-10s %-30s %s%n", "TL", "LSN", "NODE", "AT", "REASON");
        for (HistoryEntry e : history) {
            System.out.printf("%4d %-14s %-10s %-30s %s%n", e.timeline(), e.lsn(), e.member(), e.at(), e.reason());
        }
        return 0;
    }
}
