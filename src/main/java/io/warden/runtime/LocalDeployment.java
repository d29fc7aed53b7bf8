package io.warden.runtime;

import io.warden.common.PemTls;
import io.warden.common.Poll;
import io.warden.common.Processes;
import io.warden.common.WardenException;
import io.warden.runtime.DeploymentState.EtcdMember;
import io.warden.runtime.DeploymentState.NodeHost;
import io.warden.runtime.local.Cgroups;
import io.warden.runtime.local.ContainerCgroups;
import io.warden.runtime.local.FileMasterKey;
import io.warden.runtime.local.LoopVolume;
import io.warden.runtime.local.NodeVolume;
import io.warden.runtime.local.VolumeKeys;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.stream.IntStream;

/**
 * The local runtime: a whole deployment on this machine. Three etcd members, and per node a watchdog and an
 * agent (which starts its own postgres), each node in its own network namespace when running as root
 * ({@code netns} isolation) or as plain processes on loopback otherwise ({@code process} isolation, which cannot
 * simulate a network partition). Ports are {@code base+1..3} for etcd clients (on the loopback and the network's own
 * address 10.n.0.1), {@code base+11..13} for etcd peers, {@code base+71..72} for the controllers' APIs; a node on a host of its own listens on 5432 (postgres) and
 * 8008 (its REST API) at its host's address, a node on the shared loopback on {@code base+100+k} and
 * {@code base+200+k} for node-k.
 */
public final class LocalDeployment {
    public static final String POSTGRES_BIN = "/usr/lib/postgresql/15/bin";

    /** Two active routers, each on its own loopback address. */
    private static final int ROUTERS = 2;

    /**
     * A node's postgres part until the scaling controller sizes it: one core, the 1 GiB of RAM of the smallest unit,
     * and room for max_connections' backends, PostgreSQL's own workers and the tools the agent runs.
     */
    public static final ResourceLimits NODE_LIMITS = new ResourceLimits(1000, 1L << 30, 512);

    /**
     * The agent and the watchdog of a node together: their JVMs take ~210 MiB (agent heap at most 160 MiB, watchdog
     * 24 MiB, plus metaspace and thread stacks), and ~80 threads; no CPU quota, so that a busy postgres never slows
     * the loop that renews the lease.
     */
    public static final ResourceLimits WARDEN_LIMITS = new ResourceLimits(0, 512L << 20, 512);

    /** Hosts {@code up} makes beyond one per node, for repairs and scaling to place new nodes on. */
    public static final int SPARE_HOSTS = 2;

    /** The ports every node listens on at its own address, as on a real host. */
    public static final int HOST_POSTGRES_PORT = 5432;

    public static final int HOST_API_PORT = 8008;

    /** A node's volume until the scaling controller grows it: the smallest unit's disk. */
    public static final long VOLUME_BYTES = 1L << 30;

    /** How {@code up} should build the deployment. */
    public record Options(
            Path dir,
            int nodes,
            int basePort,
            String isolation,
            int netId,
            String cluster,
            Map<String, String> extraNodeConfig,
            int readWritePort,
            int readOnlyPort,
            NodeIdentity identity,
            EtcdIdentity etcdIdentity,
            String encryption) {
        /** As up picks it when none is given: required with netns isolation (root), where nodes get volumes. */
        public Options(
                Path dir,
                int nodes,
                int basePort,
                String isolation,
                int netId,
                String cluster,
                Map<String, String> extraNodeConfig,
                int readWritePort,
                int readOnlyPort,
                NodeIdentity identity,
                EtcdIdentity etcdIdentity) {
            this(
                    dir,
                    nodes,
                    basePort,
                    isolation,
                    netId,
                    cluster,
                    extraNodeConfig,
                    readWritePort,
                    readOnlyPort,
                    identity,
                    etcdIdentity,
                    isolation.equals("netns") ? "required" : "off");
        }

        public Options {
            java.util.Objects.requireNonNull(identity, "identity is null");
            if (!List.of("required", "preferred", "off").contains(encryption)) {
                throw new WardenException(
                        "--encryption " + encryption + " is not a mode", "use required, preferred or off");
            }
            if (!isolation.equals("netns") && !encryption.equals("off")) {
                throw new WardenException(
                        "--encryption " + encryption + " needs volumes, which nodes get only with netns isolation"
                                + " (as root)",
                        "run as root, or give --encryption off");
            }
            java.util.Objects.requireNonNull(etcdIdentity, "etcdIdentity is null");
            if (nodes < 1 || nodes > 9) {
                throw new WardenException("--nodes " + nodes + " is out of range", "use 1 to 9 nodes");
            }
            if (basePort < 1024 || basePort > 65000) {
                throw new WardenException(
                        "--base-port " + basePort + " is out of range", "use a port between 1024 and 65000");
            }
        }
    }

    private LocalDeployment() {}

