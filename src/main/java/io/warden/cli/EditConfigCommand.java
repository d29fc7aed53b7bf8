package io.warden.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.warden.common.WardenException;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "edit-config",
        description =
                "Change the cluster's dynamic configuration. Values are checked by an agent against PostgreSQL before"
                        + " anything is written; a parameter that needs a restart shows as pending_restart (see restart --pending).")
final class EditConfigCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Option(
            names = {"-s", "--set"},
            paramLabel = "KEY=VALUE",
            description =
                    "e.g. synchronous_mode=on, maximum_lag_on_failover=1048576, postgresql.parameters.work_mem=8MB;"
                            + " VALUE null removes the key")
    List<String> set = new ArrayList<>();

    @Option(
            names = {"-p", "--pg"},
            paramLabel = "NAME=VALUE",
            description = "shorthand for --set postgresql.parameters.NAME=VALUE")
    List<String> pg = new ArrayList<>();

    @Option(names = "--json", description = "print the agent's JSON answer")
    boolean json;

    @Option(
            names = "--force",
            description = "allow what is refused only to protect the cluster from itself: replicas=0 (the primary"
                    + " alone, with no copy to fail over to or repair from)")
    boolean force;

    @Override
    public Integer call() throws IOException {
        if (set.isEmpty() && pg.isEmpty()) {
            throw new WardenException(
                    "nothing to change", "give --set KEY=VALUE or --pg NAME=VALUE; see ./warden show-config");
        }
        ObjectNode patch = JsonNodeFactory.instance.objectNode();
        for (String s : set) {
            put(patch, s, false);
        }
        for (String s : pg) {
            put(patch, s, true);
        }
        try (ClusterClient client = new ClusterClient(dir)) {
            var member = client.agents().getFirst();
            // Compare-and-swap on the revision we read: a concurrent edit makes this one fail rather than vanish.
            ClusterClient.Answer answer;
            try {
                ClusterClient.Answer current = client.send(member, "GET", "/config", null, Duration.ofSeconds(5), null);
                answer = client.send(
                        member,
                        "PATCH",
                        force ? "/config?force=true" : "/config",
                        patch,
                        Duration.ofSeconds(10),
                        current.etag());
            } catch (IOException e) {
                throw new WardenException(
                        "the agent of " + member.name() + " at " + member.apiUrl() + " did not answer: "
                                + e.getMessage(),
                        "see ./warden list; nothing was changed");
            }
            if (!answer.ok() || json) {
                return Output.print(answer, json);
            }
            System.out.println("config updated");
            JsonNode restart = answer.body().get("restart_required");
            if (restart != null && !restart.isEmpty()) {
                System.out.println("takes effect after a restart: " + restart + " (./warden restart --pending)");
            } else {
                System.out.println("applied: every node reloads within a loop");
            }
            return 0;
        }
    }

    /** KEY=VALUE into the patch; dotted keys nest. VALUE is typed the way YAML would type it. */
    private static void put(ObjectNode patch, String assignment, boolean parameter) {
        int eq = assignment.indexOf('=');
        if (eq <= 0) {
            throw new WardenException("'" + assignment + "' is not KEY=VALUE", "e.g. --set synchronous_mode=on");
        }
        String name = assignment.substring(0, eq).trim();
        String value = assignment.substring(eq + 1).trim();
        // A parameter's name is one key, dots and all: an extension's own (pgaudit.log, cron.database_name) has one.
        String[] path = parameter ? new String[] {"postgresql", "parameters", name} : name.split("\\.");
        ObjectNode node = patch;
        for (int i = 0; i < path.length - 1; i++) {
            node = node.has(path[i]) && node.get(path[i]).isObject()
                    ? (ObjectNode) node.get(path[i])
                    : node.putObject(path[i]);
        }
        String leaf = path[path.length - 1];
        if (value.equals("null")) {
            node.putNull(leaf);
        } else if (!parameter && (value.equals("true") || value.equals("false"))) {
            node.put(leaf, Boolean.parseBoolean(value));
        } else if (!parameter && value.matches("\\d{1,18}")) {
            node.put(leaf, Long.parseLong(value));
        } else {
            node.put(leaf, value);
        }
    }
}
