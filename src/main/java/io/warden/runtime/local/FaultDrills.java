package io.warden.runtime.local;

import io.warden.common.Poll;
import io.warden.common.Processes;
import io.warden.common.WardenException;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.DeploymentState.NodeHost;
import io.warden.runtime.Fault;
import io.warden.runtime.LocalDeployment;
import io.warden.runtime.NetworkNamespaces;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The faults the local runtime can inflict on a node's host, for drills and for the tests (one implementation for
 * both): the host dies, pauses, or loses its network. Each returns a sentence saying what it did, and refuses with
 * the reason on a deployment that cannot do it (no cgroups, no namespaces).
 */
public final class FaultDrills {
    private final DeploymentState state;

    public FaultDrills(DeploymentState state) {
        this.state = state;
    }

    public String apply(Fault fault, String nodeName) {
        NodeHost node = node(nodeName);
        return switch (fault) {
            case KILL -> kill(node);
            case FREEZE -> freeze(node, true);
            case THAW -> freeze(node, false);
            case ISOLATE -> link(node, false);
            case HEAL -> link(node, true);
            case FILL_DISK -> fillDisk(node);
            case BREAK_REJOIN -> breakRejoin(node);
            case BREAK_DATA -> breakData(node);
        };
    }

    /** The node's volume filled to the last block by one file, as a runaway writer would; df inside shows 100 %. */
    private String fillDisk(NodeHost node) {
        LoopVolume volume = LocalDeployment.volumeOf(node)
                .orElseThrow(() -> new WardenException(
                        "cannot fill " + node.name() + "'s disk: its data directory is on the machine's own"
                                + " filesystem, not on a volume of its own, and filling that would stop every node",
                        "run ./warden up as root, which gives each node a volume; nothing was done"));
        volume.fill();
        return "filled " + node.name() + "'s volume: " + volume.usage().percent() + " % used ("
                + volume.mountPoint().resolve("fill") + "; remove that file to free it)";
    }

    /**
     * The node's two client pairs trade places: the one it logs in to other nodes with as replicator (pg_basebackup,
     * streaming) and the one as warden_peer (pg_rewind, its checks on the leader), each certificate with its key.
     * Each pair is still a valid pair of the deployment's CA, so the certificate upkeep (which re-issues a pair whose
     * key does not match, or that expires) leaves it alone, but each now names the other role: postgres's cert
     * method refuses a login whose certificate names another user. Every attempt of this node to rejoin another
     * primary is refused, while its own postgres goes on serving.
     */
    private String breakRejoin(NodeHost node) {
        Path tls = LocalRuntime.tlsDirOf(Path.of(node.configFile()))
                .orElseThrow(() -> new WardenException(
                        "cannot break " + node.name() + "'s way back: it logs in to other nodes by password, not by"
                                + " client certificates (its config names no tls_dir)",
                        "run ./warden up with TLS (the default); nothing was done"));
        try {
            // The names security.NodeCertificates gives them (the runtime does not depend on that package).
            for (String suffix : List.of(".crt", ".key")) {
                Path replicator = tls.resolve("replicator" + suffix);
                Path peer = tls.resolve("warden_peer" + suffix);
                byte[] replicatorPem = Files.readAllBytes(replicator);
                byte[] peerPem = Files.readAllBytes(peer);
                // Written in place: each file keeps its owner and mode (the postgres user reads them).
                Files.write(replicator, peerPem);
                Files.write(peer, replicatorPem);
            }
        } catch (java.io.IOException e) {
            throw new WardenException(
                    "cannot break " + node.name() + "'s way back: " + e.getMessage(),
                    "check " + tls + "; its client certificates may be half swapped: remove the node");
        }
        return "broke " + node.name() + "'s way back: its replicator and warden_peer client certificates in " + tls
                + " are swapped, so pg_rewind, cloning and streaming from another node are refused; its own postgres"
                + " goes on. Once it must rejoin another primary, repair replaces it";
    }

