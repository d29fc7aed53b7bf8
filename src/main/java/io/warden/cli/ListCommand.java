package io.warden.cli;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.common.Json;
import io.warden.common.Processes;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.LocalDeployment;
import io.warden.runtime.local.ContainerCgroups;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "list", description = "One row per member: role, state, timeline, LSN, lag, addresses, pids.")
final class ListCommand extends DeploymentCommand {
    @Option(names = "--json", description = "print a JSON array, one object per node, for scripts")
    boolean json;

    @Override
    int run(Path deployment, DeploymentState state) {
        print(deployment, state, json);
        return 0;
    }

    static void print(Path deployment, DeploymentState state, boolean json) {
        ClusterSnapshot cluster = Deployments.snapshot(state);
        List<Map<String, Object>> rows = rows(state, cluster);
        if (json) {
            System.out.println(Json.writePretty(rows));
            return;
        }
        String format = "%-8s %-8s %-20s %4s %-12s %10s %-15s %6s %-27s %8s %8s %-6s %-11s %-11s %s%n";
        System.out.printf(
                format,
                "NAME",
                "ROLE",
                "STATE",
                "TL",
                "LSN",
                "LAG_BYTES",
                "HOST",
                "PORT",
                "API_URL",
                "AGENT",
                "POSTGRES",
                "CPU",
                "MEMORY",
                "VOLUME",
                "NOTES");
        for (Map<String, Object> row : rows) {
            Member m = cluster.members().get((String) row.get("name"));
            List<String> notes = new ArrayList<>();
            if (Boolean.TRUE.equals(row.get("pending_restart"))) {
                notes.add("pending_restart");
            }
            if (m != null
                    && cluster.isSyncStandby(cluster.leader().map(l -> l.name()).orElse(""), m.name())) {
                notes.add("sync");
            }
            if (m != null && m.tags().nofailover()) {
                notes.add("nofailover");
            }
            if (Boolean.TRUE.equals(row.get("frozen"))) {
                notes.add("host-frozen");
            }
            if (Boolean.TRUE.equals(row.get("encrypted"))) {
                notes.add("encrypted");
            }
            System.out.printf(
                    format,
                    row.get("name"),
                    row.get("role"),
                    row.get("state"),
                    row.get("timeline"),
                    row.get("lsn"),
                    row.get("lag_bytes"),
                    row.get("host"),
                    row.get("port"),
                    row.get("api_url"),
                    row.get("agent_pid"),
                    row.get("postgres_pid"),
                    millis((long) row.get("cpu_limit_millis")),
                    memory((long) row.get("memory_used_bytes"), (long) row.get("memory_limit_bytes")),
                    memory((long) row.get("volume_used_bytes"), (long) row.get("volume_bytes")),
                    String.join(",", notes));
        }
        System.out.println("leader: " + cluster.leader().map(l -> l.name()).orElse("(none)")
                + "   synchronous_mode: " + cluster.config().synchronousMode().label()
                + (cluster.config().pause() ? "   MAINTENANCE MODE (paused)" : ""));
        var published = Deployments.routers(state);
        System.out.printf(
                "%n%-9s %-10s %-22s %-10s %-30s %8s%n", "ROUTER", "STATE", "ADDRESS", "PRIMARY", "SESSIONS", "PID");
        for (DeploymentState.RouterProcess router : state.routers()) {
            var status =
                    published.stream().filter(p -> p.id().equals(router.id())).findFirst();
            System.out.printf(
                    "%-9s %-10s %-22s %-10s %-30s %8s%n",
                    router.id(),
                    status.isPresent() ? "serving" : "down",
                    router.host() + ":" + router.readWritePort() + "," + router.readOnlyPort(),
                    status.map(p -> p.primary()).orElse(""),
                    status.map(p -> p.sessions().toString()).orElse(""),
                    router.pid());
        }
        if (!state.hosts().isEmpty()) {
            System.out.printf("%n%-9s %-9s %-16s %s%n", "HOST", "STATE", "ADDRESS", "HOLDS");
            for (var host : Deployments.runtime(deployment).hosts()) {
                System.out.printf(
                        "%-9s %-9s %-16s %s%n",
                        host.id(),
                        host.state().name().toLowerCase(java.util.Locale.ROOT),
                        host.address(),
                        host.spare() ? "(spare)" : String.join(",", host.containers()));
            }
        }
        for (var intent : state.intents()) {
            System.out.println("unfinished: " + intent.action() + " " + intent.target() + " on " + intent.host()
                    + ", begun " + intent.startedAt() + " by pid " + intent.pid()
                    + (Processes.alive(intent.pid()) ? " (still running)" : " (which is gone)"));
        }
        for (var kept : state.quarantine()) {
            System.out.println("quarantined: " + kept.node() + "'s volume, kept until " + kept.until() + " ("
                    + kept.reason() + "; ./warden quarantine shows it)");
        }
        System.out.println();
        System.out.println(controllerLine(state, deployment));
    }

