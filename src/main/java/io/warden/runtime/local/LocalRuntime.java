package io.warden.runtime.local;

import io.warden.common.Processes;
import io.warden.common.WardenException;
import io.warden.runtime.Container;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.DeploymentState.HostRecord;
import io.warden.runtime.DeploymentState.Intent;
import io.warden.runtime.DeploymentState.NodeHost;
import io.warden.runtime.EtcdIdentity;
import io.warden.runtime.Fault;
import io.warden.runtime.Host;
import io.warden.runtime.LocalDeployment;
import io.warden.runtime.NetworkNamespaces;
import io.warden.runtime.NodeIdentity;
import io.warden.runtime.ResourceLimits;
import io.warden.runtime.Runtime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The runtime on this machine, for the deployment in one directory: a host is a network namespace with its own
 * address (with {@code netns} isolation, as root), a container a node's watchdog and agent in nested cgroups with a
 * loop-mounted volume. Its inventory is the deployment's {@code deployment.json}, read afresh by every call and
 * changed only under its lock, so {@code up}, the CLI and a controller can share it; every create and remove is
 * recorded there as an intent before it starts and cleared once it is done.
 *
 * <p>With {@code process} isolation (no root) there is one host, this machine's loopback, which all nodes share.
 */
public final class LocalRuntime implements Runtime {
    /** The highest host number a network can hold: hosts are 10.n.1.2 to 10.n.254.2. */
    private static final int MAX_HOSTS = 254;

    private final Path dir;
    private final NodeIdentity identity;
    private final EtcdIdentity etcdIdentity;
    private final Clock clock;
    private final java.util.function.Supplier<java.util.Map<String, String>> secrets;

    /**
     * @param secrets the node config lines that carry secrets (the passwords' lines), which the inventory never
     *     holds: asked for only when a node is made
     */
    public LocalRuntime(
            Path dir,
            NodeIdentity identity,
            EtcdIdentity etcdIdentity,
            java.util.function.Supplier<java.util.Map<String, String>> secrets,
            Clock clock) {
        this.secrets = secrets;
        this.dir = dir.toAbsolutePath();
        this.identity = identity;
        this.etcdIdentity = etcdIdentity;
        this.clock = clock;
    }

    private DeploymentState state() {
        return DeploymentState.read(dir);
    }

    @Override
    public List<Host> hosts() {
        DeploymentState state = state();
        ResourceLimits capacity = machineCapacity();
        if (state.hosts().isEmpty()) {
            // One host for all: the machine's loopback.
            return List.of(new Host(
                    "local",
                    "127.0.0.1",
                    capacity,
                    Host.State.UP,
                    state.nodes().stream().map(NodeHost::name).toList()));
        }
        return state.hosts().stream()
                .map(h -> new Host(
                        h.id(), h.address(), capacity, hostState(state, h), h.spare() ? List.of() : List.of(h.holds())))
                .toList();
    }

    private static Host.State hostState(DeploymentState state, HostRecord host) {
        if (host.killed() || !NetworkNamespaces.exists(state.netId(), host.index())) {
            return Host.State.DOWN;
        }
        boolean frozen = state.node(host.holds())
                .flatMap(LocalDeployment::containerOf)
                .map(c -> c.all().exists() && c.all().frozen())
                .orElse(false);
        if (frozen) {
            return Host.State.FROZEN;
        }
        return NetworkNamespaces.linkUp(state.netId(), host.index()) ? Host.State.UP : Host.State.ISOLATED;
    }