    public static DeploymentState up(Options options) {
        Path dir = options.dir().toAbsolutePath();
        preflight(options);
        if (Files.exists(DeploymentState.file(dir))) {
            DeploymentState old = DeploymentState.read(dir);
            boolean anyAlive = old.etcd().stream().anyMatch(e -> Processes.alive(e.pid()))
                    || old.nodes().stream().anyMatch(n -> Processes.alive(n.agentPid()))
                    || (old.controllerPid() > 0 && Processes.alive(old.controllerPid()))
                    || old.controllers().stream().anyMatch(c -> Processes.alive(c.supervisorPid()));
            if (anyAlive) {
                throw new WardenException(
                        "a deployment is already running in " + dir, "stop it with: ./warden down --dir " + dir);
            }
        }
        String isolation = options.isolation();
        int lastNode = options.nodes();
        // A kept deployment comes back with the nodes it had, on the hosts they had: after a repair those are not
        // node-1..N (node-1 may be gone, node-4 its replacement), and making node-1..N again would start empty nodes
        // beside data no one starts.
        List<Integer> numbers =
                IntStream.rangeClosed(1, options.nodes()).boxed().toList();
        List<DeploymentState.HostRecord> keptHosts = List.of();
        // What a kept inventory holds beyond its nodes: quarantined volumes (lost, they could be neither listed nor
        // deleted) and the intents of processes that died half way, for the controller to finish or undo.
        List<QuarantinedVolume> keptQuarantine = List.of();
        List<DeploymentState.Intent> keptIntents = List.of();
        if (Files.exists(DeploymentState.file(dir))) {
            DeploymentState old = DeploymentState.read(dir);
            refusePlainEtcd(dir, old);
            lastNode = Math.max(lastNode, old.lastNode());
            keptQuarantine = old.quarantine();
            keptIntents = old.intents();
            if (!old.nodes().isEmpty() && old.isolation().equals(isolation)) {
                numbers = old.nodes().stream()
                        .map(n -> Integer.parseInt(n.name().substring(n.name().lastIndexOf('-') + 1)))
                        .sorted()
                        .toList();
                keptHosts = old.hosts();
            }
        }
        List<Integer> nodeNumbers = numbers;
        prepareDirectory(dir);
        Optional<Cgroups> cgroups = isolation.equals("netns") ? Cgroups.detect() : Optional.empty();
        String deploymentGroup =
                cgroups.map(c -> claimGroup(c, options.netId())).orElse("");
        TlsFiles operator = options.etcdIdentity().client("operator", DeploymentFile.OPERATOR_ETCD_CLIENT.in(dir));
        List<EtcdMember> etcd = new ArrayList<>();
        List<NodeHost> nodes = new ArrayList<>();
        List<DeploymentState.RouterProcess> routers = new ArrayList<>();
        List<DeploymentState.HostRecord> hosts = new ArrayList<>();
        DeploymentState state = new DeploymentState(
                options.cluster(),
                options.basePort(),
                isolation,
                options.netId(),
                etcd,
                nodes,
                routers,
                operator,
                0,
                deploymentGroup,
                hosts,
                lastNode,
                keptIntents,
                options.extraNodeConfig(),
                options.encryption(),
                List.of(),
                keptQuarantine);
        try {
            if (isolation.equals("netns")) {
                // One host per node and spares for repairs and scaling; etcd's address is the network's own, which
                // hosts made later reach as these do.
                NetworkNamespaces.addDcsAddress(options.netId());
                if (keptHosts.isEmpty()) {
                    List<DeploymentState.HostRecord> made = new ArrayList<>();
                    for (int i = 1; i <= options.nodes() + SPARE_HOSTS; i++) {
                        made.add(new DeploymentState.HostRecord(
                                "host-" + i,
                                i,
                                NetworkNamespaces.nodeAddress(options.netId(), i),
                                NetworkNamespaces.namespace(options.netId(), i),
                                i <= options.nodes() ? "node-" + i : ""));
                    }
                    keptHosts = made;
                }
                for (DeploymentState.HostRecord host : keptHosts) {
                    NetworkNamespaces.create(options.netId(), host.index());
                    hosts.add(host.holding(host.holds()));
                }
            }
            state.write(dir);
            startEtcd(options, dir, etcd, operator, cgroups.map(c -> c.group(deploymentGroup)));
            state.write(dir);
            // Each node's certificates, watchdog and agent at once: a cold JVM takes about a second to open its
            // watchdog's socket, and one node after another made every later agent wait for the earlier ones.
            if (isolation.equals("netns")) {
                // Made once, before the nodes start at once: each would otherwise make a master key of its own.
                new FileMasterKey(dir.resolve("master.key")).readOrCreate();
            }
            NodeBlueprint blueprint = new NodeBlueprint(
                    dir,
                    options.cluster(),
                    options.basePort(),
                    isolation,
                    options.netId(),
                    options.extraNodeConfig(),
                    options.identity(),
                    options.etcdIdentity(),
                    options.encryption(),
                    cgroups,
                    deploymentGroup);
            startAll(
                    nodeNumbers.size(),
                    i -> launchNode(createNode(
                            blueprint,
                            nodeNumbers.get(i - 1),
                            hosts.stream()
                                    .filter(h -> h.holds().equals("node-" + nodeNumbers.get(i - 1)))
                                    .findFirst(),
                            VOLUME_BYTES,
                            NODE_LIMITS)),
                    nodes,
                    () -> state.write(dir));
            startAll(ROUTERS, i -> startRouter(options, dir, i), routers, () -> state.write(dir));
            return state;
        } catch (RuntimeException e) {
            // No cluster has formed, so no leader to stop last; each agent started stops its own postgres on SIGTERM.
            down(dir, false, started -> Optional.empty(), data -> {});
            throw e;
        }
    }

    /**
     * Runs {@code start} for 1..{@code count} at once and adds what each returns to {@code started}, in order, then
     * {@code record}s them. When one fails, those that did start are still added and recorded (so that {@code down}
     * stops them) before the first failure is thrown.
     */
    private static <T> void startAll(int count, IntFunction<T> start, List<T> started, Runnable record) {
        List<Future<T>> futures = new ArrayList<>();
        try (ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 1; i <= count; i++) {
                int index = i;
                futures.add(executor.submit(() -> start.apply(index)));
            }
        }
        RuntimeException failure = null;
        for (Future<T> future : futures) {
            try {
                started.add(future.resultNow());
            } catch (IllegalStateException notStarted) {
                Throwable cause = future.exceptionNow();
                if (failure == null) {
                    failure = cause instanceof RuntimeException e ? e : new IllegalStateException(cause);
                }
            }
        }
        record.run();
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * etcd keeps its members' peer URLs in its data: one made with {@code http://} ones cannot start with TLS, and
     * would come up as members that cannot reach each other.
     */
    private static void refusePlainEtcd(Path dir, DeploymentState old) {
        if (old.etcd().stream().anyMatch(e -> e.peerUrl().startsWith("http://"))
                && Files.isDirectory(dir.resolve("etcd/e1/member"))) {
            throw new WardenException(
                    "the deployment in " + dir + " was made when etcd ran without TLS, and etcd keeps its members'"
                            + " plain http:// peer URLs in its data",
                    "start it anew: ./warden down --purge --dir " + dir + " (this deletes its data), then ./warden up");
        }
    }

    private static void preflight(Options options) {
        if (!Files.isExecutable(Path.of(POSTGRES_BIN, "initdb"))) {
            throw new WardenException(
                    "PostgreSQL 15 is not installed (" + POSTGRES_BIN + "/initdb is missing)",
                    "install it: apt-get install postgresql-15 (./warden does this for you when run as root)");
        }
        if (!Processes.run(List.of("etcd", "--version"), Duration.ofSeconds(10)).ok()) {
            throw new WardenException("etcd is not installed", "install it: apt-get install etcd-server");
        }
        if (options.isolation().equals("netns") && !Processes.isRoot()) {
            throw new WardenException("--isolation netns needs root", "run as root, or use --isolation process");
        }
    }

    /**
     * Creates the deployment directory without write access for others, whatever the umask, and refuses one that
     * exists and belongs to another user or that others may write into; when run as root, also checks that the
     * postgres user can reach it. Called before anything is written there (the operator's token included).
     */
    public static void prepareDirectory(Path dir) {
        try {
            Files.createDirectories(
                    dir,
                    java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                            java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x")));
            refuseForeign(dir);
            makeTraversable(dir);
        } catch (IOException e) {
            throw new WardenException("cannot create " + dir + ": " + e.getMessage(), "choose a writable --dir");
        }
    }

    /**
     * The deployment directory holds the configs the agents run (their bin_dir included) and the operator's token:
     * one another user owns, or may write into, lets that user run code as us. The default lies under /var/tmp,
     * where anybody may create it first.
     */
    private static void refuseForeign(Path dir) throws IOException {
        String owner = Files.getOwner(dir).getName();
        String me = System.getProperty("user.name");
        if (!owner.equals(me)) {
            throw new WardenException(
                    "the deployment directory " + dir + " belongs to " + owner + ", not to " + me,
                    "choose another --dir, or remove " + dir + " if you did not make it");
        }
        var perms = Files.getPosixFilePermissions(dir);
        if (perms.contains(java.nio.file.attribute.PosixFilePermission.GROUP_WRITE)
                || perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE)) {
            throw new WardenException(
                    "the deployment directory " + dir + " can be written by others ("
                            + java.nio.file.attribute.PosixFilePermissions.toString(perms) + ")",
                    "chmod go-w " + dir + ", and check that its files are yours");
        }
    }