    /** A CPU limit as the table shows it: "1000m", or "-" for none. */
    static String millis(long cpuMillis) {
        return cpuMillis == 0 ? "-" : cpuMillis + "m";
    }

    /** Memory in use and its limit, as the table shows it: "45M/1024M", or "-" without a container. */
    static String memory(long used, long limit) {
        if (limit == 0) {
            return "-";
        }
        return (used >> 20) + "M/" + (limit >> 20) + "M";
    }

    /**
     * Whether the controllers run: without them nothing repairs the cluster nor renews its certificates (which all
     * expire on the same day). One line per controller, its own pid (not its supervisor's).
     */
    static String controllerLine(DeploymentState state, Path dir) {
        if (state.controllers().isEmpty() && state.controllerPid() > 0 && Processes.alive(state.controllerPid())) {
            return "controller: running (pid " + state.controllerPid() + ")";
        }
        List<String> running = new java.util.ArrayList<>();
        for (DeploymentState.ControllerProcess controller : state.controllers()) {
            long pid = io.warden.runtime.LocalDeployment.controllerPid(dir, controller.id());
            if (pid > 0) {
                running.add(
                        controller.id() + " running (pid " + pid + ", API on 127.0.0.1:" + controller.apiPort() + ")");
            } else if (Processes.alive(controller.supervisorPid())) {
                running.add(controller.id() + " restarting (its supervisor, pid " + controller.supervisorPid()
                        + ", starts it again)");
            }
        }
        if (running.isEmpty()) {
            return "controller: NOT RUNNING: nothing repairs the cluster or renews the certificates (./warden"
                    + " certificates shows their days); start them with ./warden controller --detach --dir " + dir;
        }
        return "controllers: " + String.join("; ", running);
    }

    /** Members from the DCS, plus a row for every node of the deployment whose agent is not publishing. */
    static List<Map<String, Object>> rows(DeploymentState state, ClusterSnapshot cluster) {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (DeploymentState.NodeHost node : state.nodes()) {
            Member m = cluster.members().get(node.name());
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("name", node.name());
            row.put("role", m == null ? "unknown" : m.role().label());
            row.put("state", m == null ? "down" : m.state().label());
            row.put("leader", cluster.isLeader(node.name()));
            row.put("timeline", m == null ? 0 : m.timeline());
            row.put("lsn", m == null ? "" : m.lsn());
            row.put("lag_bytes", m == null ? 0 : m.lagBytes());
            row.put("host", node.host());
            row.put("port", node.port());
            // As the agent publishes it (https with TLS); a node whose agent is not publishing has none to show.
            row.put("api_url", m == null ? "" : m.apiUrl());
            row.put("agent_pid", m == null ? node.agentPid() : m.agentPid());
            row.put("postgres_pid", m == null ? 0 : m.postgresPid());
            row.put("pending_restart", m != null && m.pendingRestart());
            row.put("agent_starts", m == null ? 0 : m.agentStarts());
            row.put("postgres_starts", m == null ? 0 : m.postgresStarts());
            row.put("postgres_started_at", m == null ? "" : m.postgresStartedAt());
            row.put("tags", m == null ? null : m.tags());
            row.put("watchdog_pid", node.watchdogPid());
            // The container as the kernel has it now, not as up recorded it: a resize shows at once.
            var container = LocalDeployment.containerOf(node);
            row.put("host_id", node.netns().isEmpty() ? "loopback" : node.netns());
            row.put("cgroup", container.map(c -> c.all().toString()).orElse(""));
            var limits = container.map(c -> c.limits(ContainerCgroups.Part.POSTGRES));
            var usage = container.map(c -> c.usage(ContainerCgroups.Part.POSTGRES));
            row.put("cpu_limit_millis", limits.map(l -> l.cpuMillis()).orElse(0L));
            row.put("memory_limit_bytes", limits.map(l -> l.memoryBytes()).orElse(0L));
            row.put("memory_used_bytes", usage.map(u -> u.memoryBytes()).orElse(0L));
            row.put("pids_limit", limits.map(l -> l.pids()).orElse(0L));
            row.put("frozen", container.map(c -> c.all().frozen()).orElse(false));
            var volume = LocalDeployment.volumeOf(node);
            var df = volume.map(v -> v.usage());
            row.put("volume", node.volume());
            row.put(
                    "encrypted",
                    LocalDeployment.nodeVolumeOf(node).map(v -> v.encrypted()).orElse(false));
            row.put("volume_bytes", df.map(u -> u.totalBytes()).orElse(0L));
            row.put("volume_used_bytes", df.map(u -> u.usedBytes()).orElse(0L));
            rows.add(row);
        }
        return rows;
    }
}
