package io.warden.runtime.local;

import io.warden.common.Processes;
import io.warden.common.Units;
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
import io.warden.runtime.QuarantinedVolume;
import io.warden.runtime.ResourceLimits;
import io.warden.runtime.Runtime;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Instant;
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

    /** The controller epoch this runtime acts for ({@link #fence}); 0 when it acts for no controller. */
    private volatile long actingFor;

    private DeploymentState state() {
        return DeploymentState.read(dir);
    }

    /** Where the highest controller epoch that fenced this deployment's runtime is kept (read under its lock). */
    private Path fenceFile() {
        return dir.resolve("controller/epoch");
    }

    private long highestEpoch() {
        try {
            return Files.exists(fenceFile())
                    ? Long.parseLong(Files.readString(fenceFile()).strip())
                    : 0;
        } catch (IOException | NumberFormatException e) {
            // Unreadable: no controller is fenced out by it; the next fence writes it anew.
            return 0;
        }
    }

    @Override
    public void fence(long epoch) {
        DeploymentState.update(dir, state -> {
            long highest = highestEpoch();
            if (epoch < highest) {
                throw new WardenException(
                        "epoch " + epoch + " is over: the controller of epoch " + highest + " acts on this runtime",
                        "nothing was done; this controller stands by");
            }
            try {
                Files.createDirectories(fenceFile().getParent());
                io.warden.common.AtomicFile.replaceOwnerOnly(fenceFile(), Long.toString(epoch));
            } catch (IOException e) {
                throw new WardenException(
                        "cannot record the controller epoch in " + fenceFile() + ": " + e.getMessage(),
                        "check free space and permissions of " + dir);
            }
            return state;
        });
        actingFor = epoch;
    }

    /** Refuses when a later controller has fenced this runtime; call it holding the inventory's lock. */
    private void checkFence() {
        long acting = actingFor;
        if (acting == 0) {
            return;
        }
        long highest = highestEpoch();
        if (highest > acting) {
            throw new WardenException(
                    "this controller's epoch " + acting + " is over: the controller of epoch " + highest
                            + " acts on this runtime now",
                    "nothing was done; this controller stands by");
        }
    }

    /** {@link #checkFence} under the inventory's lock, before an action that records nothing first. */
    private void fenced() {
        if (actingFor != 0) {
            DeploymentState.update(dir, state -> {
                checkFence();
                return state;
            });
        }
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
        boolean running = supervised(node);
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
        if (hosted && spec.host().isEmpty() && before.hosts().stream().noneMatch(h -> usableSpare(before, h))) {
            addHost();
        }
        String intentId = UUID.randomUUID().toString();
        int[] number = new int[1];
        HostRecord[] placed = new HostRecord[1];
        // The name and the host are taken under the lock, so two creates at once never get the same.
        DeploymentState.update(dir, state -> {
            checkFence();
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
                    spec.limits(),
                    spec.tags());
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
                .filter(h -> usableSpare(state, h))
                .findFirst()
                .orElseThrow(() -> new WardenException(
                        "no spare host is left (another create took the last one)", "try again: one will be made"));
    }

    /**
     * A spare host a new member can go to: up. A spare that is cut off, killed or gone (the host of a node removed
     * while it was so) is passed over, as a broken machine would be: a node placed there could reach nothing.
     */
    private static boolean usableSpare(DeploymentState state, HostRecord host) {
        return host.spare() && hostState(state, host) == Host.State.UP;
    }

    private static DeploymentState release(DeploymentState state, String name) {
        return state.hostOf(name).map(h -> state.withHost(h.holding(""))).orElse(state);
    }

    @Override
    public Container start(String name) {
        fenced();
        NodeHost node = node(name);
        if (supervised(node)) {
            // A second supervisor on the same data directory would start a second agent (a frozen host looks alive
            // too: thaw it instead).
            throw new WardenException(
                    name + " is running already (its supervisor"
                            + (node.watchdogPid() > 0 ? ", pid " + node.watchdogPid() + "," : "")
                            + " or a process of its container is alive)",
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

    /**
     * Whether the node's supervisor runs: its recorded pid is alive, or (with cgroups) a process is in its container's
     * warden part. The second covers a start cut short after the supervisor was launched and before its pid was
     * recorded: a caller that went on as if it were stopped would launch a second supervisor on the same data.
     */
    private static boolean supervised(NodeHost node) {
        if (node.watchdogPid() > 0 && Processes.alive(node.watchdogPid())) {
            return true;
        }
        return LocalDeployment.containerOf(node)
                .map(c -> !c.part(ContainerCgroups.Part.WARDEN).pids().isEmpty())
                .orElse(false);
    }

    @Override
    public void stop(String name) {
        fenced();
        LocalDeployment.stopNode(node(name));
    }

    @Override
    public Optional<VolumeUsage> volumeUsage(String name) {
        return LocalDeployment.volumeOf(node(name)).filter(LoopVolume::mounted).map(v -> {
            LoopVolume.Usage df = v.usage();
            return new VolumeUsage(v.imageBytes(), df.totalBytes(), df.usedBytes());
        });
    }

    @Override
    public VolumeGrowth growVolume(String name, long bytes) {
        fenced();
        NodeHost node = node(name);
        LoopVolume volume = LocalDeployment.volumeOf(node)
                .orElseThrow(() -> new WardenException(
                        "cannot grow " + name + "'s volume: its data lives on the machine's own filesystem",
                        "volumes are made by ./warden up as root; nothing was changed"));
        long grown = volume.filesystemBytes();
        if (grown >= bytes) {
            LocalDeployment.writeVolumeParameters(Path.of(node.configFile()), grown);
            return new VolumeGrowth(
                    VolumeGrowth.How.ALREADY,
                    name + "'s volume has " + Units.bytesText(grown) + " already (" + Units.bytesText(bytes)
                            + " wanted)");
        }
        if (supervised(node)) {
            Optional<String> refused = volume.tryGrowOnline(bytes);
            if (refused.isPresent()) {
                return new VolumeGrowth(
                        VolumeGrowth.How.NEEDS_STOP,
                        "online growth of " + name + "'s volume is refused here ("
                                + refused.get()
                                        .lines()
                                        .reduce((a, b) -> b)
                                        .orElse("")
                                        .strip()
                                + "): it grows while the container is stopped");
            }
            LocalDeployment.writeVolumeParameters(Path.of(node.configFile()), bytes);
            return new VolumeGrowth(
                    VolumeGrowth.How.ONLINE,
                    name + "'s volume grew online from " + Units.bytesText(grown) + " to " + Units.bytesText(bytes));
        }
        volume.unmount();
        volume.growOffline(bytes);
        LocalDeployment.writeVolumeParameters(Path.of(node.configFile()), bytes);
        return new VolumeGrowth(
                VolumeGrowth.How.OFFLINE,
                name + "'s volume grew offline from " + Units.bytesText(grown) + " to " + Units.bytesText(bytes));
    }

    @Override
    public Container resize(String name, ResourceLimits limits) {
        fenced();
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
        fenced();
        NodeHost node = node(name);
        DeploymentState before = state();
        String intentId = recordIntent(before, "remove-node", name);
        removeParts(before, name, Optional.of(node));
        DeploymentState.update(
                dir, state -> release(state, name).withoutNode(name).withoutIntent(intentId));
    }

    @Override
    public QuarantinedVolume quarantine(String name, String reason, Instant until) {
        fenced();
        NodeHost node = node(name);
        DeploymentState before = state();
        String intentId = recordIntent(before, "quarantine-node", name);
        Path image = dir.resolve("volumes/" + name + ".img");
        Path kept = quarantineImage(name);
        // Moved already by a call cut short after it: this one finishes that.
        boolean onVolume = Files.exists(image) || Files.exists(kept);
        if (!onVolume) {
            // Its data directory is not on a volume of its own (process isolation, or a node made before volumes):
            // the directory itself is what is kept, moved out before the node's directory goes.
            kept = dir.resolve("quarantine/" + name + ".data");
            image = node.dataDir();
        }
        stopAll(before, name, Optional.of(node));
        new LoopVolume(image, dir.resolve("nodes/" + name + "/volume")).unmount();
        try {
            Files.createDirectories(kept.getParent());
            if (Files.exists(image)) {
                Files.move(image, kept, StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new WardenException(
                    "cannot keep " + name + "'s volume: moving " + image + " to " + kept + " failed: " + e.getMessage(),
                    "nothing was deleted; free the space or fix the permissions, and the repair tries again");
        }
        QuarantinedVolume record = new QuarantinedVolume(
                name,
                kept.toString(),
                Files.isRegularFile(kept) ? sizeOf(kept) : 0,
                onVolume && LocalDeployment.volumeKeys(dir).has(name),
                clock.instant().toString(),
                until.toString(),
                reason);
        // Recorded before the rest goes: a remove killed now leaves the volume listed, not lost.
        DeploymentState.update(dir, state -> state.withQuarantined(record));
        removeParts(before, name, Optional.of(node), true);
        DeploymentState.update(
                dir, state -> release(state, name).withoutNode(name).withoutIntent(intentId));
        return record;
    }

    @Override
    public List<QuarantinedVolume> quarantined() {
        return state().quarantine();
    }

    @Override
    public void discard(String node) {
        fenced();
        DeploymentState state = state();
        QuarantinedVolume kept = state.quarantine().stream()
                .filter(q -> q.node().equals(node))
                .findFirst()
                .orElseThrow(() -> new WardenException(
                        "no quarantined volume of '" + node + "'",
                        state.quarantine().isEmpty()
                                ? "warden quarantine lists none"
                                : "use one of: "
                                        + String.join(
                                                ", ",
                                                state.quarantine().stream()
                                                        .map(QuarantinedVolume::node)
                                                        .toList())));
        Path image = Path.of(kept.image());
        if (Files.isDirectory(image)) {
            // A data directory kept as it was (no volume of its own).
            var removed = Processes.run(
                    List.of("rm", "-rf", "--one-file-system", image.toString()), java.time.Duration.ofMinutes(2));
            if (!removed.ok()) {
                throw new WardenException("cannot delete " + image + ": " + removed.tail(), "delete it by hand");
            }
        } else {
            new LoopVolume(image, quarantineMountPoint(node)).unmount();
            try {
                Files.deleteIfExists(image);
                Files.deleteIfExists(quarantineMountPoint(node));
            } catch (IOException e) {
                throw new WardenException("cannot delete " + image + ": " + e.getMessage(), "delete it by hand");
            }
        }
        LocalDeployment.volumeKeys(dir).remove(node);
        DeploymentState.update(dir, s -> s.withoutQuarantined(node));
    }

    /** Where a quarantined volume's image is kept. */
    private Path quarantineImage(String node) {
        return dir.resolve("quarantine/" + node + ".img");
    }

    /** Where {@code warden quarantine open} mounts a quarantined volume. */
    public Path quarantineMountPoint(String node) {
        return dir.resolve("quarantine/" + node);
    }

    /**
     * Mounts a quarantined volume (unlocked with its key) at {@link #quarantineMountPoint} for an operator to read
     * what it holds; returns the data directory on it. Nothing starts on it.
     */
    public Path openQuarantined(String node) {
        QuarantinedVolume kept = quarantined().stream()
                .filter(q -> q.node().equals(node))
                .findFirst()
                .orElseThrow(() -> new WardenException(
                        "no quarantined volume of '" + node + "'", "warden quarantine lists the ones kept"));
        if (Files.isDirectory(Path.of(kept.image()))) {
            // Kept as a plain data directory: nothing to mount.
            return Path.of(kept.image());
        }
        LoopVolume volume = new LoopVolume(Path.of(kept.image()), quarantineMountPoint(node));
        new NodeVolume(
                        node,
                        volume,
                        kept.encrypted() ? Optional.of(LocalDeployment.volumeKeys(dir)) : Optional.empty(),
                        dir.resolve("bin"))
                .open();
        return volume.mountPoint().resolve("pgdata/data");
    }

    /** Unmounts a quarantined volume {@link #openQuarantined} mounted; nothing when it is not mounted. */
    public void closeQuarantined(String node) {
        quarantined().stream()
                .filter(q -> q.node().equals(node))
                .findFirst()
                .ifPresent(q -> new LoopVolume(Path.of(q.image()), quarantineMountPoint(node)).unmount());
    }

    private static long sizeOf(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            return 0;
        }
    }

    /** Ends whatever of node {@code name} still runs: a frozen host cannot stop by itself, the kill thaws it. */
    private void stopAll(DeploymentState state, String name, Optional<NodeHost> recorded) {
        recorded.ifPresent(node -> {
            LocalDeployment.containerOf(node).ifPresent(c -> c.all().kill());
            if (node.watchdogPid() > 0) {
                LocalDeployment.stopNode(node);
            }
        });
    }

    private void removeParts(DeploymentState state, String name, Optional<NodeHost> recorded) {
        removeParts(state, name, recorded, false);
    }

    /**
     * Ends whatever of node {@code name} runs and removes its parts: cgroups, volume (unmounted, image deleted), its
     * key, and its directory; the volume and key stay when {@code keepVolume} (moved out by {@link #quarantine}).
     * Each part goes even when another could not, so a retry has less to do.
     */
    private void removeParts(DeploymentState state, String name, Optional<NodeHost> recorded, boolean keepVolume) {
        stopAll(state, name, recorded);
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
        if (!keepVolume) {
            try {
                Files.deleteIfExists(volume.image());
            } catch (IOException e) {
                throw new WardenException(
                        "cannot delete " + volume.image() + ": " + e.getMessage(), "delete it by hand");
            }
            LocalDeployment.volumeKeys(dir).remove(name);
        }
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
    static Optional<Path> tlsDirOf(Path configFile) {
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

    @Override
    public List<String> resolveIntents() {
        List<String> resolved = new java.util.ArrayList<>();
        for (Intent intent : state().intents()) {
            if (intent.pid() == ProcessHandle.current().pid() || Processes.alive(intent.pid())) {
                // Its process is still at it.
                continue;
            }
            DeploymentState now = state();
            String name = intent.target();
            Optional<NodeHost> node = now.node(name);
            String begun = intent.action() + " of " + name + " begun " + intent.startedAt() + " by pid " + intent.pid()
                    + ", which is gone";
            switch (intent.action()) {
                case "create-host" -> {
                    int index = Integer.parseInt(name.substring("host-".length()));
                    if (now.hosts().stream().noneMatch(h -> h.id().equals(name))) {
                        NetworkNamespaces.remove(now.netId(), index);
                    }
                    DeploymentState.update(dir, s -> s.withoutIntent(intent.id()));
                    resolved.add("undid the " + begun);
                }
                case "create-node" -> {
                    if (node.isEmpty()) {
                        removeParts(now, name, Optional.empty());
                        DeploymentState.update(dir, s -> release(s, name).withoutIntent(intent.id()));
                        resolved.add("undid the " + begun + ": what it made is removed, its host is a spare again");
                    } else {
                        DeploymentState.update(dir, s -> s.withoutIntent(intent.id()));
                        resolved.add("the " + begun + " had finished");
                    }
                }
                case "remove-node" -> {
                    removeParts(now, name, node);
                    DeploymentState.update(
                            dir, s -> release(s, name).withoutNode(name).withoutIntent(intent.id()));
                    resolved.add("finished the " + begun);
                }
                case "quarantine-node" -> {
                    Path image = dir.resolve("volumes/" + name + ".img");
                    Path kept = quarantineImage(name);
                    // Whatever of it still runs (a node on a host that was cut off is not stopped first) ends before
                    // its volume is unmounted.
                    stopAll(now, name, node);
                    new LoopVolume(image, dir.resolve("nodes/" + name + "/volume")).unmount();
                    if (now.quarantine().stream().noneMatch(q -> q.node().equals(name))) {
                        try {
                            Files.createDirectories(kept.getParent());
                            if (Files.exists(image) && !Files.exists(kept)) {
                                Files.move(image, kept, StandardCopyOption.ATOMIC_MOVE);
                            }
                        } catch (IOException e) {
                            throw new WardenException(
                                    "cannot keep " + name + "'s volume: " + e.getMessage(),
                                    "nothing was deleted; free the space or fix the permissions");
                        }
                        QuarantinedVolume record = new QuarantinedVolume(
                                name,
                                kept.toString(),
                                Files.exists(kept) ? sizeOf(kept) : 0,
                                LocalDeployment.volumeKeys(dir).has(name),
                                clock.instant().toString(),
                                clock.instant()
                                        .plus(java.time.Duration.ofDays(7))
                                        .toString(),
                                "kept by a quarantine that was cut short");
                        DeploymentState.update(dir, s -> s.withQuarantined(record));
                    }
                    removeParts(now, name, node, true);
                    DeploymentState.update(
                            dir, s -> release(s, name).withoutNode(name).withoutIntent(intent.id()));
                    resolved.add("finished the " + begun + "; its volume is quarantined");
                }
                default -> resolved.add("left the " + begun + " alone: this version does not know that action");
            }
        }
        return resolved;
    }

    /**
     * Records that {@code action} of node {@code name} begins, under the inventory's lock and its fence check, so a
     * controller fenced out since cannot begin it; returns the intent's id.
     */
    private String recordIntent(DeploymentState before, String action, String name) {
        String intentId = UUID.randomUUID().toString();
        String host = before.hostOf(name).map(HostRecord::id).orElse("local");
        DeploymentState.update(dir, state -> {
            checkFence();
            return state.withIntent(intent(intentId, action, name, host));
        });
        return intentId;
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
