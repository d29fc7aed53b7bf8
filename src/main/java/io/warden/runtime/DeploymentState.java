package io.warden.runtime;

import io.warden.common.AtomicFile;
import io.warden.common.Json;
import io.warden.common.WardenException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

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
        String cgroups) {

    public DeploymentState {
        routers = routers == null ? List.of() : routers;
        cgroups = cgroups == null ? "" : cgroups;
    }

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
            String volume) {
        public NodeHost {
            container = container == null ? "" : container;
            limits = limits == null ? ResourceLimits.NONE : limits;
            volume = volume == null ? "" : volume;
        }

        /** The same host with the pids of a new agent and watchdog. */
        public NodeHost withPids(long agentPid, long watchdogPid) {
            return new NodeHost(
                    name, host, port, apiPort, configFile, netns, agentPid, watchdogPid, container, limits, volume);
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

    private DeploymentState with(List<NodeHost> nodes, List<RouterProcess> routers, long controllerPid) {
        return new DeploymentState(
                cluster, basePort, isolation, netId, etcd, nodes, routers, etcdClient, controllerPid, cgroups);
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