    /**
     * The node's control file ({@code global/pg_control}) is overwritten with as many zeros while its postgres is
     * frozen (a running replica rewrites that file at each restartpoint, which would undo the drill), then postgres
     * is killed: it refuses to start on that data directory again ("incorrect checksum in control file"). Replicas
     * only: a primary whose postgres cannot start is the HA layer's to fail over, not this drill's.
     */
    private String breakData(NodeHost node) {
        Path control = node.dataDir().resolve("global/pg_control");
        if (!Files.exists(node.dataDir().resolve("standby.signal"))) {
            throw new WardenException(
                    "cannot break " + node.name() + "'s data directory: it runs as the primary (no standby.signal),"
                            + " and this drill is for replicas",
                    "break a replica's data (./warden list shows the roles), or fault kill the primary; nothing was"
                            + " done");
        }
        var container = LocalDeployment.containerOf(node);
        List<Long> pids = new ArrayList<>();
        if (container.isPresent()) {
            container.get().part(ContainerCgroups.Part.POSTGRES).freeze();
        } else {
            postmaster(node).ifPresent(pid -> {
                pids.add(pid);
                ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(d -> pids.add(d.pid())));
            });
            pids.forEach(pid -> Processes.signal(pid, "STOP"));
        }
        String killed;
        try {
            Files.write(control, new byte[(int) Files.size(control)]);
        } catch (java.io.IOException e) {
            throw new WardenException(
                    "cannot break " + node.name() + "'s data directory: " + e.getMessage(),
                    "check " + control + "; its postgres is frozen: ./warden fault kill " + node.name() + " ends it");
        } finally {
            if (container.isPresent()) {
                // Frozen, killed, thawed: every process gets its SIGKILL.
                killed = container.get().part(ContainerCgroups.Part.POSTGRES).kill() + " postgres processes";
            } else {
                pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
                pids.forEach(pid -> Processes.signal(pid, "CONT"));
                killed = pids.size() + " postgres processes by pid";
            }
        }
        return "broke " + node.name() + "'s data directory: " + control + " is zeros and its postgres is killed ("
                + killed + "); postgres will not start on it again, so repair replaces the node";
    }

    /**
     * The host dies: everything in its container (agent, watchdog, postgres and its backends) is SIGKILLed at once,
     * frozen first so none forks away. Without cgroups, the agent's, the watchdog's and postgres's pids are, which
     * misses a process that forks at that moment.
     */
    private String kill(NodeHost node) {
        var container = LocalDeployment.containerOf(node);
        if (container.isPresent()) {
            int killed = container.get().all().kill();
            return "killed " + node.name() + "'s host: " + killed + " processes in "
                    + container.get().all();
        }
        // The supervisor first, or it would start the agent again in the moment between the two kills.
        List<Long> pids = new ArrayList<>(List.of(node.watchdogPid(), LocalDeployment.supervisedAgentPid(node)));
        postmaster(node).ifPresent(pid -> {
            pids.add(pid);
            ProcessHandle.of(pid).ifPresent(p -> p.descendants().forEach(d -> pids.add(d.pid())));
        });
        pids.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        try {
            Poll.every(Duration.ofMillis(20))
                    .until(Duration.ofSeconds(10), () -> pids.stream().noneMatch(Processes::alive));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return "killed " + node.name() + "'s host: agent, watchdog and postgres, " + pids.size()
                + " processes by pid (no cgroups)";
    }

    private String freeze(NodeHost node, boolean frozen) {
        var container = LocalDeployment.containerOf(node)
                .orElseThrow(() -> new WardenException(
                        "cannot " + (frozen ? "freeze" : "thaw") + " " + node.name() + "'s host: it has no cgroup"
                                + " (the deployment runs without root or without cgroups)",
                        "run ./warden up as root on a machine with the freezer controller; nothing was done"));
        if (frozen) {
            container.all().freeze();
            return "froze " + node.name() + "'s host: its "
                    + container.all().pids().size() + " processes are paused until ./warden fault thaw " + node.name();
        }
        container.all().thaw();
        return "thawed " + node.name() + "'s host";
    }

    private String link(NodeHost node, boolean up) {
        if (node.netns().isEmpty()) {
            throw new WardenException(
                    "cannot " + (up ? "heal" : "isolate") + " " + node.name() + ": it shares the machine's loopback"
                            + " (process isolation), so no link of its own can be cut",
                    "run ./warden up as root (netns isolation); nothing was done");
        }
        NetworkNamespaces.setLink(state.netId(), index(node), up);
        return up
                ? "healed " + node.name() + "'s network: its link is up again"
                : "isolated " + node.name() + ": its host's link is down, it reaches neither etcd nor its peers";
    }

    /** The number of the node's host in the deployment's network. */
    private int index(NodeHost node) {
        return state.hosts().stream()
                .filter(h -> h.netns().equals(node.netns()))
                .mapToInt(DeploymentState.HostRecord::index)
                .findFirst()
                // Made before hosts were recorded: node-k on host k.
                .orElse(state.nodes().indexOf(node) + 1);
    }

    private NodeHost node(String name) {
        return state.requireNode(name);
    }

    private static java.util.Optional<Long> postmaster(NodeHost node) {
        Path pidFile = node.dataDir().resolve("postmaster.pid");
        try {
            return Files.readAllLines(pidFile).stream()
                    .findFirst()
                    .map(String::strip)
                    .map(Long::parseLong)
                    .filter(Processes::alive);
        } catch (java.io.IOException | NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }
}
