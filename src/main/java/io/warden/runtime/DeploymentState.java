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
 * act on exactly that (pids, ports, credentials). Readable only by its owner: it holds the passwords.
 *
 * @param etcdClient the operator's etcd client certificate, with which the CLI reaches etcd; null in a deployment
 *     made before etcd ran with TLS
 */
public record DeploymentState(
        String cluster,
        int basePort,
        String isolation,
        int netId,
        String superuserPassword,
        String replicationPassword,
        List<EtcdMember> etcd,
        List<NodeHost> nodes,
        List<RouterProcess> routers,
        TlsFiles etcdClient) {

    public DeploymentState {
        routers = routers == null ? List.of() : routers;
    }

    /** A router of the local deployment: its own loopback address, both ports, its API and pid. */
    public record RouterProcess(
            String id, String host, int readWritePort, int readOnlyPort, int apiPort, String configFile, long pid) {}

    public record EtcdMember(String name, String clientUrl, String peerUrl, long pid, String dataDir) {}

    /**
     * A database node's host in the local deployment: the node's name, its postgres address and API port, its agent's
     * config file, the network namespace it runs in (empty when it shares the loopback), and the pids of its agent
     * and watchdog. Not the node's DCS record ({@code cluster.Member}) nor its agent's config ({@code
     * agent.AgentConfig}).
     */
    public record NodeHost(
            String name,
            String host,
            int port,
            int apiPort,
            String configFile,
            String netns,
            long agentPid,
            long watchdogPid) {}

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
            return Json.json().readValue(file.toFile(), DeploymentState.class);
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

    /** The operator's etcd client certificate; empty for a deployment made before etcd ran with TLS. */
    public java.util.Optional<TlsFiles> etcdClientTls() {
        return java.util.Optional.ofNullable(etcdClient);
    }

    public List<String> etcdClientUrls() {
        return etcd.stream().map(EtcdMember::clientUrl).toList();
    }
}