    /** Postgres runs as its own user and must be able to reach its data directory under ours. */
    private static void makeTraversable(Path dir) throws IOException {
        if (!Processes.isRoot()) {
            return;
        }
        for (Path p = dir; p != null; p = p.getParent()) {
            var perms = Files.getPosixFilePermissions(p);
            if (!perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_EXECUTE)) {
                throw new WardenException(
                        "the postgres user cannot enter " + p + " (on the way to " + dir + ")",
                        "choose a --dir outside " + p + ", or chmod o+x " + p);
            }
        }
    }

    /**
     * The deployment's group, {@code wd<netId>}, in every hierarchy: refused while processes of an earlier deployment
     * with the same network id still run in it (its namespaces would clash too); an empty leftover is removed.
     */
    private static String claimGroup(Cgroups cgroups, int netId) {
        String name = "wd" + netId;
        io.warden.common.CgroupSet group = cgroups.group(name);
        if (!group.pids().isEmpty()) {
            throw new WardenException(
                    "processes " + group.pids() + " of another deployment with network id " + netId
                            + " still run in the cgroup " + group,
                    "stop that deployment with ./warden down --dir <its dir>, or give this one another --net-id");
        }
        group.remove();
        return name;
    }

    private static void startEtcd(
            Options options,
            Path dir,
            List<EtcdMember> etcd,
            TlsFiles operator,
            Optional<io.warden.common.CgroupSet> deploymentGroup) {
        int base = options.basePort();
        StringBuilder initial = new StringBuilder();
        for (int i = 1; i <= 3; i++) {
            initial.append(i > 1 ? "," : "")
                    .append("e")
                    .append(i)
                    .append("=https://127.0.0.1:")
                    .append(base + 10 + i);
        }
        List<String> names = etcdCertificateNames(options);
        for (int i = 1; i <= 3; i++) {
            int client = base + i;
            int peer = base + 10 + i;
            Path data = dir.resolve("etcd/e" + i);
            TlsFiles tls = options.etcdIdentity().member("e" + i, names, dir.resolve("etcd/tls/e" + i));
            StringBuilder listen = new StringBuilder();
            for (String address : names) {
                listen.append(listen.isEmpty() ? "" : ",")
                        .append("https://")
                        .append(address)
                        .append(':')
                        .append(client);
            }
            List<String> command = new ArrayList<>(List.of(
                    "etcd",
                    "--name",
                    "e" + i,
                    "--data-dir",
                    data.toString(),
                    "--listen-client-urls",
                    listen.toString(),
                    "--advertise-client-urls",
                    "https://127.0.0.1:" + client,
                    "--listen-peer-urls",
                    "https://127.0.0.1:" + peer,
                    "--initial-advertise-peer-urls",
                    "https://127.0.0.1:" + peer,
                    "--initial-cluster",
                    initial.toString(),
                    "--initial-cluster-state",
                    "new",
                    "--initial-cluster-token",
                    "warden-" + options.cluster() + "-" + base));
            command.addAll(ETCD_TUNING);
            command.addAll(etcdTlsArguments(tls));
            // In the deployment's group (no limits): while any part of a deployment runs, its group is not empty,
            // which is how a sweeper tells a running deployment from one a killed run left behind.
            List<java.nio.file.Path> procs = List.of();
            if (deploymentGroup.isPresent()) {
                io.warden.common.CgroupSet group = deploymentGroup.get().child("etcd-" + i);
                Cgroups.detect().orElseThrow().create(group);
                procs = group.procsFiles();
            }
            long pid = Processes.startService(
                    Processes.inCgroups(procs, command), dir.resolve("etcd/e" + i + ".log"), Map.of());
            etcd.add(new EtcdMember(
                    "e" + i, "https://127.0.0.1:" + client, "https://127.0.0.1:" + peer, pid, data.toString()));
        }
        waitFor(
                Duration.ofSeconds(60),
                "etcd to become healthy (see " + dir.resolve("etcd") + "/*.log)",
                () -> etcd.stream().allMatch(e -> etcdHealthy(e.clientUrl(), Optional.of(operator))));
    }

    /**
     * How every etcd member Warden starts is tuned: a lost leader is replaced in 0.5-1 s instead of 1-2 s, so agents
     * renew their 3 s leases through the election without fencing (etcd extends every lease on a leader change).
     */
    public static final List<String> ETCD_TUNING =
            List.of("--heartbeat-interval", "50", "--election-timeout", "500", "--log-level", "warn");

    /**
     * The arguments that make an etcd member serve clients and peers only over TLS with {@code member}'s certificate,
     * and let in only clients with a certificate from its CA, and only peers with a member's (whoever can write the
     * cluster's keys controls the database). Its URLs must be https:// ones.
     */
    public static List<String> etcdTlsArguments(TlsFiles member) {
        return List.of(
                "--cert-file",
                member.certificate(),
                "--key-file",
                member.key(),
                "--trusted-ca-file",
                member.ca(),
                "--client-cert-auth",
                "--peer-cert-file",
                member.certificate(),
                "--peer-key-file",
                member.key(),
                "--peer-trusted-ca-file",
                member.ca(),
                "--peer-client-cert-auth",
                "--peer-cert-allowed-cn",
                EtcdIdentity.MEMBER_COMMON_NAME);
    }

    /**
     * The addresses every etcd member is reached at, which its certificate names: the loopback (routers, the CLI,
     * peers, agents without namespaces) and, with netns isolation, the network's own address, where every host's agent
     * dials etcd from inside its namespace (hosts made later too, so the certificate need not change when one is).
     */
    static List<String> etcdCertificateNames(Options options) {
        return etcdCertificateNames(options.isolation(), options.netId());
    }

    private static List<String> etcdCertificateNames(String isolation, int netId) {
        return isolation.equals("netns")
                ? List.of("127.0.0.1", NetworkNamespaces.dcsAddress(netId))
                : List.of("127.0.0.1");
    }

    /**
     * The names of a running deployment's members: one made before hosts were recorded has its agents dial etcd at
     * their gateway addresses until its next up, and a renewal must keep those names.
     */
    private static List<String> etcdCertificateNames(DeploymentState state) {
        if (!state.isolation().equals("netns") || !state.hosts().isEmpty()) {
            return etcdCertificateNames(state.isolation(), state.netId());
        }
        List<String> names = new ArrayList<>(List.of("127.0.0.1"));
        for (int n = 1; n <= state.nodes().size(); n++) {
            names.add(NetworkNamespaces.gatewayAddress(state.netId(), n));
        }
        return List.copyOf(names);
    }

    /**
     * Re-issues, where due, every certificate the running deployment in {@code dir} uses, with the names and in the
     * places {@link #up} gave them: each etcd member's, the etcd client certificates of the operator, every node and
     * every router, and each node's own ({@code identity} decides what is due and reports what it renewed). Each
     * process presents a renewed pair from its next handshake on; none is restarted. A deployment made before etcd
     * ran with TLS has no etcd certificates to renew.
     */
    public static void renewCertificates(Path dir, NodeIdentity identity, EtcdIdentity etcdIdentity) {
        Path abs = dir.toAbsolutePath();
        DeploymentState state = DeploymentState.read(abs);
        if (state.etcdClientTls().isPresent()) {
            List<String> names = etcdCertificateNames(state);
            for (EtcdMember member : state.etcd()) {
                etcdIdentity.member(member.name(), names, abs.resolve("etcd/tls/" + member.name()));
            }
            etcdIdentity.client("operator", DeploymentFile.OPERATOR_ETCD_CLIENT.in(abs));
        }
        for (NodeHost node : state.nodes()) {
            Path nodeDir = Path.of(node.configFile()).getParent();
            identity.issue(node.name(), certificateNames(node.host()), nodeDir);
            if (state.etcdClientTls().isPresent()) {
                etcdIdentity.client(node.name(), nodeDir.resolve("etcd-client"));
            }
        }
        if (state.etcdClientTls().isPresent()) {
            for (DeploymentState.RouterProcess router : state.routers()) {
                etcdIdentity.client(
                        router.id(), Path.of(router.configFile()).getParent().resolve("etcd-client"));
            }
        }
    }

    /** The deployment's controllers: one leads, the other stands by to take over when it dies. */
    public static final List<String> CONTROLLER_IDS = List.of("controller-1", "controller-2");

    /**
     * What keeps a controller running, as a container's restart policy would: a shell that starts it again a second
     * after it exits, and on SIGTERM passes the signal on and waits for it. A shell, not a JVM: it does nothing else,
     * and costs a megabyte instead of forty.
     */
    private static final String SUPERVISOR_SCRIPT = """
            stopping=0; child=0
            trap 'stopping=1; [ "$child" -gt 0 ] && kill -TERM "$child" 2>/dev/null' TERM INT
            while [ "$stopping" = 0 ]; do
              "$@" & child=$!
              wait "$child"; rc=$?
              while kill -0 "$child" 2>/dev/null; do wait "$child"; done
              [ "$stopping" = 1 ] && break
              echo "$(date -u +%FT%TZ) supervisor: the controller exited with $rc; starting it again in 1 s"
              sleep 1
            done
            """;

    /** Where controller {@code id} writes its pid while it runs (and holds the file's lock). */
    public static Path controllerLock(Path dir, String id) {
        return DeploymentFile.CONTROLLER.in(dir.toAbsolutePath()).resolve(id + ".lock");
    }

    /** The pid of controller {@code id}'s own JVM (not its supervisor's), 0 when it does not run. */
    public static long controllerPid(Path dir, String id) {
        try {
            long pid = Long.parseLong(Files.readString(controllerLock(dir, id)).strip());
            return Processes.alive(pid) ? pid : 0;
        } catch (IOException | NumberFormatException e) {
            return 0;
        }
    }

    /**
     * Starts each of the deployment's controllers that does not run, under a supervisor of its own, and records
     * them; {@link #down} stops them first. They check the certificates every {@code interval} while they lead.
     */
    public static DeploymentState startControllers(Path dir, Duration interval) {
        return startControllers(dir, interval, true);
    }

    /**
     * As {@link #startControllers(Path, Duration)}; with {@code repair} false they only renew certificates, neither repairing nor scaling (the
     * integration tests that stop nodes on purpose run so; {@code auto_repair} in the cluster config is the
     * operator's switch).
     */
    public static DeploymentState startControllers(Path dir, Duration interval, boolean repair) {
        Path abs = dir.toAbsolutePath();
        Path controllerDir = DeploymentFile.CONTROLLER.in(abs);
        try {
            Files.createDirectories(controllerDir);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot make " + controllerDir + ": " + e.getMessage(), "check free space and permissions");
        }
        DeploymentState before = DeploymentState.read(abs);
        if (before.controllers().stream().noneMatch(c -> Processes.alive(c.supervisorPid()))) {
            // The highest epoch that fenced the runtime, from controllers that are all gone now: an etcd made anew
            // would count epochs from the start again and see every new controller refused.
            try {
                Files.deleteIfExists(controllerDir.resolve("epoch"));
            } catch (IOException e) {
                throw new WardenException(
                        "cannot remove " + controllerDir.resolve("epoch") + ": " + e.getMessage(), "remove it by hand");
            }
        }
        List<DeploymentState.ControllerProcess> all = new ArrayList<>();
        for (int k = 1; k <= CONTROLLER_IDS.size(); k++) {
            String id = CONTROLLER_IDS.get(k - 1);
            Optional<DeploymentState.ControllerProcess> running = before.controllers().stream()
                    .filter(c -> c.id().equals(id) && Processes.alive(c.supervisorPid()))
                    .findFirst();
            all.add(running.orElseGet(() -> startController(abs, id, before.basePort(), interval, repair)));
        }
        return DeploymentState.update(abs, state -> state.withControllers(all));
    }

    private static DeploymentState.ControllerProcess startController(
            Path abs, String id, int basePort, Duration interval, boolean repair) {
        int apiPort = basePort + 70 + Integer.parseInt(id.substring(id.lastIndexOf('-') + 1));
        Path log = DeploymentFile.CONTROLLER.in(abs).resolve(id + ".log");
        Path lock = controllerLock(abs, id);
        try {
            // A stale pid must not pass for the new controller's.
            Files.deleteIfExists(lock);
        } catch (IOException e) {
            throw new WardenException("cannot clear " + lock + ": " + e.getMessage(), "check the permissions");
        }
        List<String> command = new ArrayList<>(List.of("sh", "-c", SUPERVISOR_SCRIPT, "supervisor"));
        command.addAll(javaCommand(
                "-Xmx96m",
                "controller",
                "--dir",
                abs.toString(),
                "--id",
                id,
                "--api-port",
                Integer.toString(apiPort),
                "--certificate-check",
                io.warden.common.Units.format(interval)));
        if (!repair) {
            // Neither repairs nor scales: the tests that break nodes or fill volumes on purpose watch what happens
            // without a controller acting on it.
            command.add("--no-repair");
            command.add("--no-scaling");
        }
        long pid = Processes.startService(command, log, Map.of());
        // Running is not enough: it must hold its lock (another controller under that id may, and this one then exits).
        waitFor(
                Duration.ofSeconds(30),
                id + " (supervisor pid " + pid + ") to hold " + lock + " (see " + log + ")",
                () -> {
                    if (!Processes.alive(pid)) {
                        throw new WardenException(
                                id + "'s supervisor (pid " + pid + ") exited at its start: " + lastLine(log),
                                "see " + log + "; ./warden down stops whatever is still running");
                    }
                    return controllerPid(abs, id) > 0;
                });
        return new DeploymentState.ControllerProcess(id, pid, apiPort);
    }

    /** Stops every controller: its supervisor first (which stops it), then whatever of it is left. */
    static void stopControllers(Path dir, DeploymentState state) {
        state.controllers().parallelStream().forEach(c -> {
            long jvm = controllerPid(dir, c.id());
            Processes.stop(c.supervisorPid(), Duration.ofSeconds(10));
            if (jvm > 0) {
                Processes.stop(jvm, Duration.ofSeconds(5));
            }
        });
        if (state.controllerPid() > 0) {
            Processes.stop(state.controllerPid(), Duration.ofSeconds(10));
        }
    }

    private static String lastLine(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return lines.isEmpty() ? "(its log is empty)" : lines.getLast();
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /**
     * Whether the etcd member at {@code clientUrl} answers its {@code /health} as healthy; over TLS with {@code tls}'s
     * client certificate when given (a member with {@code --client-cert-auth} answers nothing without one).
     */
    public static boolean etcdHealthy(String clientUrl, Optional<TlsFiles> tls) {
        HttpClient.Builder builder =
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2));
        tls.ifPresent(files -> builder.sslContext(
                PemTls.client(Path.of(files.ca()), Path.of(files.certificate()), Path.of(files.key()))));
        try (HttpClient http = builder.build()) {
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(URI.create(clientUrl + "/health"))
                            .timeout(Duration.ofSeconds(2))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 && response.body().contains("true");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * What clients may reach a node as, so its certificate names them all: its own address, the loopback its agent
     * connects to, and every router's address (a client verifying the node through a router checks the router's).
     */
    public static List<String> certificateNames(String nodeHost) {
        java.util.Set<String> names = new java.util.TreeSet<>(List.of(nodeHost, "127.0.0.1"));
        for (int i = 1; i <= ROUTERS; i++) {
            names.add(routerHost(i));
        }
        return List.copyOf(names);
    }

    /** Appends to a kept config file the lines of {@code entries} whose keys it does not have yet. */
    private static void appendMissing(Path configFile, Map<String, ?> entries) throws IOException {
        List<String> lines = Files.readAllLines(configFile);
        StringBuilder added = new StringBuilder();
        entries.forEach((key, value) -> {
            if (lines.stream().noneMatch(l -> l.startsWith(key + ":"))) {
                yamlLine(added, key, value);
            }
        });
        if (!added.isEmpty()) {
            String text = Files.readString(configFile);
            Files.writeString(configFile, (text.isEmpty() || text.endsWith("\n") ? text : text + "\n") + added);
        }
    }

    /** How each process's config file starts: who it is ({@code idKey}: {@code id}), its cluster and its address. */
    private static StringBuilder configHead(String idKey, String id, String cluster, String host) {
        StringBuilder yaml = new StringBuilder();
        yamlLine(yaml, idKey, id);
        yamlLine(yaml, "cluster", cluster);
        yamlLine(yaml, "host", host);
        return yaml;
    }

    /** Appends {@code key: value} as one line of a YAML config file. */
    private static void yamlLine(StringBuilder yaml, String key, Object value) {
        yaml.append(key).append(": ").append(value).append('\n');
    }

    /** Appends a config file's etcd list: the deployment's three members, as reached at {@code host}. */
    private static void etcdMembers(StringBuilder yaml, String host, int basePort) {
        yaml.append(etcdList(host, basePort));
    }

    private static String etcdList(String host, int basePort) {
        StringBuilder list = new StringBuilder("etcd:\n");
        for (int i = 1; i <= 3; i++) {
            list.append("  - https://")
                    .append(host)
                    .append(':')
                    .append(basePort + i)
                    .append('\n');
        }
        return list.toString();
    }

    /** The config lines that name a process's etcd client certificate. */
    static Map<String, String> etcdClientLines(TlsFiles tls) {
        Map<String, String> lines = new java.util.LinkedHashMap<>();
        lines.put("etcd_ca_file", tls.ca());
        lines.put("etcd_cert_file", tls.certificate());
        lines.put("etcd_key_file", tls.key());
        return lines;
    }

    /**
     * Replaces the etcd list of a kept config file with {@code list}: one written before etcd ran with TLS lists
     * http:// endpoints, which no member serves any more.
     */
    private static void replaceEtcdList(Path configFile, String list) throws IOException {
        String text = Files.readString(configFile);
        String replaced = text.replaceAll("(?m)^etcd:\n(  - .*\n)+", java.util.regex.Matcher.quoteReplacement(list));
        if (!replaced.equals(text)) {
            Files.writeString(configFile, replaced);
        }
    }

    /**
     * What every node of a deployment is made from, by {@code up} or by a later create: where the deployment lives,
     * its cluster and network, the config lines every node gets, who issues certificates, and whether volumes are
     * encrypted and nodes placed in cgroups.
     */
    public record NodeBlueprint(
            Path dir,
            String cluster,
            int basePort,
            String isolation,
            int netId,
            Map<String, String> nodeConfig,
            NodeIdentity identity,
            EtcdIdentity etcdIdentity,
            String encryption,
            Optional<Cgroups> cgroups,
            String deploymentGroup) {

        /**
         * The blueprint of the deployment {@code state} describes, for nodes made after {@code up}: its recorded node
         * config with {@code secrets} (the lines the inventory never holds) added.
         */
        public static NodeBlueprint of(
                Path dir,
                DeploymentState state,
                Map<String, String> secrets,
                NodeIdentity identity,
                EtcdIdentity etcdIdentity) {
            Optional<Cgroups> cgroups = state.cgroups().isEmpty() ? Optional.empty() : Cgroups.detect();
            Map<String, String> nodeConfig = new java.util.LinkedHashMap<>(state.nodeConfig());
            nodeConfig.putAll(secrets);
            return new NodeBlueprint(
                    dir,
                    state.cluster(),
                    state.basePort(),
                    state.isolation(),
                    state.netId(),
                    nodeConfig,
                    identity,
                    etcdIdentity,
                    state.encryption(),
                    cgroups,
                    state.cgroups());
        }

        boolean netns() {
            return isolation.equals("netns");
        }
    }

    /**
     * Makes node {@code node-<number>} on {@code host} (none with process isolation) without starting it: its volume
     * of {@code volumeBytes} (made, keyed and mounted; kept as it is when it exists), its cgroups with {@code limits},
     * its certificates and its agent's config. {@link #launchNode} starts it.
     */
    public static NodeHost createNode(
            NodeBlueprint blueprint,
            int number,
            Optional<DeploymentState.HostRecord> placed,
            long volumeBytes,
            ResourceLimits limits) {
        return createNode(blueprint, number, placed, volumeBytes, limits, io.warden.cluster.NodeTags.NONE);
    }

    /** As {@link #createNode(NodeBlueprint, int, Optional, long, ResourceLimits)}, its agent with {@code tags}. */
    public static NodeHost createNode(
            NodeBlueprint blueprint,
            int number,
            Optional<DeploymentState.HostRecord> placed,
            long volumeBytes,
            ResourceLimits limits,
            io.warden.cluster.NodeTags tags) {
        Path dir = blueprint.dir();
        String name = "node-" + number;
        boolean netns = blueprint.netns();
        if (netns && placed.isEmpty()) {
            throw new WardenException(name + " has no host to run on", "make a host first");
        }
        if (!netns && number > 99) {
            // Sharing the loopback, node-k listens on base+100+k and base+200+k: past 99 its postgres port would be
            // another node's API port.
            throw new WardenException(
                    "a node sharing the loopback gets its ports from its number, and " + name + " would take node-"
                            + (number - 100) + "'s API port",
                    "run as root (netns isolation), where every node has a host and the same ports of its own");
        }
        String host = netns ? placed.get().address() : "127.0.0.1";
        String etcdHost = netns ? NetworkNamespaces.dcsAddress(blueprint.netId()) : "127.0.0.1";
        // On a host of its own a node listens where postgres and its API listen on every real host; sharing the
        // loopback, ports come from its number.
        int port = netns ? HOST_POSTGRES_PORT : blueprint.basePort() + 100 + number;
        int apiPort = netns ? HOST_API_PORT : blueprint.basePort() + 200 + number;
        Path nodeDir = dir.resolve("nodes/" + name);
        Path configFile = nodeDir.resolve("config.yml");
        // A volume of its own as root, for a node made now or one that has its image already (one kept from before
        // volumes keeps its data directory where it is).
        Path image = dir.resolve("volumes/" + name + ".img");
        boolean withVolume = netns && (!Files.exists(configFile) || Files.exists(image));
        LoopVolume volume = new LoopVolume(image, nodeDir.resolve("volume"));
        if (withVolume) {
            // Encrypted at rest: a new volume unless --encryption off, a kept one when it was made so (its key file).
            boolean fresh = !Files.exists(image);
            boolean encrypted = fresh
                    ? !blueprint.encryption().equals("off")
                    : Files.exists(keysDir(dir).resolve(name + ".wrapped"));
            if (fresh) {
                volume.create(volumeBytes);
            }
            openVolume(blueprint.encryption(), name, volume, encrypted, dir);
        }
        Path dataDir = withVolume ? volume.mountPoint().resolve("pgdata/data") : nodeDir.resolve("data");
        StringBuilder yaml = configHead("name", name, blueprint.cluster(), host);
        yamlLine(yaml, "port", port);
        yamlLine(yaml, "api_port", apiPort);
        etcdMembers(yaml, etcdHost, blueprint.basePort());
        yamlLine(yaml, "data_dir", dataDir);
        if (withVolume) {
            yaml.append("parameters:\n");
            VolumeSettings.forVolume(volume.imageBytes())
                    .forEach((k, v) ->
                            yaml.append("  ").append(k).append(": ").append(v).append('\n'));
        }
        yamlLine(yaml, "work_dir", nodeDir);
        if (withVolume) {
            yamlLine(yaml, "log_dir", volume.mountPoint().resolve("pgdata/log"));
        }
        yamlLine(yaml, "bin_dir", POSTGRES_BIN);
        if (Files.exists(DeploymentFile.API_TOKEN.in(dir))) {
            yamlLine(yaml, "api_token_file", DeploymentFile.API_TOKEN.in(dir));
        }
        blueprint.nodeConfig().forEach((k, v) -> yamlLine(yaml, k, v));
        if (!tags.equals(io.warden.cluster.NodeTags.NONE)) {
            yaml.append("tags:\n")
                    .append("  nofailover: ")
                    .append(tags.nofailover())
                    .append('\n')
                    .append("  noloadbalance: ")
                    .append(tags.noloadbalance())
                    .append('\n')
                    .append("  nosync: ")
                    .append(tags.nosync())
                    .append('\n')
                    .append("  failover_priority: ")
                    .append(tags.failoverPriority())
                    .append('\n');
        }
        String container = "";
        Map<String, Object> cgroupLine = new java.util.LinkedHashMap<>();
        if (blueprint.cgroups().isPresent()) {
            ContainerCgroups groups =
                    new ContainerCgroups(blueprint.cgroups().get(), blueprint.deploymentGroup(), name);
            groups.create(limits, WARDEN_LIMITS);
            container = blueprint.deploymentGroup() + "/" + name;
            cgroupLine.put(
                    "postgres_cgroup",
                    groups.part(ContainerCgroups.Part.POSTGRES).toConfig());
            cgroupLine.forEach((k, v) -> yamlLine(yaml, k, v));
        }
        try {
            Files.createDirectories(nodeDir);
            Map<String, String> identity = blueprint.identity().issue(name, certificateNames(host), nodeDir);
            identity.forEach((k, v) -> yamlLine(yaml, k, v));
            Map<String, String> etcdClient =
                    etcdClientLines(blueprint.etcdIdentity().client(name, nodeDir.resolve("etcd-client")));
            etcdClient.forEach((k, v) -> yamlLine(yaml, k, v));
            if (!Files.exists(configFile)) {
                Files.writeString(configFile, yaml);
                Files.setPosixFilePermissions(
                        configFile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
            } else {
                // A config kept from before the token or the certificates existed: without these lines its agent
                // would accept no change, or serve no TLS.
                Map<String, Object> missing = new java.util.LinkedHashMap<>();
                if (Files.exists(DeploymentFile.API_TOKEN.in(dir))) {
                    missing.put("api_token_file", DeploymentFile.API_TOKEN.in(dir));
                }
                missing.putAll(identity);
                missing.putAll(etcdClient);
                missing.putAll(cgroupLine);
                if (withVolume) {
                    missing.put("log_dir", volume.mountPoint().resolve("pgdata/log"));
                }
                appendMissing(configFile, missing);
                replaceEtcdList(configFile, etcdList(etcdHost, blueprint.basePort()));
                // Kept from before nodes listened on their host's own ports.
                replaceLine(configFile, "port", port);
                replaceLine(configFile, "api_port", apiPort);
            }
        } catch (IOException e) {
            throw new WardenException(
                    "cannot write " + configFile + ": " + e.getMessage(), "check free space and permissions");
        }
        return new NodeHost(
                name,
                host,
                port,
                apiPort,
                configFile.toString(),
                placed.map(DeploymentState.HostRecord::netns).orElse(""),
                0,
                0,
                container,
                blueprint.cgroups().isPresent() ? limits : ResourceLimits.NONE,
                withVolume ? image.toString() : "");
    }

    /** Sets {@code key: value} in a kept config file where it names another value. */
    private static void replaceLine(Path configFile, String key, Object value) throws IOException {
        String text = Files.readString(configFile);
        String replaced = text.replaceAll(
                "(?m)^" + java.util.regex.Pattern.quote(key) + ": .*$",
                java.util.regex.Matcher.quoteReplacement(key + ": " + value));
        if (!replaced.equals(text)) {
            Files.writeString(configFile, replaced);
        }
    }

    /**
     * Mounts a node's volume and unlocks it; with {@code preferred}, a new volume whose encryption cannot be set up
     * here (no compiler for the helper, a kernel without ext4 encryption) runs plain, with a warning that says why.
     */
    private static void openVolume(String mode, String name, LoopVolume volume, boolean encrypted, Path dir) {
        NodeVolume plain = new NodeVolume(name, volume, Optional.empty(), dir.resolve("bin"));
        if (!encrypted) {
            plain.open();
            return;
        }
        boolean fresh = !Files.exists(keysDir(dir).resolve(name + ".wrapped"));
        try {
            new NodeVolume(name, volume, Optional.of(volumeKeys(dir)), dir.resolve("bin")).open();
        } catch (WardenException e) {
            if (!mode.equals("preferred") || !fresh) {
                throw e;
            }
            System.err.println(
                    "warning: " + name + "'s volume is not encrypted (--encryption preferred): " + e.getMessage());
            plain.open();
        }
    }

    /** Where the deployment keeps its wrapped volume keys, outside every volume. */
    static Path keysDir(Path dir) {
        return dir.resolve("keys");
    }

    /**
     * The deployment's volume keys, wrapped by the master key in {@code <dir>/master.key} (owner-only, outside every
     * volume; back it up: without it no volume can be unlocked).
     */
    public static VolumeKeys volumeKeys(Path dir) {
        return new VolumeKeys(keysDir(dir), new FileMasterKey(dir.resolve("master.key")));
    }

    /** The deployment directory a node belongs to ({@code <dir>/nodes/<node>/config.yml}). */
    private static Path deploymentDir(NodeHost node) {
        return node.nodeDir().getParent().getParent();
    }

    /** A node's volume as the node uses it (mounted, unlocked), when it has one. */
    public static Optional<NodeVolume> nodeVolumeOf(NodeHost node) {
        Path dir = deploymentDir(node);
        boolean encrypted = Files.exists(keysDir(dir).resolve(node.name() + ".wrapped"));
        return volumeOf(node)
                .map(v -> new NodeVolume(
                        node.name(),
                        v,
                        encrypted ? Optional.of(volumeKeys(dir)) : Optional.empty(),
                        dir.resolve("bin")));
    }

    /** A node's volume, when it has one. */
    public static Optional<LoopVolume> volumeOf(NodeHost node) {
        return node.volume().isEmpty()
                ? Optional.empty()
                : Optional.of(new LoopVolume(Path.of(node.volume()), node.volumeMount()));
    }

    /** A node's container groups, when it has them. */
    public static Optional<ContainerCgroups> containerOf(NodeHost node) {
        if (node.container().isEmpty()) {
            return Optional.empty();
        }
        String[] parts = node.container().split("/", 2);
        return Cgroups.detect().map(c -> new ContainerCgroups(c, parts[0], parts[1]));
    }

    /**
     * Starts a node's watchdog and agent from its existing config file (a host coming back after a loss); returns
     * the node with its new pids. The caller records them with {@link #replaceNode}.
     */
    public static NodeHost launchNode(NodeHost node) {
        Path nodeDir = Path.of(node.configFile()).getParent();
        String name = node.name();
        // nsenter joins the host's network namespace alone; ip netns exec would also remount /sys for it, and the
        // agent would no longer see /sys/fs/cgroup, where it places postgres.
        List<String> prefix = node.netns().isEmpty()
                ? List.of()
                : List.of("nsenter", "--net=" + NetworkNamespaces.path(node.netns()), "--");
        Optional<ContainerCgroups> container = containerOf(node);
        if (node.container().length() > 0 && container.isEmpty()) {
            throw new WardenException(
                    node.name() + " was placed in the cgroup " + node.container() + " but this machine has no usable"
                            + " cgroups now",
                    "mount the cpu, cpuacct, memory, pids and freezer controllers, or start anew with ./warden down"
                            + " --purge and ./warden up");
        }
        List<java.nio.file.Path> wardenProcs = container
                .map(c -> c.part(ContainerCgroups.Part.WARDEN).procsFiles())
                .orElse(List.of());
        List<String> watchdogCgroup = container
                .map(c -> List.of(
                        "--postgres-cgroup",
                        c.part(ContainerCgroups.Part.POSTGRES).toConfig()))
                .orElse(List.of());
        Path socket = nodeDir.resolve("watchdog.sock");
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            throw new WardenException("cannot remove stale " + socket + ": " + e.getMessage(), "remove it by hand");
        }
        // A host that comes back finds its volume where it left it; mounted again if it was not.
        nodeVolumeOf(node).ifPresent(NodeVolume::open);
        Path logDir = node.logDir();
        try {
            Files.createDirectories(logDir);
            if (!logDir.equals(nodeDir) && Processes.isRoot()) {
                // Only its owner reads it (logs can hold queries); postgres opens its own log in it.
                Files.setPosixFilePermissions(
                        logDir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
                Files.setOwner(
                        logDir,
                        logDir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres"));
            }
        } catch (IOException e) {
            throw new WardenException(
                    "cannot make " + logDir + ": " + e.getMessage(), "check that " + name + "'s volume is not full");
        }
        Path agentLog = logDir.resolve("agent.log");
        Path status = agentLog.resolveSibling("supervisor.json");
        try {
            Files.deleteIfExists(status);
        } catch (IOException e) {
            throw new WardenException("cannot remove stale " + status + ": " + e.getMessage(), "remove it by hand");
        }
        // One process per node starts first, as a container's first process would: the watchdog, which supervises
        // the agent (starts it once its socket listens, starts it again when it exits, stops it and then postgres on
        // SIGTERM). The agent inherits its namespace and its cgroup.
        List<String> watchdogArgs = new ArrayList<>(List.of(
                "watchdog",
                "--socket",
                socket.toString(),
                "--data-dir",
                node.dataDir().toString(),
                "--agent-log",
                agentLog.toString()));
        watchdogArgs.addAll(watchdogCgroup);
        watchdogArgs.add("--");
        watchdogArgs.addAll(javaCommand("-Xmx160m", "agent", "--config", node.configFile()));
        long watchdogPid = Processes.startService(
                Processes.inCgroups(
                        wardenProcs, concat(prefix, javaCommand("-Xmx24m", watchdogArgs.toArray(String[]::new)))),
                logDir.resolve("watchdog.log"),
                Map.of());
        waitFor(
                Duration.ofSeconds(30),
                "the watchdog of " + name + " to listen and start the agent (see " + logDir.resolve("watchdog.log")
                        + ")",
                () -> supervisedAgentPid(node.withPids(0, watchdogPid)) > 0);
        return node.withPids(supervisedAgentPid(node.withPids(0, watchdogPid)), watchdogPid);
    }

    /**
     * The pid of the node's agent now, as its supervisor last recorded it in {@code supervisor.json} (it changes
     * when the agent is restarted); 0 while none is recorded.
     */
    public static long supervisedAgentPid(NodeHost node) {
        Path status = node.logDir().resolve("supervisor.json");
        try {
            return io.warden.common.Json.wire()
                    .readTree(status.toFile())
                    .path("agent_pid")
                    .asLong(0);
        } catch (IOException e) {
            return 0;
        }
    }

    /** Records a relaunched node's pids in deployment.json so that down stops them too. */
    public static DeploymentState replaceNode(Path dir, NodeHost node) {
        return DeploymentState.update(dir, state -> state.withNode(node));
    }

    /**
     * Router {@code i} listens on its own loopback address (127.0.0.i) on both client ports, so clients can list
     * both routers in a multi-host URI and keep working when one is lost.
     */
    private static String routerHost(int index) {
        return "127.0.0." + index;
    }

    private static DeploymentState.RouterProcess startRouter(Options options, Path dir, int index) {
        String id = "router-" + index;
        String host = routerHost(index);
        int apiPort = options.basePort() + 50 + index;
        Path routerDir = dir.resolve("routers/" + id);
        Path configFile = routerDir.resolve("config.yml");
        StringBuilder yaml = configHead("id", id, options.cluster(), host);
        yamlLine(yaml, "read_write_port", options.readWritePort());
        yamlLine(yaml, "read_only_port", options.readOnlyPort());
        yamlLine(yaml, "api_port", apiPort);
        etcdMembers(yaml, "127.0.0.1", options.basePort());
        try {
            Files.createDirectories(routerDir);
            etcdClientLines(options.etcdIdentity().client(id, routerDir.resolve("etcd-client")))
                    .forEach((k, v) -> yamlLine(yaml, k, v));
            Files.writeString(configFile, yaml);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot write " + configFile + ": " + e.getMessage(), "check free space and permissions");
        }
        long pid =
                Processes.startService(routerCommand(configFile.toString()), routerDir.resolve("router.log"), Map.of());
        return new DeploymentState.RouterProcess(
                id, host, options.readWritePort(), options.readOnlyPort(), apiPort, configFile.toString(), pid);
    }

    /** Starts a router again from its config (after a test or an operator stopped it). */
    public static DeploymentState.RouterProcess relaunchRouter(Path dir, DeploymentState.RouterProcess router) {
        long pid = Processes.startService(
                routerCommand(router.configFile()),
                Path.of(router.configFile()).getParent().resolve("router.log"),
                Map.of());
        DeploymentState.RouterProcess relaunched = new DeploymentState.RouterProcess(
                router.id(),
                router.host(),
                router.readWritePort(),
                router.readOnlyPort(),
                router.apiPort(),
                router.configFile(),
                pid);
        DeploymentState.update(dir, state -> state.withRouter(relaunched));
        return relaunched;
    }

    /** The java command line that runs a Warden subcommand on this JVM's binary and class path. */
    public static List<String> javaCommand(String heap, String... args) {
        // C1 alone: faster start-up and ~40 MiB less than full tiered compilation, for processes that mostly wait.
        return javaCommand(List.of(heap, "-XX:TieredStopAtLevel=1"), args);
    }

    /**
     * The router relays every session on its event loops, so it gets C2: its loops spent ~15% less CPU per
     * transaction than with C1 alone (bench/router). The heap starts small and stays under 64 MiB: the relay keeps
     * its buffers off-heap in Netty's pool, and an idle session holds no buffer.
     */
    static List<String> routerCommand(String configFile) {
        return javaCommand(List.of("-Xms16m", "-Xmx64m"), "router", "--config", configFile);
    }

    private static List<String> javaCommand(List<String> options, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Processes.javaBinary());
        command.addAll(options);
        command.add("-XX:+UseSerialGC");
        if (java.lang.Runtime.version().feature() >= 24) {
            // Netty (under jetcd, and the router's relay) still uses sun.misc.Unsafe and loads its native epoll or
            // io_uring library; JDK 24+ warns on every start without these.
            command.add("--sun-misc-unsafe-memory-access=allow");
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.warden.cli.Main"));
        command.addAll(List.of(args));
        return command;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /**
     * Stops exactly what {@code up} started, by pid: the controller, routers, agents (which stop their postgres; the leader's last),
     * watchdogs, etcd. The runtime knows processes, not the cluster: the caller says which node leads now (read from
     * the DCS; empty when it cannot tell) and how to kill a postgres an agent left behind (the fencing kill).
     */
    public static void down(
            Path dir,
            boolean purge,
            Function<DeploymentState, Optional<String>> leaderToStopLast,
            Consumer<Path> killLeftoverPostgres) {
        Path abs = dir.toAbsolutePath();
        if (!Files.exists(DeploymentState.file(abs))) {
            if (purge) {
                deleteTree(abs);
            }
            return;
        }
        DeploymentState state = DeploymentState.read(abs);
        stopControllers(abs, state);
        state.routers().parallelStream().forEach(r -> Processes.stop(r.pid(), Duration.ofSeconds(10)));
        String last = leaderToStopLast.apply(state).orElse("");
        // Each node's supervisor (its watchdog) stops its agent, which stops postgres, then whatever postgres is
        // left: the other nodes first, at once, and the leader last, so that no failover starts on the way down.
        state.nodes().parallelStream().filter(n -> !n.name().equals(last)).forEach(LocalDeployment::stopNode);
        state.nodes().stream().filter(n -> n.name().equals(last)).forEach(LocalDeployment::stopNode);
        state.nodes().parallelStream().forEach(node -> {
            // An agent killed earlier (a test's "host loss") leaves its postgres behind: it is ours to stop.
            killLeftoverPostgres.accept(node.dataDir());
        });
        // One after another: an etcd leader told to stop first hands its leadership to a live member, and one stopped
        // while the others stop too waits up to ~5 s for a transfer that cannot happen (down took 11 s instead of 6).
        state.etcd().forEach(member -> Processes.stop(member.pid(), Duration.ofSeconds(10)));
        if (!state.cgroups().isEmpty()) {
            // Whatever is still in the deployment's groups (a postgres whose agent was killed, a frozen host) ends
            // with them: nothing of it outlives down.
            Cgroups.detect().ifPresent(c -> {
                io.warden.common.CgroupSet group = c.group(state.cgroups());
                group.kill();
                group.remove();
                c.removeRootIfEmpty();
            });
        }
        // Last, with nothing left that writes to them: a purge must not delete through a mounted volume.
        for (NodeHost node : state.nodes()) {
            volumeOf(node).ifPresent(LoopVolume::unmount);
        }
        // A quarantined volume an operator opened (warden quarantine open) is closed; it stays kept.
        for (QuarantinedVolume kept : state.quarantine()) {
            try {
                new LoopVolume(Path.of(kept.image()), abs.resolve("quarantine/" + kept.node())).unmount();
            } catch (WardenException e) {
                // Someone reads it still: it stays mounted and kept, and the rest goes down.
                System.err.println(
                        "warning: " + kept.node() + "'s quarantined volume stays mounted: " + e.getMessage());
            }
        }
        if (state.isolation().equals("netns")) {
            removeHosts(state);
        }
        if (purge) {
            deleteTree(abs);
        }
    }

    /** Every host of the deployment, spares and hosts made later included, and the network's etcd address. */
    private static void removeHosts(DeploymentState state) {
        if (state.hosts().isEmpty()) {
            // Made before hosts were recorded: one per node.
            for (int i = 1; i <= state.nodes().size(); i++) {
                NetworkNamespaces.remove(state.netId(), i);
            }
        }
        state.hosts().forEach(h -> NetworkNamespaces.remove(state.netId(), h.index()));
        NetworkNamespaces.removeDcsAddress(state.netId());
    }

    /**
     * Grows a node's volume to {@code bytes} offline: the node stops (its supervisor stops the agent, then postgres),
     * the volume is unmounted, grown and checked, the parameters its size implies are written into the node's config,
     * and the node starts again on it; returns the node with its new pids (recorded in deployment.json). The caller
     * picks the order (replicas first, then a switchover, then the former primary) so that the cluster stays up.
     */
    public static NodeHost growVolumeOffline(Path dir, NodeHost node, long bytes) {
        NodeVolume volume = nodeVolumeOf(node)
                .orElseThrow(() -> new WardenException(
                        node.name() + " has no volume of its own", "only nodes started as root have volumes"));
        stopNode(node);
        volume.volume().unmount();
        volume.volume().growOffline(bytes);
        writeVolumeParameters(Path.of(node.configFile()), bytes);
        NodeHost relaunched = launchNode(node);
        replaceNode(dir, relaunched);
        return relaunched;
    }

    /** Replaces the {@code parameters:} block of a node's config with the ones its volume size implies. */
    public static void writeVolumeParameters(Path configFile, long volumeBytes) {
        StringBuilder block = new StringBuilder("parameters:\n");
        VolumeSettings.forVolume(volumeBytes)
                .forEach((k, v) ->
                        block.append("  ").append(k).append(": ").append(v).append('\n'));
        try {
            String text = Files.readString(configFile);
            String replaced = text.contains("\nparameters:\n") || text.startsWith("parameters:\n")
                    ? text.replaceAll(
                            "(?m)^parameters:\n(  .*\n)+", java.util.regex.Matcher.quoteReplacement(block.toString()))
                    : text + block;
            Files.writeString(configFile, replaced);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot write " + configFile + ": " + e.getMessage(), "check free space and permissions");
        }
    }

    /** A node's supervisor, then (for a node started before agents were supervised) its agent. */
    public static void stopNode(NodeHost node) {
        Processes.stop(node.watchdogPid(), Duration.ofSeconds(70));
        long agent = Math.max(node.agentPid(), supervisedAgentPid(node));
        Processes.stop(agent, Duration.ofSeconds(40));
    }

    private static void deleteTree(Path dir) {
        Processes.run(List.of("rm", "-rf", "--one-file-system", dir.toString()), Duration.ofMinutes(2));
    }

    /** Waits for {@code condition}, or fails naming {@code what} and where to look. */
    private static void waitFor(Duration timeout, String what, java.util.function.BooleanSupplier condition) {
        Poll.every(Duration.ofMillis(200))
                .require(
                        timeout,
                        what,
                        "check the logs named above; ./warden down stops whatever is still running",
                        condition);
    }
}
