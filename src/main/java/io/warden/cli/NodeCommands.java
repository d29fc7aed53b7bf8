package io.warden.cli;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.common.WardenException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Commands that act on nodes through their own agents: restart (one, or rolling), reload, reinit. */
final class NodeCommands {
    private NodeCommands() {}

    /** How long a restarted or rebuilt node may take to run and stream again. */
    static final Duration REJOIN_TIMEOUT = Duration.ofSeconds(120);

    static boolean healthyReplica(ClusterSnapshot cluster, String name) {
        Member m = cluster.members().get(name);
        return m != null && m.role() == Role.REPLICA && m.state() == MemberState.STREAMING;
    }

    static boolean runningPrimary(ClusterSnapshot cluster, String name) {
        Member m = cluster.members().get(name);
        return m != null && cluster.isLeader(name) && m.role() == Role.PRIMARY && m.state() == MemberState.RUNNING;
    }

    @Command(
            name = "restart",
            description =
                    "Restart postgres on one node, or with --pending every node whose parameters need it, rolling:"
                            + " replicas one at a time, then a switchover, then the former primary.")
    static final class Restart extends ClusterCommand {
        @Parameters(
                arity = "0..1",
                paramLabel = "NODE",
                description = "the node to restart, e.g. node-2 (see ./warden list)")
        String node;

        @Option(
                names = "--pending",
                description = "instead of NODE: a rolling restart of every node showing pending_restart")
        boolean pending;

        @Option(names = "--json", description = "print the agent's JSON answer (with --pending, every step)")
        boolean json;

        @Override
        void checkOptions() {
            if ((node == null) == !pending) {
                throw new WardenException(
                        "give either a NODE or --pending",
                        "e.g. ./warden restart node-2, or ./warden restart --pending");
            }
        }

        @Override
        int run(ClusterClient client) {
            if (node != null) {
                return Output.print(restartOne(client, client.member(node).name()), json);
            }
            return rolling(client);
        }

        private ClusterClient.Answer restartOne(ClusterClient client, String name) {
            Member before = client.member(name);
            ClusterClient.Answer answer = client.node(before, "POST", "/restart", null, Duration.ofSeconds(130));
            if (answer.ok()) {
                // The record from before the restart still says streaming until the agent publishes again: only one
                // naming the new postmaster says the restarted postgres runs.
                client.await(
                        c -> (healthyReplica(c, name) || runningPrimary(c, name))
                                && c.members().get(name).postgresPid() != before.postgresPid(),
                        REJOIN_TIMEOUT,
                        name + " to run again");
            }
            return answer;
        }

        private int rolling(ClusterClient client) {
            List<Map<String, Object>> steps = new ArrayList<>();
            ClusterSnapshot cluster = client.read();
            String leader = cluster.leader()
                    .map(l -> l.name())
                    .orElseThrow(() -> new WardenException(
                            "the cluster has no leader right now", "wait for failover to finish, see ./warden list"));
            List<Member> replicas = cluster.members().values().stream()
                    .filter(m -> !m.name().equals(leader) && m.pendingRestart())
                    .sorted(Comparator.comparing(Member::name))
                    .toList();
            for (Member replica : replicas) {
                step(steps, "restart " + replica.name(), restartOne(client, replica.name()));
            }
            if (cluster.members().get(leader).pendingRestart()) {
                ClusterSnapshot now = client.read();
                String candidate = now.members().values().stream()
                        .filter(m -> healthyReplica(now, m.name())
                                && !m.pendingRestart()
                                && m.tags().canFailover())
                        .map(Member::name)
                        .sorted()
                        .findFirst()
                        .orElse(null);
                if (candidate == null) {
                    step(
                            steps,
                            "restart " + leader + " (no restarted replica to switch over to)",
                            restartOne(client, leader));
                } else {
                    Map<String, String> body = new LinkedHashMap<>();
                    body.put("leader", leader);
                    body.put("candidate", candidate);
                    step(
                            steps,
                            "switchover " + leader + " -> " + candidate,
                            client.cluster("POST", "/switchover", body, Duration.ofSeconds(40)));
                    client.await(
                            c -> healthyReplica(c, leader), REJOIN_TIMEOUT, leader + " to stream from " + candidate);
                    // Rejoining as a replica restarted postgres already; restart only if a parameter is still pending.
                    if (client.read().members().get(leader).pendingRestart()) {
                        step(steps, "restart " + leader, restartOne(client, leader));
                    }
                }
            }
            boolean ok = steps.stream().allMatch(s -> (Boolean) s.get("ok"));
            if (json) {
                System.out.println(io.warden.common.Json.writePretty(Map.of("steps", steps, "ok", ok)));
            } else if (steps.isEmpty()) {
                System.out.println("no node has a pending restart");
            } else {
                steps.forEach(s -> System.out.printf("%-40s %s%n", s.get("step"), s.get("message")));
            }
            return ok ? 0 : 1;
        }

        private static void step(List<Map<String, Object>> steps, String what, ClusterClient.Answer answer) {
            Map<String, Object> step = new LinkedHashMap<>();
            step.put("step", what);
            step.put("ok", answer.ok());
            step.put("message", answer.message());
            steps.add(step);
            if (!answer.ok()) {
                throw new WardenException(
                        what + " failed: " + answer.message() + " (HTTP " + answer.status() + ")",
                        "the steps before it are done; fix the cause and run the command again");
            }
        }
    }

    @Command(name = "reload", description = "Rewrite every node's config from the cluster config and reload postgres.")
    static final class Reload extends ClusterCommand {
        @Parameters(arity = "0..1", paramLabel = "NODE", description = "only this node (default: every node)")
        String node;

        @Option(names = "--json", description = "print every node's answer as one JSON object")
        boolean json;

        @Override
        int run(ClusterClient client) {
            List<Member> targets = node == null ? client.agents() : List.of(client.member(node));
            Map<String, Object> results = new LinkedHashMap<>();
            boolean ok = true;
            for (Member m : targets) {
                ClusterClient.Answer answer = client.node(m, "POST", "/reload", null, Duration.ofSeconds(35));
                ok &= answer.ok();
                results.put(m.name(), Map.of("status", answer.status(), "message", answer.message()));
                if (!json) {
                    System.out.printf("%-10s %s%n", m.name(), answer.message());
                }
            }
            if (json) {
                System.out.println(io.warden.common.Json.writePretty(results));
            }
            return ok ? 0 : 1;
        }
    }

    @Command(
            name = "reinit",
            description = "Rebuild a replica from the primary (pg_basebackup); refused on the primary.")
    static final class Reinit extends ConfirmedCommand {
        @Parameters(paramLabel = "NODE", description = "the replica to rebuild, e.g. node-2 (see ./warden list)")
        String node;

        @Override
        int run(ClusterClient client) {
            Member m = client.member(node);
            if (!confirm.granted("Delete " + node + "'s data directory and clone it again from the primary?")) {
                return 1;
            }
            ClusterClient.Answer answer = client.node(m, "POST", "/reinitialize", null, Duration.ofMinutes(31));
            if (answer.ok()) {
                // As for a restart: the record from before the rebuild still says streaming.
                client.await(
                        c -> healthyReplica(c, node) && c.members().get(node).postgresPid() != m.postgresPid(),
                        REJOIN_TIMEOUT,
                        node + " to stream again");
            }
            return json.print(answer);
        }
    }
}
