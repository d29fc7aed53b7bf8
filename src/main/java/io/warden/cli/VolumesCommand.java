package io.warden.cli;

import io.warden.cluster.ClusterSnapshot;
import io.warden.common.Units;
import io.warden.common.WardenException;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.DeploymentState.NodeHost;
import io.warden.runtime.LocalDeployment;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "volumes",
        description = {
            "The nodes' volumes. 'volumes grow --size 2GiB' grows every node's volume with no cluster outage: online"
                    + " where the kernel allows it, otherwise one node at a time (the replicas, then a switchover,"
                    + " then the former primary), each stopped, grown offline and started again."
        })
final class VolumesCommand implements Callable<Integer> {
    private static final Duration NODE_BACK = Duration.ofMinutes(3);

    @Mixin
    DirOption dir;

    @Parameters(
            index = "0",
            paramLabel = "ACTION",
            description = "grow: make every node's volume larger, with no cluster outage")
    String action;

    @Option(names = "--size", paramLabel = "SIZE", required = true, description = "the new size, e.g. 2GiB")
    String size;

    @Override
    public Integer call() {
        if (!action.equals("grow")) {
            throw new WardenException("unknown volumes action '" + action + "'", "use: volumes grow --size SIZE");
        }
        long bytes;
        try {
            bytes = Units.bytes(size);
        } catch (IllegalArgumentException e) {
            throw new WardenException(e.getMessage(), "give the new size, e.g. --size 2GiB");
        }
        Path deployment = dir.resolve();
        DeploymentState state = DeploymentState.read(deployment);
        List<NodeHost> nodes =
                state.nodes().stream().filter(n -> !n.volume().isEmpty()).toList();
        if (nodes.isEmpty()) {
            throw new WardenException(
                    "no node of " + deployment + " has a volume of its own", "volumes are made by ./warden up as root");
        }
        Optional<String> refused =
                LocalDeployment.volumeOf(nodes.getFirst()).orElseThrow().tryGrowOnline(bytes);
        if (refused.isEmpty()) {
            for (NodeHost node : nodes.subList(1, nodes.size())) {
                LocalDeployment.volumeOf(node)
                        .orElseThrow()
                        .tryGrowOnline(bytes)
                        .ifPresent(why -> {
                            throw new WardenException(
                                    "growing " + node.name() + "'s volume online failed: " + why,
                                    "run the command again; nodes already grown stay so");
                        });
            }
            nodes.forEach(n -> LocalDeployment.writeVolumeParameters(Path.of(n.configFile()), bytes));
            System.out.println("grew every volume to " + size + " online; the parameters its size implies apply at"
                    + " each node's next restart (./warden restart NODE)");
            return 0;
        }
        System.out.println("online growth is refused here ("
                + refused.get().lines().reduce((first, last) -> last).orElse("") + "): growing one node at a time");
        String leader = Deployments.snapshot(state).leader().map(l -> l.name()).orElse("");
        for (NodeHost node : nodes) {
            if (!node.name().equals(leader)) {
                grow(deployment, node, bytes);
            }
        }
        Optional<NodeHost> primary =
                nodes.stream().filter(n -> n.name().equals(leader)).findFirst();
        if (primary.isPresent()) {
            String candidate = nodes.stream()
                    .map(NodeHost::name)
                    .filter(n -> !n.equals(leader))
                    .findFirst()
                    .orElseThrow(() -> new WardenException(
                            "no replica to switch over to", "a one-node cluster's volume grows only with an outage"));
            switchOver(leader, candidate);
            grow(
                    deployment,
                    DeploymentState.read(deployment).nodes().stream()
                            .filter(n -> n.name().equals(leader))
                            .findFirst()
                            .orElseThrow(),
                    bytes);
        }
        System.out.println("grew every volume to " + size + "; the cluster stayed up throughout");
        return 0;
    }

    private static void grow(Path deployment, NodeHost node, long bytes) {
        System.out.println("growing " + node.name() + "'s volume: stopping it, growing offline, starting it again");
        LocalDeployment.growVolumeOffline(deployment, node, bytes);
        Deployments.awaitHealthy(DeploymentState.read(deployment), NODE_BACK);
        System.out.println(node.name() + " is back on its grown volume");
    }

    private void switchOver(String leader, String candidate) {
        System.out.println("switching over from " + leader + " to " + candidate);
        try (ClusterClient client = new ClusterClient(dir)) {
            Map<String, String> body = new LinkedHashMap<>();
            body.put("leader", leader);
            body.put("candidate", candidate);
            var answer = client.cluster("POST", "/switchover", body, Duration.ofSeconds(40));
            if (!answer.ok()) {
                throw new WardenException(
                        "the switchover from " + leader + " to " + candidate + " was refused: " + answer.message(),
                        "see ./warden list; the replicas already grown stay so, run the command again");
            }
            io.warden.common.Poll.every(Duration.ofMillis(200))
                    .require(
                            NODE_BACK,
                            candidate + " to lead",
                            "see ./warden list",
                            () -> candidate.equals(leaderOf(client.read()).orElse("")));
        }
    }

    private static Optional<String> leaderOf(ClusterSnapshot cluster) {
        return cluster.leader().map(l -> l.name());
    }
}
