package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.warden.cluster.Member;
import io.warden.common.CgroupSet;
import io.warden.common.Json;
import io.warden.common.Processes;
import io.warden.runtime.DeploymentState.NodeHost;
import io.warden.runtime.LocalDeployment;
import io.warden.runtime.ResourceLimits;
import io.warden.runtime.local.ContainerCgroups;
import io.warden.runtime.local.ContainerCgroups.Part;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The runtime issue's first two proofs, on the local runtime as root: every node is a container of its own (its
 * host a network namespace, its processes in its cgroups), and the limits of a container hold against real
 * postgres queries: memory (the backend that ran over is the one killed, the node keeps its role) and CPU (measured,
 * not only written). Then the host-kill drill: nothing of the host survives, and it comes back.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(LogTailsOnFailure.class)
class ContainerIT {
    @AutoClose
    private static TestCluster cluster;

    @BeforeAll
    static void start() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Processes.isRoot(), "containers need root");
        cluster = TestCluster.start("container", 3, 8900, "netns");
    }

    private static ContainerCgroups container(String node) {
        return LocalDeployment.containerOf(cluster.node(node)).orElseThrow();
    }

    /** The cgroup paths of a process, one per v1 hierarchy (or the one v2 path), as /proc/pid/cgroup lists them. */
    private static List<String> cgroupsOf(long pid) {
        try {
            return Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"));
        } catch (java.io.IOException e) {
            return List.of();
        }
    }

    /** Whether the process is in {@code group} in every hierarchy the group has a directory in. */
    private static boolean inGroup(long pid, CgroupSet group) {
        List<String> lines = cgroupsOf(pid);
        if (lines.isEmpty()) {
            return true; // it exited meanwhile
        }
        return group.dirs().stream().allMatch(dir -> {
            String controller = dir.getName(3).toString(); // /sys/fs/cgroup/<controller>/warden/...
            String relative = "/" + dir.subpath(4, dir.getNameCount());
            return lines.stream().anyMatch(l -> {
                String[] f = l.split(":", 3);
                boolean hierarchy = f[1].isEmpty()
                        ? Files.exists(dir.resolve("cgroup.controllers"))
                        : List.of(f[1].split(",")).contains(controller);
                return hierarchy && (f[2].equals(relative) || f[2].startsWith(relative + "/"));
            });
        });
    }

    /** Processes whose working directory is inside {@code dir} (postgres runs every process in its data directory). */
    private static Set<Long> workingIn(Path dir) throws Exception {
        Path real = dir.toRealPath();
        Set<Long> pids = new TreeSet<>();
        try (Stream<Path> proc = Files.list(Path.of("/proc"))) {
            for (Path p : proc.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    if (Files.readSymbolicLink(p.resolve("cwd")).startsWith(real)) {
                        pids.add(Long.parseLong(name));
                    }
                } catch (java.io.IOException | SecurityException gone) {
                    // exited, or a kernel thread
                }
            }
        }
        return pids;
    }

    private static Set<Long> inNamespace(String netns) {
        var result = Processes.run(List.of("ip", "netns", "pids", netns), Duration.ofSeconds(10));
        Set<Long> pids = new TreeSet<>();
        result.output().lines().filter(l -> !l.isBlank()).forEach(l -> pids.add(Long.parseLong(l.strip())));
        return pids;
    }

    @Test
    @Order(1)
    void everyProcessOfANodeIsInThatNodesCgroupsWithTheConfiguredLimits() throws Exception {
        Set<String> hosts = new TreeSet<>();
        Set<String> volumes = new TreeSet<>();
        for (NodeHost node : cluster.state().nodes()) {
            ContainerCgroups groups = container(node.name());
            Set<Long> postgres = workingIn(cluster.dataDir(node.name()));
            Set<Long> namespace = inNamespace(node.netns());
            assertThat(postgres).as("postgres processes of %s", node.name()).hasSizeGreaterThan(4);
            assertThat(namespace).contains(node.agentPid(), node.watchdogPid()).containsAll(postgres);
            for (long pid : postgres) {
                assertThat(inGroup(pid, groups.part(Part.POSTGRES)))
                        .as(
                                "%s's postgres process %d in %s: %s",
                                node.name(), pid, groups.part(Part.POSTGRES), cgroupsOf(pid))
                        .isTrue();
            }
            for (long pid : namespace) {
                assertThat(inGroup(pid, groups.all()))
                        .as("%s's process %d in %s: %s", node.name(), pid, groups.all(), cgroupsOf(pid))
                        .isTrue();
            }
            assertThat(inGroup(node.agentPid(), groups.part(Part.WARDEN))).isTrue();
            assertThat(inGroup(node.watchdogPid(), groups.part(Part.WARDEN))).isTrue();
            assertThat(groups.limits(Part.POSTGRES)).isEqualTo(LocalDeployment.NODE_LIMITS);
            var store = Files.getFileStore(cluster.dataDir(node.name()));
            assertThat(store.name())
                    .as("%s's data directory is on a loop device", node.name())
                    .startsWith("/dev/loop");
            assertThat(cluster.dataDir(node.name())).startsWith(node.volumeMount());
            volumes.add(store.name());
            assertThat(groups.limits(Part.WARDEN)).isEqualTo(LocalDeployment.WARDEN_LIMITS);
            hosts.add(node.netns());
        }
        assertThat(hosts).hasSize(3);
        assertThat(volumes).hasSize(3);

        var list = cluster.warden("list", "--json");
        assertThat(list.exitCode()).as(list.toString()).isZero();
        JsonNode rows = Json.wire().readTree(list.out());
        for (JsonNode row : rows) {
            assertThat(row.get("cpu_limit_millis").asLong()).isEqualTo(1000);
            assertThat(row.get("memory_limit_bytes").asLong()).isEqualTo(1L << 30);
            assertThat(row.get("memory_used_bytes").asLong()).isPositive();
            assertThat(row.get("host_id").asText()).startsWith("wd");
            assertThat(row.get("volume_bytes").asLong()).isBetween(900L << 20, 1L << 30);
            assertThat(row.get("volume_used_bytes").asLong()).isPositive();
        }
    }

    @Test
    @Order(2)
    void aQueryThatRunsOverItsNodesMemoryIsKilledAloneAndTheNodeKeepsItsRole() throws Exception {
        Member primary = cluster.primary();
        ContainerCgroups groups = container(primary.name());
        long postmaster = cluster.postmasterPid(primary.name());
        List<Long> otherPostmasters = cluster.state().nodes().stream()
                .filter(n -> !n.name().equals(primary.name()))
                .map(n -> cluster.postmasterPid(n.name()))
                .toList();
        long oomKillsBefore = groups.usage(Part.POSTGRES).oomKills();
        groups.resize(Part.POSTGRES, new ResourceLimits(1000, 384L << 20, 512));
        try (Connection c = cluster.connect(primary.name(), 120);
                Statement s = c.createStatement()) {
            var pid = s.executeQuery("select pg_backend_pid()");
            pid.next();
            long backend = pid.getLong(1);
            // An in-memory sort of 20 M rows with md5 text: ~2 GiB, far over 384 MiB.
            s.execute("set work_mem = '8GB'");
            // The backend itself sorts: a parallel worker would be the process that runs over.
            s.execute("set max_parallel_workers_per_gather = 0");
            assertThatThrownBy(() -> s.executeQuery(
                            "select count(*) from (select g, md5(g::text) m from generate_series(1, 20000000) g"
                                    + " order by m) s"))
                    .isInstanceOf(SQLException.class);
            assertThat(groups.usage(Part.POSTGRES).oomKills()).isGreaterThan(oomKillsBefore);
            // The postmaster logs it once it has reaped the backend, a moment after the client saw its session end.
            await().atMost(Duration.ofSeconds(15))
                    .untilAsserted(() -> assertThat(Files.readString(
                                    cluster.logDir(primary.name()).resolve("postgres.log")))
                            .contains("server process (PID " + backend + ") was terminated by signal 9"));
        } finally {
            groups.resize(Part.POSTGRES, LocalDeployment.NODE_LIMITS);
        }
        assertThat(Processes.alive(postmaster))
                .as("the postmaster survives its backend's OOM kill")
                .isTrue();
        // postgres restarts its backends after one was killed; the node stays the primary throughout.
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> {
            try (Connection c = cluster.connect(primary.name());
                    Statement s = c.createStatement()) {
                s.execute("create table if not exists oom_survived(i int); insert into oom_survived values (1)");
            }
        });
        assertThat(cluster.snapshot().leader().map(l -> l.name())).contains(primary.name());
        // Its member record says running again once the agent has seen postgres back (a cycle later).
        Member after = await().atMost(Duration.ofSeconds(30))
                .ignoreExceptions()
                .until(cluster::primary, m -> m.name().equals(primary.name()));
        assertThat(after.timeline()).isEqualTo(primary.timeline());
        for (int i = 0; i < otherPostmasters.size(); i++) {
            assertThat(Processes.alive(otherPostmasters.get(i))).isTrue();
        }
        cluster.awaitHealthy(Duration.ofSeconds(60));
    }

    @Test
    @Order(3)
    void aSpinningQueryUsesNoMoreThanItsNodesCpuQuotaAndIsThrottled() throws Exception {
        String replica = cluster.replicaNames().getFirst();
        ContainerCgroups groups = container(replica);
        groups.resize(Part.POSTGRES, new ResourceLimits(300, 1L << 30, 512));
        try (Connection c = cluster.connect(replica, 60);
                Statement s = c.createStatement()) {
            s.execute("set statement_timeout = '12s'");
            CompletableFuture<Void> spin = CompletableFuture.runAsync(() -> {
                try (Statement busy = c.createStatement()) {
                    // A loop of pure CPU: nothing to spill into temporary files, which temp_file_limit bounds.
                    busy.execute("do $$ begin loop perform 1; end loop; end $$");
                } catch (SQLException expected) {
                    // statement_timeout ends it
                }
            });
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> groups.usage(Part.POSTGRES).throttled() > 0 || spin.isDone());
            var before = groups.usage(Part.POSTGRES);
            long t0 = System.nanoTime();
            Thread.sleep(5000); // the measurement window, not a wait for a condition
            var after = groups.usage(Part.POSTGRES);
            double cores = (double) (after.cpuNanos() - before.cpuNanos()) / (System.nanoTime() - t0);
            assertThat(spin).isNotDone();
            assertThat(cores).as("cores used under a 300 m quota").isLessThanOrEqualTo(0.3 * 1.2);
            assertThat(cores).as("cores used under a 300 m quota").isGreaterThan(0.1);
            assertThat(after.throttled()).isGreaterThan(before.throttled());
            spin.join();
        } finally {
            groups.resize(Part.POSTGRES, LocalDeployment.NODE_LIMITS);
        }
    }

    @Test
    @Order(4)
    void killingAReplicasHostLeavesNothingOfItRunningAndItComesBack() throws Exception {
        String replica = cluster.replicaNames().getFirst();
        NodeHost node = cluster.node(replica);
        String leader = cluster.primary().name();

        var run = cluster.warden("fault", "kill", replica);

        assertThat(run.exitCode()).as(run.toString()).isZero();
        assertThat(run.out()).contains("killed " + replica + "'s host");
        assertThat(container(replica).all().pids()).isEmpty();
        assertThat(inNamespace(node.netns())).isEmpty();
        assertThat(workingIn(cluster.dataDir(replica))).isEmpty();
        assertThat(cluster.primary().name()).isEqualTo(leader);

        cluster.restartHost(replica);
        cluster.awaitHealthy(Duration.ofSeconds(90));
        assertThat(inGroup(cluster.node(replica).agentPid(), container(replica).part(Part.WARDEN)))
                .isTrue();
    }

    @Test
    @Order(5)
    void aReplicaWhoseVolumeIsFullLeavesThePrimaryWritingAndCatchesUpOnceItIsFreed() throws Exception {
        String replica = cluster.replicaNames().getFirst();
        Member primary = cluster.primary();

        var run = cluster.warden("fault", "fill-disk", replica);

        assertThat(run.exitCode()).as(run.toString()).isZero();
        assertThat(run.out()).contains("filled " + replica + "'s volume: 100 % used");
        var df = Processes.run(
                List.of(
                        "df",
                        "--output=pcent",
                        cluster.node(replica).volumeMount().toString()),
                Duration.ofSeconds(10));
        assertThat(df.output()).contains("100%");
        try (Connection c = cluster.connect(primary.name());
                Statement s = c.createStatement()) {
            s.execute("create table if not exists beside_a_full_replica(i int)");
            for (int i = 0; i < 20; i++) {
                s.execute("insert into beside_a_full_replica select generate_series(1, 1000)");
            }
        }
        assertThat(cluster.primary().name()).isEqualTo(primary.name());

        LocalDeployment.volumeOf(cluster.node(replica)).orElseThrow().unfill();
        cluster.awaitHealthy(Duration.ofSeconds(90));
        await().atMost(Duration.ofSeconds(60))
                .ignoreExceptions()
                .untilAsserted(() -> assertThat(cluster.queryColumn(
                                replica, "select count(*) from beside_a_full_replica", r -> r.getLong(1)))
                        .containsExactly(20_000L));

        var unknown = cluster.warden("fault", "kill", "node-9");
        assertThat(unknown.exitCode()).isNotZero();
        assertThat(unknown.err()).contains("no node 'node-9'").contains("node-1, node-2, node-3");
    }

    private static int starts(String node) throws Exception {
        Path status = cluster.logDir(node).resolve("supervisor.json");
        return Json.wire().readTree(status.toFile()).path("starts").asInt();
    }

    @Test
    @Order(6)
    void aReplicasAgentKilledAloneIsStartedAgainByItsSupervisorWithoutAFailover() throws Exception {
        String replica = cluster.replicaNames().getFirst();
        Member leader = cluster.primary();
        long agent = LocalDeployment.supervisedAgentPid(cluster.node(replica));
        int startsBefore = starts(replica);

        ProcessHandle.of(agent).orElseThrow().destroyForcibly();

        await().atMost(Duration.ofSeconds(30))
                .until(() -> LocalDeployment.supervisedAgentPid(cluster.node(replica)) != agent);
        long restarted = LocalDeployment.supervisedAgentPid(cluster.node(replica));
        assertThat(Processes.alive(restarted)).isTrue();
        assertThat(starts(replica)).isEqualTo(startsBefore + 1);
        assertThat(inGroup(restarted, container(replica).part(Part.WARDEN))).isTrue();
        cluster.awaitHealthy(Duration.ofSeconds(60));
        assertThat(cluster.primary().name()).isEqualTo(leader.name());
        assertThat(cluster.primary().timeline()).isEqualTo(leader.timeline());
        // The restart is published for the repair controller: what the supervisor heals by itself is not abnormal.
        await().atMost(Duration.ofSeconds(10))
                .until(
                        () -> java.util.Optional.ofNullable(
                                        cluster.snapshot().members().get(replica))
                                .map(Member::agentStarts)
                                .orElse(0),
                        n -> n == startsBefore + 1);
    }

    /**
     * The primary's agent killed alone: its lease runs out (about 3 s) and another node is promoted. Postgres is
     * fenced before that by whichever comes first: the watchdog, armed with the lease's deadline, when it passes, or
     * the supervisor's new agent, which finds the leader key under its predecessor's lease and kills the postgres
     * cgroup (a new agent that starts in under 3 s does; one slower than that finds the watchdog did). Either way
     * the restarted agent brings its node back as a replica.
     */
    @Test
    @Order(7)
    void thePrimarysAgentKilledAloneIsFencedBeforeAFailoverAndRejoinsAsAReplica() throws Exception {
        Member old = cluster.primary();
        long agent = LocalDeployment.supervisedAgentPid(cluster.node(old.name()));
        int startsBefore = starts(old.name());

        ProcessHandle.of(agent).orElseThrow().destroyForcibly();

        Member promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
        assertThat(promoted.timeline()).isGreaterThan(old.timeline());
        String watchdogLog = Files.readString(cluster.logDir(old.name()).resolve("watchdog.log"));
        String agentLog = cluster.agentLog(old.name());
        assertThat(watchdogLog.contains("agent missed its deadline: killed")
                        || agentLog.contains("FENCE: fencing: the leader key names me under an earlier lease"))
                .as("fenced by the watchdog or by the restarted agent:%n%s%n%s", watchdogLog, agentLog)
                .isTrue();
        cluster.awaitHealthy(Duration.ofSeconds(90));
        assertThat(starts(old.name())).isEqualTo(startsBefore + 1);
        assertThat(cluster.snapshot().members().get(old.name()).role()).isEqualTo(io.warden.cluster.Role.REPLICA);
    }

    /** The node is back (its old member record may outlive its host by a TTL) and holds the rows written before. */
    private static void awaitRows(String node) {
        await().atMost(Duration.ofSeconds(90))
                .ignoreExceptions()
                .untilAsserted(
                        () -> assertThat(cluster.queryColumn(node, "select count(*) from at_rest", r -> r.getLong(1)))
                                .containsExactly(100L));
        cluster.awaitHealthy(Duration.ofSeconds(90));
    }

    private static final String DISTINCTIVE = "warden-at-rest-7d1c09";

    /** Whether {@code needle} occurs anywhere in {@code file} (a 1 GiB sparse image reads in about a second). */
    private static boolean contains(Path file, byte[] needle) throws Exception {
        try (var in = new java.io.BufferedInputStream(Files.newInputStream(file), 1 << 20)) {
            byte[] window = new byte[(1 << 20) + needle.length];
            int kept = 0;
            int n;
            while ((n = in.read(window, kept, window.length - kept)) > 0) {
                int filled = kept + n;
                for (int i = 0; i + needle.length <= filled; i++) {
                    if (window[i] == needle[0]
                            && java.util.Arrays.equals(window, i, i + needle.length, needle, 0, needle.length)) {
                        return true;
                    }
                }
                kept = Math.min(needle.length - 1, filled);
                System.arraycopy(window, filled - kept, window, 0, kept);
            }
        }
        return false;
    }

    /**
     * Encryption at rest: the data directory is encrypted (ext4, v2 policy); a row written and checkpointed is in no
     * image file and in no file of the node outside its volume; the volume key is not on the volume; a master-key
     * rotation under load loses nothing and leaves the old master key useless; a node comes back after an unmount,
     * and refuses to start with a wrong master key, its data intact.
     */
    @Test
    @Order(8)
    void theDataIsEncryptedAtRestAndTheMasterKeyRotatesAndAWrongOneIsRefused() throws Exception {
        cluster.awaitHealthy(Duration.ofSeconds(90));
        Member primary = cluster.primary();
        for (NodeHost node : cluster.state().nodes()) {
            var lsattr = Processes.run(
                    List.of("lsattr", "-d", node.volumeMount().resolve("pgdata").toString()), Duration.ofSeconds(10));
            assertThat(lsattr.output().split(" ")[0])
                    .as("lsattr of %s's pgdata", node.name())
                    .contains("E");
        }
        try (Connection c = cluster.connect(primary.name());
                Statement s = c.createStatement()) {
            s.execute("create table at_rest(t text)");
            s.execute("insert into at_rest select '" + DISTINCTIVE + "' || g from generate_series(1, 100) g");
            s.execute("checkpoint");
        }
        for (String replica : cluster.replicaNames()) {
            await().atMost(Duration.ofSeconds(30))
                    .ignoreExceptions()
                    .untilAsserted(() -> assertThat(
                                    cluster.queryColumn(replica, "select count(*) from at_rest", r -> r.getLong(1)))
                            .containsExactly(100L));
            try (Connection c = cluster.connect(replica);
                    Statement s = c.createStatement()) {
                s.execute("checkpoint"); // a restartpoint: the replica's pages are written too
            }
        }
        Processes.run(List.of("sync"), Duration.ofSeconds(60));
        byte[] needle = DISTINCTIVE.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (NodeHost node : cluster.state().nodes()) {
            assertThat(contains(Path.of(node.volume()), needle))
                    .as("%s's image", node.name())
                    .isFalse();
            try (Stream<Path> files = Files.walk(node.nodeDir())) {
                for (Path file : files.filter(f -> !f.startsWith(node.volumeMount()))
                        .filter(Files::isRegularFile)
                        .toList()) {
                    assertThat(contains(file, needle))
                            .as("%s outside the volume", file)
                            .isFalse();
                }
            }
        }
        NodeHost first = cluster.node(cluster.replicaNames().getFirst());
        byte[] volumeKey = LocalDeployment.volumeKeys(cluster.dir).unwrap(first.name());
        assertThat(contains(Path.of(first.volume()), java.util.Arrays.copyOf(volumeKey, 32)))
                .as("the volume key on its own volume")
                .isFalse();

        Path masterFile = cluster.dir.resolve("master.key");
        Path oldMaster = cluster.dir.resolve("master.key.before-rotation");
        Files.copy(masterFile, oldMaster);
        try (Connection c = cluster.connect(primary.name());
                Statement s = c.createStatement()) {
            s.execute("create table at_rest_probe(id bigint primary key)");
        }
        try (WriteProbe probe = new WriteProbe("at_rest_probe", 1, cluster::connectThroughRouters)) {
            await().atMost(Duration.ofSeconds(20)).until(() -> probe.acks().size() > 20);
            var rotate = cluster.warden("keys", "rotate");
            assertThat(rotate.exitCode()).as(rotate.toString()).isZero();
            await().atMost(Duration.ofSeconds(20)).until(() -> probe.acks().size() > 60);
            probe.close();
            assertThat(cluster.ids(primary.name(), "at_rest_probe")).containsAll(probe.ackedIds());
        }
        var old = new io.warden.runtime.local.VolumeKeys(
                cluster.dir.resolve("keys"), new io.warden.runtime.local.FileMasterKey(oldMaster));
        for (NodeHost node : cluster.state().nodes()) {
            assertThatThrownBy(() -> old.unwrap(node.name())).hasMessageContaining("another master key");
        }

        // Unmounted and mounted again: the node starts on its volume, unlocked with its key.
        String replica = first.name();
        cluster.killHost(replica);
        LocalDeployment.volumeOf(first).orElseThrow().unmount();
        cluster.restartHost(replica);
        awaitRows(replica);

        // A wrong master key: refused with the reason, nothing touched.
        cluster.killHost(replica);
        LocalDeployment.volumeOf(first).orElseThrow().unmount();
        byte[] good = Files.readAllBytes(masterFile);
        Path wrapped = cluster.dir.resolve("keys/" + replica + ".wrapped");
        byte[] wrappedBefore = Files.readAllBytes(wrapped);
        Files.writeString(masterFile, java.util.Base64.getEncoder().encodeToString(new byte[32]) + "\n");
        try {
            assertThatThrownBy(() -> cluster.restartHost(replica))
                    .isInstanceOf(io.warden.common.WardenException.class)
                    .hasMessageContaining("the volume key of " + replica)
                    .hasMessageContaining("cannot be unwrapped");
            assertThat(Files.readAllBytes(wrapped)).isEqualTo(wrappedBefore);
        } finally {
            Files.write(masterFile, good);
        }
        cluster.restartHost(replica);
        awaitRows(replica);
    }

    /**
     * The volumes of all three nodes grow while a client writes through the routers' 5432: no acknowledged write is
     * lost, the longest pause between two acknowledged writes is no longer than a switchover's, and the new size shows
     * in df inside each node and in warden list. On these machines the online resize is refused, so this exercises
     * the rolling path: replicas, a switchover, the former primary.
     */
    @Test
    @Order(9)
    void everyVolumeGrowsUnderLoadWithNoAcknowledgedWriteLost() throws Exception {
        cluster.awaitHealthy(Duration.ofSeconds(90));
        try (Connection c = cluster.connect(cluster.primary().name());
                Statement s = c.createStatement()) {
            s.execute("create table grow_probe(id bigint primary key)");
        }
        long grown = 1280L << 20;
        WriteProbe probe = new WriteProbe("grow_probe", 1, cluster::connectThroughRouters);
        CliRunResult result;
        try (probe) {
            await().atMost(Duration.ofSeconds(20)).until(() -> probe.acks().size() > 20);
            var run = cluster.warden(Duration.ofMinutes(8), "volumes", "grow", "--size", "1280MiB");
            result = new CliRunResult(run.exitCode(), run.toString(), run.out());
            await().atMost(Duration.ofSeconds(20)).until(() -> probe.acks().size() > 0);
        }
        assertThat(result.exitCode()).as(result.text()).isZero();
        assertThat(result.out()).contains("grew every volume to 1280MiB");
        String primary = cluster.primary().name();
        assertThat(cluster.ids(primary, "grow_probe")).containsAll(probe.ackedIds());
        long longestGap = 0;
        var acks = probe.acks();
        for (int i = 1; i < acks.size(); i++) {
            longestGap =
                    Math.max(longestGap, acks.get(i).atNanos() - acks.get(i - 1).atNanos());
        }
        System.out.printf(
                "volumes grow: %d acknowledged writes, longest pause between two %.2f s%n",
                acks.size(), longestGap / 1e9);
        assertThat(Duration.ofNanos(longestGap)).as("the write outage").isLessThan(Duration.ofSeconds(10));
        for (NodeHost node : cluster.state().nodes()) {
            var df = Processes.run(
                    List.of(
                            "df",
                            "--block-size=1M",
                            "--output=size",
                            node.volumeMount().toString()),
                    Duration.ofSeconds(10));
            long sizeMb = Long.parseLong(
                    df.output().lines().skip(1).findFirst().orElse("0").strip());
            assertThat(sizeMb).as("%s's df", node.name()).isGreaterThan(1100);
        }
        var list = cluster.warden("list", "--json");
        for (JsonNode row : Json.wire().readTree(list.out())) {
            assertThat(row.get("volume_bytes").asLong())
                    .isGreaterThan(1100L << 20)
                    .isLessThanOrEqualTo(grown);
        }
    }

    /**
     * Hosts can grow: a host made after up reaches etcd and the other hosts, a node made on it through the runtime
     * clones and streams, listening on 5432 at its own address; its limits change while it runs; the runtime's host
     * states follow the drills; removing it leaves no part of it and its host spare, and the next node gets a name
     * never used before.
     */
    @Test
    @Order(10)
    void aNodeMadeOnAHostAddedLaterStreamsChangesLimitsAndGoesWithoutItsNameUsedAgain() throws Exception {
        cluster.awaitHealthy(Duration.ofSeconds(90));
        io.warden.runtime.Runtime runtime = cluster.runtime();
        List<io.warden.runtime.Host> hosts = runtime.hosts();
        assertThat(hosts.stream().filter(io.warden.runtime.Host::spare)).hasSize(LocalDeployment.SPARE_HOSTS);
        assertThat(hosts.stream().flatMap(h -> h.containers().stream()))
                .containsExactlyInAnyOrder("node-1", "node-2", "node-3");
        assertThat(hosts)
                .allMatch(h -> h.state() == io.warden.runtime.Host.State.UP
                        && h.containers().size() <= 1);

        io.warden.runtime.Host later = runtime.addHost();
        io.warden.runtime.Container made = runtime.create(new io.warden.runtime.Runtime.ContainerSpec(
                java.util.Optional.of(later.id()), LocalDeployment.NODE_LIMITS, 512L << 20));
        assertThat(made.name()).isEqualTo("node-4");
        assertThat(made.host()).isEqualTo(later.id());
        assertThat(made.address()).isEqualTo(later.address());
        assertThat(made.state()).isEqualTo(io.warden.runtime.Container.State.STOPPED);
        assertThat(made.encrypted()).isTrue();
        assertThatThrownBy(() -> runtime.create(new io.warden.runtime.Runtime.ContainerSpec(
                        java.util.Optional.of(later.id()), LocalDeployment.NODE_LIMITS, 512L << 20)))
                .hasMessageContaining("two members never share a host");

        runtime.start("node-4");
        cluster.refreshState();
        assertThat(cluster.node("node-4").port()).isEqualTo(5432);
        cluster.awaitHealthy(Duration.ofSeconds(120));
        try (Connection c = cluster.connect(cluster.primary().name());
                Statement s = c.createStatement()) {
            s.execute("create table later_host(v text)");
            s.execute("insert into later_host values ('from the primary')");
        }
        await().atMost(Duration.ofSeconds(30))
                .ignoreExceptions()
                .untilAsserted(
                        () -> assertThat(cluster.queryColumn("node-4", "select v from later_host", r -> r.getString(1)))
                                .containsExactly("from the primary"));

        ResourceLimits smaller = new ResourceLimits(500, 768L << 20, 400);
        assertThat(runtime.resize("node-4", smaller).limits()).isEqualTo(smaller);
        assertThat(container("node-4").limits(Part.POSTGRES)).isEqualTo(smaller);

        runtime.drill(io.warden.runtime.Fault.ISOLATE, "node-4");
        assertThat(hostState(runtime, later.id())).isEqualTo(io.warden.runtime.Host.State.ISOLATED);
        runtime.drill(io.warden.runtime.Fault.HEAL, "node-4");
        runtime.drill(io.warden.runtime.Fault.FREEZE, "node-4");
        assertThat(hostState(runtime, later.id())).isEqualTo(io.warden.runtime.Host.State.FROZEN);
        runtime.drill(io.warden.runtime.Fault.THAW, "node-4");
        assertThat(hostState(runtime, later.id())).isEqualTo(io.warden.runtime.Host.State.UP);

        NodeHost node4 = cluster.node("node-4");
        runtime.remove("node-4");
        cluster.refreshState();
        assertThat(runtime.container("node-4")).isEmpty();
        assertThat(runtime.intents()).isEmpty();
        assertThat(runtime.hosts().stream()
                        .filter(h -> h.id().equals(later.id()))
                        .findFirst()
                        .orElseThrow()
                        .spare())
                .isTrue();
        assertThat(inNamespace(node4.netns())).isEmpty();
        assertThat(Path.of(node4.volume())).doesNotExist();
        assertThat(node4.nodeDir()).doesNotExist();
        assertThat(cluster.dir.resolve("keys/node-4.wrapped")).doesNotExist();
        assertThat(cluster.dir.resolve("tls/node-4")).doesNotExist();
        assertThat(Path.of("/sys/fs/cgroup/memory/warden/" + node4.container())).doesNotExist();
        cluster.awaitHealthy(Duration.ofSeconds(90));

        io.warden.runtime.Container next = runtime.create(new io.warden.runtime.Runtime.ContainerSpec(
                java.util.Optional.empty(), LocalDeployment.NODE_LIMITS, 256L << 20));
        assertThat(next.name()).isEqualTo("node-5");
        runtime.remove("node-5");
        cluster.refreshState();
        assertThat(runtime.containers())
                .extracting(io.warden.runtime.Container::name)
                .containsExactlyInAnyOrder("node-1", "node-2", "node-3");
    }

    /**
     * The primary's whole host paused for 10 s (the cgroup freezer, as a VM pause looks to the database): another
     * node is promoted; on thaw its watchdog, whose deadline passed while it was paused, fences postgres, and no
     * write is acknowledged by the old primary after the promotion: each acknowledgement names the server that
     * committed it (its own inet_server_addr()), and the promotion's time is the new primary's END_OF_RECOVERY record.
     * The old primary's agent is held (SIGSTOP, queued while frozen) until the evidence is read, so no rewind rewrites
     * the old WAL; then it rejoins as a replica.
     */
    @Test
    @Order(11)
    void aPrimaryWhoseHostIsFrozenIsReplacedAndAcknowledgesNothingAfterThePromotionOnceThawed() throws Exception {
        cluster.awaitHealthy(Duration.ofSeconds(90));
        io.warden.runtime.Runtime runtime = cluster.runtime();
        Member old = cluster.primary();
        NodeHost oldNode = cluster.node(old.name());
        String fromLsn;
        try (Connection c = cluster.connect(old.name());
                Statement s = c.createStatement()) {
            s.execute("create table frozen_probe(id bigint primary key)");
            var rs = s.executeQuery("select pg_current_wal_lsn()");
            rs.next();
            fromLsn = rs.getString(1);
        }
        long agent = LocalDeployment.supervisedAgentPid(oldNode);
        Member promoted;
        java.time.Instant frozenAt;
        WriteProbe probe = new WriteProbe("frozen_probe", 1, cluster::connectThroughRouters);
        try {
            await().atMost(Duration.ofSeconds(10)).until(() -> probe.acks().size() > 10);
            frozenAt = java.time.Instant.now();
            runtime.drill(io.warden.runtime.Fault.FREEZE, old.name());
            promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
            String newAddress = cluster.node(promoted.name()).host();
            await().atMost(Duration.ofSeconds(20))
                    .until(() -> probe.acks().stream().anyMatch(a -> a.server().equals(newAddress)));
            // The fault's length, not a wait for a condition: the host stays paused for 10 s in all.
            long left = Duration.ofSeconds(10)
                    .minus(Duration.between(frozenAt, java.time.Instant.now()))
                    .toMillis();
            if (left > 0) {
                Thread.sleep(left);
            }
            Processes.signal(agent, "STOP");
            runtime.drill(io.warden.runtime.Fault.THAW, old.name());
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> cluster.runningPostmaster(old.name()).isEmpty());
            int afterThaw = probe.acks().size();
            await().atMost(Duration.ofSeconds(10)).until(() -> probe.acks().size() > afterThaw + 20);
        } finally {
            probe.close();
            runtime.drill(io.warden.runtime.Fault.THAW, old.name());
        }
        try {
            java.time.Instant promotedAt =
                    WalEvidence.promotedAt(cluster.dataDir(promoted.name()), promoted.timeline());
            List<WriteProbe.Ack> late = probe.acks().stream()
                    .filter(a -> a.server().equals(oldNode.host()) && !a.at().isBefore(promotedAt))
                    .toList();
            long committedLate =
                    WalEvidence.read(cluster.dataDir(old.name()), old.timeline(), fromLsn).commits().stream()
                            .filter(c -> !c.at().isBefore(promotedAt))
                            .count();
            System.out.printf(
                    "host freeze: frozen at %s, %s promoted (END_OF_RECOVERY) at %s; %d acknowledged writes, %d by %s"
                            + " in all; %s's WAL has %d commits at or after the promotion (none acknowledged)%n",
                    frozenAt,
                    promoted.name(),
                    promotedAt,
                    probe.acks().size(),
                    probe.acks().stream()
                            .filter(a -> a.server().equals(oldNode.host()))
                            .count(),
                    old.name(),
                    old.name(),
                    committedLate);
            assertThat(probe.acks()).anyMatch(a -> a.server().equals(oldNode.host()));
            assertThat(late)
                    .as(
                            "writes %s acknowledged at or after %s's promotion at %s",
                            old.name(), promoted.name(), promotedAt)
                    .isEmpty();
        } finally {
            Processes.signal(agent, "CONT");
        }
        cluster.awaitHealthy(Duration.ofSeconds(120));
        assertThat(cluster.snapshot().members().get(old.name()).role()).isEqualTo(io.warden.cluster.Role.REPLICA);
    }

    private static io.warden.runtime.Host.State hostState(io.warden.runtime.Runtime runtime, String host) {
        return runtime.hosts().stream()
                .filter(h -> h.id().equals(host))
                .findFirst()
                .orElseThrow()
                .state();
    }

    private record CliRunResult(int exitCode, String text, String out) {}
}