    /** Every host here shares this machine: what it has is what each can give. */
    private static ResourceLimits machineCapacity() {
        long memory = 0;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    memory = Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            memory = 0;
        }
        return new ResourceLimits(java.lang.Runtime.getRuntime().availableProcessors() * 1000L, memory, 0);
    }

    @Override
    public Host addHost() {
        DeploymentState before = state();
        if (before.hosts().isEmpty()) {
            throw new WardenException(
                    "this deployment runs with process isolation: its one host is this machine's loopback, and no"
                            + " other can be made",
                    "run ./warden up as root (netns isolation) for hosts of their own");
        }
        String intentId = UUID.randomUUID().toString();
        int[] index = new int[1];
        DeploymentState.update(dir, state -> {
            // Above every host made and every one being made (recorded only as an intent until it exists).
            index[0] = 1
                    + java.util.stream.IntStream.concat(
                                    state.hosts().stream().mapToInt(HostRecord::index),
                                    state.intents().stream()
                                            .filter(i -> i.action().equals("create-host"))
                                            .mapToInt(i ->
                                                    Integer.parseInt(i.target().substring("host-".length()))))
                            .max()
                            .orElse(0);
            if (index[0] > MAX_HOSTS) {
                throw new WardenException(
                        "the deployment's network holds " + MAX_HOSTS + " hosts and all are made",
                        "remove hosts that are no longer needed, or start another deployment");
            }
            return state.withIntent(intent(intentId, "create-host", "host-" + index[0], "host-" + index[0]));
        });
        try {
            NetworkNamespaces.create(before.netId(), index[0]);
        } catch (RuntimeException e) {
            NetworkNamespaces.remove(before.netId(), index[0]);
            DeploymentState.update(dir, state -> state.withoutIntent(intentId));
            throw e;
        }
        HostRecord made = new HostRecord(
                "host-" + index[0],
                index[0],
                NetworkNamespaces.nodeAddress(before.netId(), index[0]),
                NetworkNamespaces.namespace(before.netId(), index[0]),
                "");
        DeploymentState.update(dir, state -> state.withHost(made).withoutIntent(intentId));
        return hosts().stream()
                .filter(h -> h.id().equals(made.id()))
                .findFirst()
                .orElseThrow();
    }

    @Override
    public List<Container> containers() {
        DeploymentState state = state();
        return state.nodes().stream().map(n -> container(state, n)).toList();
    }

    @Override
    public Optional<Container> container(String name) {
        DeploymentState state = state();
        return state.node(name).map(n -> container(state, n));
    }

    private Container container(DeploymentState state, NodeHost node) {
        String host = state.hosts().isEmpty()
                ? "local"
                : state.hostOf(node.name()).map(HostRecord::id).orElse("");
        long volumeBytes =
                LocalDeployment.volumeOf(node).map(LoopVolume::imageBytes).orElse(0L);
        boolean encrypted = LocalDeployment.volumeKeys(dir).has(node.name());
        boolean running = node.watchdogPid() > 0 && Processes.alive(node.watchdogPid());
        return new Container(
                node.name(),
                host,
                node.host(),
                node.limits(),
                volumeBytes,
                encrypted,
                running ? Container.State.RUNNING : Container.State.STOPPED,
                node.labels());
    }

    @Override
    public Container create(ContainerSpec spec) {
        DeploymentState before = state();
        boolean hosted = !before.hosts().isEmpty();
        if (hosted && spec.host().isEmpty() && before.hosts().stream().noneMatch(HostRecord::spare)) {
            addHost();
        }
        String intentId = UUID.randomUUID().toString();
        int[] number = new int[1];
        HostRecord[] placed = new HostRecord[1];
        // The name and the host are taken under the lock, so two creates at once never get the same.
        DeploymentState.update(dir, state -> {
            number[0] = state.lastNode() + 1;
            String name = "node-" + number[0];
            if (!hosted) {
                return state.withLastNode(number[0]).withIntent(intent(intentId, "create-node", name, "local"));
            }
            placed[0] = pickHost(state, spec.host()).holding(name);
            return state.withLastNode(number[0])
                    .withHost(placed[0])
                    .withIntent(intent(intentId, "create-node", name, placed[0].id()));
        });
        NodeHost made;
        try {
            made = LocalDeployment.createNode(
                    LocalDeployment.NodeBlueprint.of(dir, before, secrets.get(), identity, etcdIdentity),
                    number[0],
                    Optional.ofNullable(placed[0]),
                    spec.volumeBytes(),
                    spec.limits());
        } catch (RuntimeException e) {
            // Nothing half-made stays: the node's parts go and its host is a spare again; its name stays used.
            String name = "node-" + number[0];
            try {
                removeParts(before, name, Optional.empty());
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            } finally {
                DeploymentState.update(dir, state -> release(state, name).withoutIntent(intentId));
            }
            throw e;
        }
        NodeHost labelled = made.withLabels(spec.labels());
        DeploymentState.update(
                dir, state -> state.withNewNode(labelled, number[0]).withoutIntent(intentId));
        return container(made.name()).orElseThrow();
    }

    /** The host a new member goes to: a spare (never one holding another member), the one asked for if given. */
    private static HostRecord pickHost(DeploymentState state, Optional<String> wanted) {
        if (wanted.isPresent()) {
            HostRecord host = state.hosts().stream()
                    .filter(h -> h.id().equals(wanted.get()))
                    .findFirst()
                    .orElseThrow(() -> new WardenException(
                            "no host '" + wanted.get() + "' in this deployment",
                            "use one of: "
                                    + String.join(
                                            ", ",
                                            state.hosts().stream()
                                                    .map(HostRecord::id)
                                                    .toList())));
            if (!host.spare()) {
                throw new WardenException(
                        host.id() + " holds " + host.holds() + " already, and two members never share a host",
                        "pick a spare host (warden list shows them), or leave the host out to get one");
            }
            return host;
        }
        return state.hosts().stream()
                .filter(HostRecord::spare)
                .findFirst()
                .orElseThrow(() -> new WardenException(
                        "no spare host is left (another create took the last one)", "try again: one will be made"));
    }

    private static DeploymentState release(DeploymentState state, String name) {
        return state.hostOf(name).map(h -> state.withHost(h.holding(""))).orElse(state);
    }

    @Override
    public Container start(String name) {
        NodeHost node = node(name);
        if (node.watchdogPid() > 0 && Processes.alive(node.watchdogPid())) {
            // A second supervisor on the same data directory would start a second agent (a frozen host looks alive
            // too: thaw it instead).
            throw new WardenException(
                    name + " is running already (its supervisor, pid " + node.watchdogPid() + ", is alive)",
                    "stop it first, or thaw its host if it is frozen");
        }
        NodeHost started = LocalDeployment.launchNode(node);
        DeploymentState.update(dir, state -> {
            DeploymentState updated = state.node(name)
                    .map(n -> state.withNode(n.withPids(started.agentPid(), started.watchdogPid())))
                    .orElse(state);
            return updated.hostOf(name)
                    .map(h -> updated.withHost(h.withKilled(false)))
                    .orElse(updated);
        });
        return container(name).orElseThrow();
    }

    @Override
    public void stop(String name) {
        LocalDeployment.stopNode(node(name));
    }

    @Override
    public Container resize(String name, ResourceLimits limits) {
        NodeHost node = node(name);
        ContainerCgroups groups = LocalDeployment.containerOf(node)
                .orElseThrow(() -> new WardenException(
                        "cannot resize " + name + ": it runs without cgroups, so it has no limits to change",
                        "run ./warden up as root on a machine with cgroups; nothing was changed"));
        groups.resize(ContainerCgroups.Part.POSTGRES, limits);
        DeploymentState.update(
                dir,
                state -> state.node(name)
                        .map(n -> state.withNode(n.withLimits(limits)))
                        .orElse(state));
        return container(name).orElseThrow();
    }

    @Override
    public Container label(String name, java.util.Map<String, String> labels) {
        node(name);
        DeploymentState.update(
                dir,
                state -> state.node(name)
                        .map(n -> state.withNode(n.withLabels(labels)))
                        .orElse(state));
        return container(name).orElseThrow();
    }

    @Override
    public void remove(String name) {
        NodeHost node = node(name);
        DeploymentState before = state();
        String intentId = UUID.randomUUID().toString();
        String host = before.hostOf(name).map(HostRecord::id).orElse("local");
        DeploymentState.update(dir, state -> state.withIntent(intent(intentId, "remove-node", name, host)));
        removeParts(before, name, Optional.of(node));
        DeploymentState.update(
                dir, state -> release(state, name).withoutNode(name).withoutIntent(intentId));
    }

    /**
     * Ends whatever of node {@code name} runs and removes its parts: cgroups, volume (unmounted, image deleted), its
     * key, and its directory. Each part goes even when another could not, so a retry has less to do.
     */
    private void removeParts(DeploymentState state, String name, Optional<NodeHost> recorded) {
        recorded.ifPresent(node -> {
            LocalDeployment.containerOf(node).ifPresent(c -> {
                // A frozen host cannot stop by itself; the kill thaws what it froze.
                c.all().kill();
            });
            if (node.watchdogPid() > 0) {
                LocalDeployment.stopNode(node);
            }
        });
        Path nodeDir = dir.resolve("nodes/" + name);
        if (!state.cgroups().isEmpty()) {
            Cgroups.detect().ifPresent(c -> {
                ContainerCgroups groups = new ContainerCgroups(c, state.cgroups(), name);
                groups.all().kill();
                groups.remove();
            });
        }
        LoopVolume volume = new LoopVolume(dir.resolve("volumes/" + name + ".img"), nodeDir.resolve("volume"));
        volume.unmount();
        try {
            Files.deleteIfExists(volume.image());
        } catch (IOException e) {
            throw new WardenException("cannot delete " + volume.image() + ": " + e.getMessage(), "delete it by hand");
        }
        LocalDeployment.volumeKeys(dir).remove(name);
        // Its TLS key and certificate (still valid) go too: where its config says they are.
        List<Path> gone = new java.util.ArrayList<>(List.of(nodeDir));
        tlsDirOf(nodeDir.resolve("config.yml")).ifPresent(gone::add);
        for (Path path : gone) {
            var removed = Processes.run(
                    List.of("rm", "-rf", "--one-file-system", path.toString()), java.time.Duration.ofMinutes(1));
            if (!removed.ok() || Files.exists(path)) {
                throw new WardenException(
                        "cannot remove " + path + ": " + removed.tail(),
                        "remove it by hand, then remove " + name + " again");
            }
        }
    }

    /** The {@code tls_dir:} a node's config names, when it has one. */
    private static Optional<Path> tlsDirOf(Path configFile) {
        try {
            return Files.readAllLines(configFile).stream()
                    .filter(l -> l.startsWith("tls_dir: "))
                    .map(l -> Path.of(l.substring("tls_dir: ".length()).strip()))
                    .findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    @Override
    public String drill(Fault fault, String name) {
        DeploymentState state = state();
        String done = new FaultDrills(state).apply(fault, name);
        if (fault == Fault.KILL) {
            DeploymentState.update(
                    dir,
                    s -> s.hostOf(name).map(h -> s.withHost(h.withKilled(true))).orElse(s));
        }
        return done;
    }

    @Override
    public List<Intent> intents() {
        return state().intents();
    }

    private Intent intent(String id, String action, String target, String host) {
        return new Intent(
                id,
                action,
                target,
                host,
                clock.instant().toString(),
                ProcessHandle.current().pid());
    }

    private NodeHost node(String name) {
        return state().requireNode(name);
    }
}
