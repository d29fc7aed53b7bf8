package io.warden.runtime;

import io.warden.common.AtomicFile;
import io.warden.common.Json;
import io.warden.common.WardenException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What {@code warden up} started, written to {@code deployment.json} so {@code down}, {@code list} and {@code uri}
 * act on exactly that (pids, ports, where the certificates are). It holds no secret: passwords and keys live in
 * owner-only files of their own, so the inventory can be read, copied and shown without handing them out.
 * Readable only by its owner all the same: it says where everything is.
 *
 * @param etcdClient the operator's etcd client certificate, with which the CLI reaches etcd; null in a deployment
 *     made before etcd ran with TLS
 * @param controllerPid the deployment's controller (certificate renewal); 0 when none runs
 * @param cgroups the deployment's group below {@code warden/} in every cgroup hierarchy, which holds its etcd
 *     members and its nodes' containers; empty (or null, in a deployment made before) when it runs without cgroups
 * @param hosts the hosts the deployment made (a network namespace each, with netns isolation), each holding one
 *     container or spare; empty with process isolation, where everything shares this machine's loopback
 * @param lastNode the highest node number ever given out: a node made later is {@code node-<lastNode + 1>}, so no
 *     name is used twice, not even after its node was removed
 * @param intents creates and removes that began and did not finish (recorded before they start): what a process
 *     killed half-way left for the next one to finish or undo
 * @param nodeConfig the lines {@code up} adds to every node's config (test tuning, say), for nodes made later to get
 *     the same; never the ones that carry a secret ({@link #SECRET_NODE_CONFIG}), which the runtime is handed anew
 * @param encryption the {@code --encryption} mode the deployment was made with
 * @param controllers the deployment's controllers (two: one leads, one stands by), each under a supervisor; empty in
 *     a deployment made before there were two, whose one controller is {@code controllerPid}
 * @param quarantine the volumes of removed nodes kept detached with their keys ({@link QuarantinedVolume})
 */
public record DeploymentState(
        String cluster,
        int basePort,
        String isolation,
        int netId,
        List<EtcdMember> etcd,
        List<NodeHost> nodes,
        List<RouterProcess> routers,
        TlsFiles etcdClient,
        long controllerPid,
        String cgroups,
        List<HostRecord> hosts,
        int lastNode,
        List<Intent> intents,
        java.util.Map<String, String> nodeConfig,
        String encryption,
        List<ControllerProcess> controllers,
        List<QuarantinedVolume> quarantine) {

    public DeploymentState {
        controllers = controllers == null ? List.of() : List.copyOf(controllers);
        quarantine = quarantine == null ? List.of() : List.copyOf(quarantine);
        routers = routers == null ? List.of() : routers;
        cgroups = cgroups == null ? "" : cgroups;
        hosts = hosts == null ? List.of() : hosts;
        intents = intents == null ? List.of() : intents;
        // The inventory holds no secret: lines that carry one are left out, whoever passed them in.
        nodeConfig = nodeConfig == null
                ? java.util.Map.of()
                : nodeConfig.entrySet().stream()
                        .filter(e -> !SECRET_NODE_CONFIG.contains(e.getKey()))
                        .collect(java.util.stream.Collectors.toUnmodifiableMap(
                                java.util.Map.Entry::getKey, java.util.Map.Entry::getValue));
        // Made before the mode was recorded: up's default then was required as root (netns), off otherwise.
        encryption = encryption == null ? ("netns".equals(isolation) ? "required" : "off") : encryption;
        // A deployment made before numbers were recorded used node-1..node-N.
        lastNode = Math.max(lastNode, nodes == null ? 0 : nodes.size());
    }

    /** Node config lines that carry a secret (a password, or what stands for one): never in deployment.json. */
    public static final java.util.Set<String> SECRET_NODE_CONFIG =
            java.util.Set.of("superuser_password", "replication_password", "admin_password_verifier");

    /** As a deployment made before volumes were quarantined. */
    public DeploymentState(
            String cluster,
            int basePort,
            String isolation,
            int netId,
            List<EtcdMember> etcd,
            List<NodeHost> nodes,
            List<RouterProcess> routers,
            TlsFiles etcdClient,
            long controllerPid,
            String cgroups,
            List<HostRecord> hosts,
            int lastNode,
            List<Intent> intents,
            java.util.Map<String, String> nodeConfig,
            String encryption,
            List<ControllerProcess> controllers) {
        this(
                cluster,
                basePort,
                isolation,
                netId,
                etcd,
                nodes,
                routers,
                etcdClient,
                controllerPid,
                cgroups,
                hosts,
                lastNode,
                intents,
                nodeConfig,
                encryption,
                controllers,
                List.of());
    }

    /** As a deployment made before it had two controllers. */
    public DeploymentState(
            String cluster,
            int basePort,
            String isolation,
            int netId,
            List<EtcdMember> etcd,
            List<NodeHost> nodes,
            List<RouterProcess> routers,
            TlsFiles etcdClient,
            long controllerPid,
            String cgroups,
            List<HostRecord> hosts,
            int lastNode,
            List<Intent> intents,
            java.util.Map<String, String> nodeConfig,
            String encryption) {
        this(
                cluster,
                basePort,
                isolation,
                netId,
                etcd,
                nodes,
                routers,
                etcdClient,
                controllerPid,
                cgroups,
                hosts,
                lastNode,
                intents,
                nodeConfig,
                encryption,
                List.of());
    }

    /**
     * A controller of the deployment: its id ({@code controller-1}), the pid of the supervisor that keeps it
     * running (the controller's own pid is in its lock file, {@code controller/<id>.lock}), and its API's port.
     */
    public record ControllerProcess(String id, long supervisorPid, int apiPort) {}

    /** As a deployment made before hosts, intents and node numbers were recorded. */
    public DeploymentState(
            String cluster,
            int basePort,
            String isolation,
            int netId,
            List<EtcdMember> etcd,
            List<NodeHost> nodes,
            List<RouterProcess> routers,
            TlsFiles etcdClient,
            long controllerPid,
            String cgroups) {
        this(
                cluster,
                basePort,
                isolation,
                netId,
                etcd,
                nodes,
                routers,
                etcdClient,
                controllerPid,
                cgroups,
                List.of(),
                0,
                List.of(),
                java.util.Map.of(),
                "off");
    }

    /**
     * A host of the local runtime: a network namespace ({@code netns}) with its own address, number {@code index} of
     * the deployment's network, holding the container {@code holds} (a node's or a router's name) or nothing (a spare,
     * kept for repairs and scaling); {@code killed} from a drill's kill until its container starts again.
     */
    public record HostRecord(String id, int index, String address, String netns, String holds, boolean killed) {
        public HostRecord {
            holds = holds == null ? "" : holds;
        }

        public HostRecord(String id, int index, String address, String netns, String holds) {
            this(id, index, address, netns, holds, false);
        }

        public boolean spare() {
            return holds.isEmpty();
        }

        public HostRecord holding(String container) {
            return new HostRecord(id, index, address, netns, container, false);
        }

        public HostRecord withKilled(boolean killed) {
            return new HostRecord(id, index, address, netns, holds, killed);
        }
    }

    /**
     * A create or remove recorded before it started ({@code action} {@code create-host}, {@code create-node},
     * {@code remove-node}) of {@code target} on {@code host}, at {@code startedAt} (ISO-8601), by process {@code pid}.
     */
    public record Intent(String id, String action, String target, String host, String startedAt, long pid) {}

    /** A router of the local deployment: its own loopback address, both ports, its API and pid. */
    public record RouterProcess(
            String id, String host, int readWritePort, int readOnlyPort, int apiPort, String configFile, long pid) {}

    public record EtcdMember(String name, String clientUrl, String peerUrl, long pid, String dataDir) {}

    /**
     * A database node's host in the local deployment: the node's name, its postgres address and API port, its agent's
     * config file, the network namespace it runs in (empty when it shares the loopback), and the pids of its agent
     * and watchdog, and its container's cgroup below {@code warden/} ({@code <deployment>/<node>}, empty without
     * cgroups) with the limits of its postgres part. Not the node's DCS record ({@code cluster.Member}) nor its
     * agent's config ({@code agent.AgentConfig}).
     */
    public record NodeHost(
            String name,
            String host,
            int port,
            int apiPort,
            String configFile,
            String netns,
            long agentPid,
            long watchdogPid,
            String container,
            ResourceLimits limits,
            String volume,
            Map<String, String> labels) {
        public NodeHost {
            container = container == null ? "" : container;
            limits = limits == null ? ResourceLimits.NONE : limits;
            volume = volume == null ? "" : volume;
            labels = labels == null ? Map.of() : Map.copyOf(labels);
        }

        /** A node without labels (one {@code up} made, or one recorded before labels existed). */
        public NodeHost(
                String name,
                String host,
                int port,
                int apiPort,
                String configFile,
                String netns,
                long agentPid,
                long watchdogPid,
                String container,
                ResourceLimits limits,
                String volume) {
            this(name, host, port, apiPort, configFile, netns, agentPid, watchdogPid, container, limits, volume, null);
        }

        /** The same host with the pids of a new agent and watchdog. */
        public NodeHost withPids(long agentPid, long watchdogPid) {
            return new NodeHost(
                    name,
                    host,
                    port,
                    apiPort,
                    configFile,
                    netns,
                    agentPid,
                    watchdogPid,
                    container,
                    limits,
                    volume,
                    labels);
        }

        /** The same host with other limits. */
        public NodeHost withLimits(ResourceLimits changed) {
            return new NodeHost(
                    name,
                    host,
                    port,
                    apiPort,
                    configFile,
                    netns,
                    agentPid,
                    watchdogPid,
                    container,
                    changed,
                    volume,
                    labels);
        }

        /** The same host carrying {@code added} (who made it and why), see {@link io.warden.runtime.Container}. */
        public NodeHost withLabels(Map<String, String> added) {
            return new NodeHost(
                    name,
                    host,
                    port,
                    apiPort,
                    configFile,
                    netns,
                    agentPid,
                    watchdogPid,
                    container,
                    limits,
                    volume,
                    added);
        }

        /** The node's own directory: its config, certificates, logs, and its volume's mount point. */
        public java.nio.file.Path nodeDir() {
            return java.nio.file.Path.of(configFile).getParent();
        }

        /** Where its volume is mounted (when it has one, its {@code volume} is the image file). */
        public java.nio.file.Path volumeMount() {
            return nodeDir().resolve("volume");
        }

        /** Its data directory: on its volume when it has one. */
        public java.nio.file.Path dataDir() {
            return volume.isEmpty() ? nodeDir().resolve("data") : volumeMount().resolve("pgdata/data");
        }

        /**
         * Where its logs are (postgres's, the agent's, the watchdog's, and the supervisor's status): on its volume,
         * beside the data directory and encrypted with it, when it has one; its own directory otherwise.
         */
        public java.nio.file.Path logDir() {
            return volume.isEmpty() ? nodeDir() : volumeMount().resolve("pgdata/log");
        }
    }

    public static Path file(Path dir) {
        return dir.resolve("deployment.json");
    }

    public static DeploymentState read(Path dir) {
        Path file = file(dir);
        if (!Files.exists(file)) {
            throw new WardenException(
                    "no deployment in " + dir + " (no deployment.json)", "start one with: ./warden up --dir " + dir);
        }
        try {
            // Written by Warden, maybe an older one: a field it no longer has (the passwords it once kept) is passed
            // over.
            return Json.wire().readValue(file.toFile(), DeploymentState.class);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot read " + file + ": " + e.getMessage(), "remove the directory and run ./warden up again");
        }
    }

    /**
     * Reads the inventory, applies {@code change} and writes the result, holding {@code deployment.lock} throughout:
     * the CLI, {@code up} and a controller may all change it, and none may lose another's change. Returns what it
     * wrote.
     */
    public static DeploymentState update(Path dir, java.util.function.UnaryOperator<DeploymentState> change) {
        Path lock = dir.resolve("deployment.lock");
        // A file lock keeps other processes out; within this JVM two threads would collide on it instead of waiting.
        synchronized (DeploymentState.class) {
            return updateLocked(dir, lock, change);
        }
    }

    private static DeploymentState updateLocked(
            Path dir, Path lock, java.util.function.UnaryOperator<DeploymentState> change) {
        try (var channel = java.nio.channels.FileChannel.open(
                        lock, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
                var held = channel.lock()) {
            DeploymentState changed = change.apply(read(dir));
            changed.write(dir);
            return changed;
        } catch (IOException e) {
            throw new WardenException(
                    "cannot lock " + lock + ": " + e.getMessage(), "check free space and permissions of " + dir);
        }
    }

    public void write(Path dir) {
        try {
            Files.createDirectories(dir);
            AtomicFile.replaceOwnerOnly(file(dir), Json.writePretty(this));
        } catch (IOException e) {
            throw new WardenException(
                    "cannot write " + file(dir) + ": " + e.getMessage(), "check free space and permissions");
        }
    }

    /**
     * The passwords a deployment.json written before they moved to files of their own still holds (keys
     * {@code superuser_password}, {@code replication_password}), for {@code up} to move them out; empty when none.
     */
    public static java.util.Map<String, String> legacyPasswords(Path dir) {
        Path file = file(dir);
        if (!Files.exists(file)) {
            return java.util.Map.of();
        }
        try {
            var tree = Json.wire().readTree(file.toFile());
            java.util.Map<String, String> found = new java.util.LinkedHashMap<>();
            for (String key : List.of("superuser_password", "replication_password")) {
                if (tree.hasNonNull(key)) {
                    found.put(key, tree.get(key).asText());
                }
            }
            return found;
        } catch (IOException e) {
            throw new WardenException(
                    "cannot read " + file + ": " + e.getMessage(), "remove the directory and run ./warden up again");
        }
    }

    /** This inventory with {@code replaced} in place of the node of the same name. */
    public DeploymentState withNode(NodeHost replaced) {
        return with(replacing(nodes, replaced, NodeHost::name), routers, controllerPid);
    }

    /** This inventory with {@code replaced} in place of the router of the same id. */
    public DeploymentState withRouter(RouterProcess replaced) {
        return with(nodes, replacing(routers, replaced, RouterProcess::id), controllerPid);
    }

    /** This inventory with {@code pid} as its controller's. */
    public DeploymentState withControllerPid(long pid) {
        return with(nodes, routers, pid);
    }

    /** This inventory with {@code added} as one more node, numbered as the last one given out. */
    public DeploymentState withNewNode(NodeHost added, int number) {
        List<NodeHost> all = new java.util.ArrayList<>(nodes);
        all.add(added);
        return copy(all, routers, controllerPid, hosts, Math.max(lastNode, number), intents);
    }

    /** This inventory without the node {@code name}. */
    public DeploymentState withoutNode(String name) {
        return with(nodes.stream().filter(n -> !n.name().equals(name)).toList(), routers, controllerPid);
    }

    /** This inventory with {@code replaced} in place of the host of the same id, or with it added. */
    public DeploymentState withHost(HostRecord replaced) {
        List<HostRecord> all = new java.util.ArrayList<>(
                hosts.stream().filter(h -> !h.id().equals(replaced.id())).toList());
        all.add(replaced);
        all.sort(java.util.Comparator.comparingInt(HostRecord::index));
        return withHostsAndIntents(all, intents);
    }

    /** This inventory with {@code number} as the highest node number given out (when it is higher). */
    public DeploymentState withLastNode(int number) {
        return copy(nodes, routers, controllerPid, hosts, Math.max(lastNode, number), intents);
    }

    /** The node {@code name}, or a refusal that lists the deployment's nodes. */
    public NodeHost requireNode(String name) {
        return node(name)
                .orElseThrow(() -> new WardenException(
                        "no node '" + name + "' in this deployment",
                        "use one of: "
                                + String.join(
                                        ", ", nodes.stream().map(NodeHost::name).toList())));
    }

    /** The node {@code name}, if the deployment has it. */
    public java.util.Optional<NodeHost> node(String name) {
        return nodes.stream().filter(n -> n.name().equals(name)).findFirst();
    }

    /** This inventory with {@code intent} recorded. */
    public DeploymentState withIntent(Intent intent) {
        List<Intent> all = new java.util.ArrayList<>(intents);
        all.add(intent);
        return withHostsAndIntents(hosts, all);
    }

    /** This inventory without the intent {@code id} (it finished). */
    public DeploymentState withoutIntent(String id) {
        return withHostsAndIntents(
                hosts, intents.stream().filter(i -> !i.id().equals(id)).toList());
    }

    /** The host holding {@code container}, if any. */
    public java.util.Optional<HostRecord> hostOf(String container) {
        return hosts.stream().filter(h -> h.holds().equals(container)).findFirst();
    }

    private DeploymentState withHostsAndIntents(List<HostRecord> hosts, List<Intent> intents) {
        return copy(nodes, routers, controllerPid, hosts, lastNode, intents);
    }

    private DeploymentState with(List<NodeHost> nodes, List<RouterProcess> routers, long controllerPid) {
        return copy(nodes, routers, controllerPid, hosts, lastNode, intents);
    }

    /** This inventory with the parts that change replaced; the rest (cluster, network, etcd, ...) as it is. */
    private DeploymentState copy(
            List<NodeHost> nodes,
            List<RouterProcess> routers,
            long controllerPid,
            List<HostRecord> hosts,
            int lastNode,
            List<Intent> intents) {
        return copy(nodes, routers, controllerPid, hosts, lastNode, intents, controllers, quarantine);
    }

    private DeploymentState copy(
            List<NodeHost> nodes,
            List<RouterProcess> routers,
            long controllerPid,
            List<HostRecord> hosts,
            int lastNode,
            List<Intent> intents,
            List<ControllerProcess> controllers,
            List<QuarantinedVolume> quarantine) {
        return new DeploymentState(
                cluster,
                basePort,
                isolation,
                netId,
                etcd,
                nodes,
                routers,
                etcdClient,
                controllerPid,
                cgroups,
                hosts,
                lastNode,
                intents,
                nodeConfig,
                encryption,
                controllers,
                quarantine);
    }

    /** This inventory with {@code started} as its controllers. */
    public DeploymentState withControllers(List<ControllerProcess> started) {
        return copy(nodes, routers, controllerPid, hosts, lastNode, intents, started, quarantine);
    }

    /** This inventory with {@code kept} quarantined, in place of an earlier record of the same node. */
    public DeploymentState withQuarantined(QuarantinedVolume kept) {
        List<QuarantinedVolume> all = new java.util.ArrayList<>(
                quarantine.stream().filter(q -> !q.node().equals(kept.node())).toList());
        all.add(kept);
        return copy(nodes, routers, controllerPid, hosts, lastNode, intents, controllers, all);
    }

    /** This inventory without the quarantined volume of {@code node}. */
    public DeploymentState withoutQuarantined(String node) {
        return copy(
                nodes,
                routers,
                controllerPid,
                hosts,
                lastNode,
                intents,
                controllers,
                quarantine.stream().filter(q -> !q.node().equals(node)).toList());
    }

    private static <T> List<T> replacing(List<T> all, T replaced, java.util.function.Function<T, String> name) {
        return all.stream()
                .map(one -> name.apply(one).equals(name.apply(replaced)) ? replaced : one)
                .toList();
    }

    /** The operator's etcd client certificate; empty for a deployment made before etcd ran with TLS. */
    public java.util.Optional<TlsFiles> etcdClientTls() {
        return java.util.Optional.ofNullable(etcdClient);
    }

    public List<String> etcdClientUrls() {
        return etcd.stream().map(EtcdMember::clientUrl).toList();
    }
}
