package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.NodeTags;
import io.warden.cluster.Role;
import io.warden.cluster.SyncMode;
import io.warden.common.Processes;
import io.warden.controller.ControlEvent;
import io.warden.controller.repair.RepairController;
import io.warden.runtime.Container;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.LocalDeployment;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The repair controller on the local runtime, as root (issue 18): a node made abnormal by the runtime's own fault
 * drills is replaced by a new node on another host, by the controllers {@code up} started, with no operator; the
 * cluster is back to one primary and two streaming replicas, and the replaced node is gone from the inventory, the
 * DCS, the primary's slots and the runtime. Grace periods are a few seconds here (set through edit-config, as an
 * operator would); the decisions at their edges are {@code RepairDeciderTest}'s.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(LogTailsOnFailure.class)
class RepairIT {
    @AutoClose
    private static TestCluster cluster;

    @BeforeAll
    static void start() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Processes.isRoot(), "hosts of their own need root");
        cluster = TestCluster.startRepairing("repair", 3, 11000, "netns");
    }

    @Test
    @Order(1)
    void graceZeroReplicasZeroAndAnUnknownConditionAreRefusedWithTheReasonAndTheConfigStaysAsItWas() {
        ClusterSnapshot before = cluster.snapshot();

        TestCluster.CliRun zeroGrace = cluster.warden("edit-config", "--set", "repair.host_gone=0s");
        TestCluster.CliRun negative = cluster.warden("edit-config", "--set", "repair.host_gone=-5s");
        TestCluster.CliRun noReplica = cluster.warden("edit-config", "--set", "replicas=0");
        TestCluster.CliRun unknown = cluster.warden("edit-config", "--set", "repair.disk_sad=5s");

        assertThat(zeroGrace.exitCode()).as(zeroGrace.toString()).isNotZero();
        assertThat(zeroGrace.out() + zeroGrace.err()).contains("repair.host_gone must be longer than 0");
        assertThat(negative.exitCode()).as(negative.toString()).isNotZero();
        assertThat(negative.out() + negative.err()).contains("repair.host_gone").contains("not a duration");
        assertThat(noReplica.exitCode()).as(noReplica.toString()).isNotZero();
        assertThat(noReplica.out() + noReplica.err()).contains("replicas 0 would leave the primary without a copy");
        assertThat(unknown.exitCode()).as(unknown.toString()).isNotZero();
        assertThat(unknown.out() + unknown.err())
                .contains("unknown setting 'disk_sad'")
                .contains("host_gone");
        ClusterSnapshot after = cluster.snapshot();
        assertThat(after.configRevision()).as("no refused change was written").isEqualTo(before.configRevision());
        assertThat(after.config()).isEqualTo(before.config());

        // What the rest of this class runs with: a lost host judged in 3 s, a silent agent in 4 s, and room for the
        // class's twelve repairs within the hour (six by default).
        TestCluster.CliRun set = cluster.warden(
                "edit-config",
                "--set",
                "repair.host_gone=3s",
                "--set",
                "repair.agent_unreachable=4s",
                "--set",
                "repair.host_isolated=4s",
                "--set",
                "repair.max_per_hour=20");
        assertThat(set.exitCode()).as(set.toString()).isZero();
        TestCluster.CliRun shown = cluster.warden("show-config");
        assertThat(shown.out()).contains("host_gone").contains("3s").contains("replicas");
    }

    @Test
    @Order(2)
    void aReplicasHostKilledIsReplacedByANewNodeOnASpareHostAndTheOldOneIsGoneEverywhere() throws Exception {
        String lost = cluster.replicaNames().getFirst();
        String primary = cluster.primary().name();
        long killedAt = System.nanoTime();

        cluster.killHost(lost);

        String replacement = awaitReplaced(lost, Duration.ofSeconds(90));
        System.out.printf(
                "%s replaced by %s %.1f s after its host was killed%n",
                lost, replacement, (System.nanoTime() - killedAt) / 1e9);
        assertGone(lost);
        assertThat(cluster.primary().name()).as("the primary was never touched").isEqualTo(primary);
        DeploymentState state = cluster.refreshState();
        assertThat(state.hostOf(replacement)).isPresent();
        assertThat(state.hostOf(replacement).get().id())
                .as("the replacement's host holds no other member")
                .isNotIn(state.nodes().stream()
                        .filter(n -> !n.name().equals(replacement))
                        .map(n -> state.hostOf(n.name()).orElseThrow().id())
                        .toList());
        List<String> kinds = eventsAbout(lost).stream().map(ControlEvent::kind).toList();
        assertThat(kinds).contains("decision", "step", "done");
    }

    @Test
    @Order(3)
    void thePrimarysHostKilledInSynchronousModeFailsOverThenIsRepairedWithNoAcknowledgedWriteLost() throws Exception {
        TestCluster.CliRun sync = cluster.warden("edit-config", "--set", "synchronous_mode=on");
        assertThat(sync.exitCode()).as(sync.toString()).isZero();
        await().atMost(Duration.ofSeconds(30))
                .ignoreExceptions()
                .until(() -> cluster.snapshot()
                        .sync()
                        .map(s -> !s.standbys().isEmpty())
                        .orElse(false));
        cluster.executeOnPrimary("create table if not exists probe (id bigint primary key)");
        String old = cluster.primary().name();

        List<Long> acked;
        String replacement;
        try (WriteProbe probe = new WriteProbe("probe", 1, cluster::connectThroughRouters)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> probe.acks().size() >= 10);
            cluster.killHost(old);
            cluster.awaitNewPrimary(old, Duration.ofSeconds(60));
            replacement = awaitReplaced(old, Duration.ofSeconds(120));
            int before = probe.acks().size();
            await().atMost(Duration.ofSeconds(30))
                    .untilAsserted(() -> assertThat(probe.acks().size())
                            .as("writes acknowledged through the routers after the repair; the probe's last errors: "
                                    + probe.failures().stream()
                                            .skip(Math.max(0, probe.failures().size() - 3))
                                            .map(Throwable::getMessage)
                                            .toList())
                            .isGreaterThanOrEqualTo(before + 5));
            probe.close();
            acked = probe.ackedIds();
        }
        assertGone(old);
        String primary = cluster.primary().name();
        cluster.refreshState();
        Set<Long> present = cluster.ids(primary, "probe");
        assertThat(acked.stream().filter(id -> !present.contains(id)).toList())
                .as("acknowledged writes missing on the new primary after the failover and the repair")
                .isEmpty();
        // The replacement cloned the data, the probe's rows included.
        await().atMost(Duration.ofSeconds(30))
                .ignoreExceptions()
                .until(() -> cluster.ids(replacement, "probe").containsAll(acked));
        assertThat(cluster.refreshState().quarantine())
                .as("it led in synchronous mode: its volume holds nothing the promoted standby lacks, and is deleted")
                .isEmpty();
        TestCluster.CliRun off = cluster.warden("edit-config", "--set", "synchronous_mode=off");
        assertThat(off.exitCode()).as(off.toString()).isZero();
    }

    @Test
    @Order(4)
    void theLeadingControllerKilledWhileItsReplacementClonesIsFinishedByTheStandbyWithNothingLeftOver()
            throws Exception {
        String lost = cluster.replicaNames().getFirst();
        String leader = cluster.control().leader().orElseThrow().holder();
        Set<String> nodesBefore = names();
        int eventsBefore = RepairController.events(cluster.control()).size();

        cluster.killHost(lost);
        await().atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> RepairController.plan(cluster.control())
                        .map(p -> p.node().equals(lost)
                                && p.step().compareTo(io.warden.controller.repair.RepairPlan.Step.CLONING) >= 0)
                        .orElse(false));
        long pid = LocalDeployment.controllerPid(cluster.dir, leader);
        assertThat(pid).isPositive();
        Processes.signal(pid, "KILL");

        String replacement = awaitReplaced(lost, Duration.ofSeconds(120));
        assertGone(lost);
        Set<String> added = new TreeSet<>(names());
        added.removeAll(nodesBefore);
        assertThat(added).as("exactly one replacement was made").containsExactly(replacement);
        assertThat(cluster.runtime().containers())
                .as("no container is left labelled for a repair")
                .allMatch(c -> !c.labels().containsKey(RepairController.REPAIR_LABEL));
        List<ControlEvent> since = RepairController.events(cluster.control()).stream()
                .skip(eventsBefore)
                .toList();
        assertThat(since.stream().filter(e -> e.kind().equals("leader")).map(ControlEvent::message))
                .as("a controller took over and went on with the repair under way")
                .anyMatch(m -> m.contains("going on with the repair of " + lost));
        // Its supervisor started the killed controller again.
        await().atMost(Duration.ofSeconds(30)).until(() -> LocalDeployment.controllerPid(cluster.dir, leader) > 0);
    }

    @Test
    @Order(5)
    void aNodeThatRecoversWhileItsReplacementIsBeingMadeCancelsTheRepairAndTheHalfMadeReplacementIsRemoved() {
        String paused = cluster.replicaNames().getFirst();
        Set<String> nodesBefore = names();

        cluster.freezeHost(paused);
        try {
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(100))
                    .until(() -> RepairController.plan(cluster.control())
                            .map(p ->
                                    p.node().equals(paused) && !p.replacement().isEmpty())
                            .orElse(false));
        } finally {
            cluster.thawHost(paused);
        }

        await().atMost(Duration.ofSeconds(60))
                .until(() -> eventsAbout(paused).stream()
                        .anyMatch(e -> e.kind().equals("cancel") && e.message().contains("cancelled")));
        await().atMost(Duration.ofSeconds(30)).until(() -> names().equals(nodesBefore));
        assertThat(cluster.runtime().container(paused)).isPresent();
        awaitThreeHealthy(Duration.ofSeconds(60));
        assertThat(cluster.snapshot().members().keySet()).containsExactlyInAnyOrderElementsOf(nodesBefore);
    }

    @Test
    @Order(6)
    void bothReplicasLostAtOnceAreReplacedOneAtATimeAndThePrimaryTheLastHealthyCopyIsNeverTouched() {
        List<String> lost = cluster.replicaNames();
        String primary = cluster.primary().name();
        int eventsBefore = RepairController.events(cluster.control()).size();

        lost.forEach(cluster::killHost);

        for (String node : lost) {
            awaitReplaced(node, Duration.ofSeconds(150));
        }
        lost.forEach(RepairIT::assertGone);
        assertThat(cluster.primary().name()).isEqualTo(primary);
        List<ControlEvent> since = RepairController.events(cluster.control()).stream()
                .skip(eventsBefore)
                .toList();
        // One at a time: the second plan comes after the first is done.
        List<Integer> planned = new ArrayList<>();
        List<Integer> done = new ArrayList<>();
        for (int i = 0; i < since.size(); i++) {
            ControlEvent e = since.get(i);
            if (e.kind().equals("step") && e.message().endsWith("planned its replacement")) {
                planned.add(i);
            } else if (e.kind().equals("done")) {
                done.add(i);
            }
        }
        assertThat(planned).as("two repairs were planned: " + since).hasSize(2);
        assertThat(done).as("two repairs finished: " + since).hasSize(2);
        assertThat(planned.get(1))
                .as("the second repair began after the first ended: " + since)
                .isGreaterThan(done.get(0));
        assertThat(planned.stream().map(i -> since.get(i).node()).toList())
                .as("only the lost replicas were planned for replacement")
                .containsExactlyInAnyOrderElementsOf(lost);
    }

    @Test
    @Order(7)
    void aReplacementIsMadeWithTheTagsOfTheNodeItReplaces() {
        String tagged = cluster.replicaNames().getFirst();
        NodeTags tags = new NodeTags(false, true, false, 3);
        // Retagging restarts the node, which the controllers must not take for a loss.
        assertThat(cluster.warden("edit-config", "--set", "auto_repair=false").exitCode())
                .isZero();
        cluster.reconfigureNode(tagged, "tags:\n  noloadbalance: true\n  failover_priority: 3");
        await().atMost(Duration.ofSeconds(60))
                .ignoreExceptions()
                .until(() -> cluster.snapshot().members().get(tagged).tags().equals(tags));
        awaitThreeHealthy(Duration.ofSeconds(60));
        assertThat(cluster.warden("edit-config", "--set", "auto_repair=true").exitCode())
                .isZero();

        cluster.killHost(tagged);

        String replacement = awaitReplaced(tagged, Duration.ofSeconds(120));
        assertThat(cluster.snapshot().members().get(replacement).tags()).isEqualTo(tags);
    }

    @Test
    @Order(8)
    void thePrimarysHostKilledInAsynchronousModeIsRepairedWithItsVolumeQuarantinedReadableAndRemovableByHand()
            throws Exception {
        assertThat(cluster.snapshot().config().synchronousMode()).isEqualTo(SyncMode.OFF);
        String old = cluster.primary().name();

        cluster.killHost(old);

        awaitReplaced(old, Duration.ofSeconds(120));
        DeploymentState state = cluster.refreshState();
        assertThat(state.node(old)).isEmpty();
        assertThat(state.quarantine()).singleElement().satisfies(kept -> {
            assertThat(kept.node()).isEqualTo(old);
            assertThat(java.nio.file.Path.of(kept.image())).exists();
            assertThat(kept.encrypted()).isTrue();
        });
        TestCluster.CliRun listed = cluster.warden("quarantine");
        assertThat(listed.out()).as(listed.toString()).contains(old).contains("asynchronous mode");
        assertThat(cluster.warden("list").out()).contains("quarantined: " + old);

        TestCluster.CliRun opened = cluster.warden("quarantine", "open", old);
        assertThat(opened.exitCode()).as(opened.toString()).isZero();
        java.nio.file.Path data = cluster.dir.resolve("quarantine").resolve(old).resolve("pgdata/data");
        assertThat(java.nio.file.Files.readString(data.resolve("PG_VERSION")).strip())
                .as("its data directory, unlocked with its kept key")
                .isEqualTo("15");
        assertThat(cluster.warden("quarantine", "close", old).exitCode()).isZero();
        TestCluster.CliRun removed = cluster.warden("quarantine", "remove", old);

        assertThat(removed.exitCode()).as(removed.toString()).isZero();
        assertThat(cluster.refreshState().quarantine()).isEmpty();
        assertThat(java.nio.file.Path.of(state.quarantine().getFirst().image())).doesNotExist();
        assertThat(cluster.dir.resolve("keys").resolve(old + ".wrapped")).doesNotExist();
        assertThat(cluster.warden("quarantine").out()).contains("no volume is quarantined");
    }

    @Test
    @Order(9)
    void aReplicaWhosePostgresKeepsCrashingIsReplacedAndItsRepairIsNotCancelledBetweenTwoCrashes() {
        String looping = cluster.replicaNames().getFirst();

        // Three postmaster starts within the crash-loop window (2 min) make a crash loop. Each crash waits for its
        // agent to start postgres again, after which the node looks healthy until the next one.
        for (int crash = 0;
                crash < 5 && RepairController.plan(cluster.control()).isEmpty();
                crash++) {
            long before = cluster.postmasterPid(looping);
            cluster.killPostmaster(looping);
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(200))
                    .ignoreExceptions()
                    .until(() -> RepairController.plan(cluster.control()).isPresent()
                            || (cluster.postmasterPid(looping) != before
                                    && cluster.snapshot().members().get(looping).isStreamingReplica()));
        }

        awaitReplaced(looping, Duration.ofSeconds(120));
        assertGone(looping);
        List<ControlEvent> about = eventsAbout(looping);
        assertThat(about.stream().map(ControlEvent::message))
                .as("judged a crash loop: " + about)
                .anyMatch(m -> m.contains("CRASH_LOOP"));
        assertThat(about.stream().map(ControlEvent::kind))
                .as("never cancelled, though it streamed between crashes: " + about)
                .doesNotContain("cancel");
    }

    /**
     * The primary's way back is broken first (its client certificates swapped, by the runtime's drill), then its host
     * is frozen until a replica has taken over, and thawed: it must rejoin the new primary, and its pg_rewind and the
     * re-clone after it are both refused. It publishes the failures, and repair replaces it; having led in
     * asynchronous mode, its volume is quarantined. (The agent_unreachable grace is lengthened meanwhile: the frozen
     * host must be judged only once it is back and cannot rejoin.)
     */
    @Test
    @Order(10)
    void aFormerPrimaryWhoseRewindAndReCloneBothFailIsReplacedAsUnableToRejoin() {
        String old = cluster.primary().name();
        assertThat(cluster.warden("edit-config", "--set", "repair.agent_unreachable=120s")
                        .exitCode())
                .isZero();
        try {
            TestCluster.CliRun broken = cluster.warden("fault", "break", old, "--rejoin");
            assertThat(broken.exitCode()).as(broken.toString()).isZero();
            assertThat(broken.out()).contains("broke " + old + "'s way back");

            cluster.freezeHost(old);
            try {
                cluster.awaitNewPrimary(old, Duration.ofSeconds(60));
            } finally {
                cluster.thawHost(old);
            }
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(250))
                    .ignoreExceptions()
                    .until(() -> cluster.snapshot().members().get(old).rejoinFailures() >= 2
                            || RepairController.plan(cluster.control()).isPresent());

            awaitReplaced(old, Duration.ofSeconds(120));
        } finally {
            cluster.warden("edit-config", "--set", "repair.agent_unreachable=4s");
        }
        assertGone(old);
        List<ControlEvent> about = eventsAbout(old);
        assertThat(about.stream().map(ControlEvent::message))
                .as("judged unable to rejoin, naming what failed: " + about)
                .anyMatch(m -> m.contains("cannot rejoin the primary") && m.contains("failed"));
        assertThat(cluster.refreshState().quarantine().stream().map(io.warden.runtime.QuarantinedVolume::node))
                .as("led in asynchronous mode: its volume is kept")
                .contains(old);
        assertThat(cluster.warden("quarantine", "remove", old).exitCode()).isZero();
    }

    /**
     * A replica's control file zeroed and its postgres killed (the runtime's drill): postgres would refuse to start
     * on it, so its agent does not try, and says why in its record; repair replaces it.
     */
    @Test
    @Order(10)
    void aReplicaWhoseDataDirectoryIsUnusableIsReplacedAndGoneEverywhere() {
        String broken = cluster.replicaNames().getFirst();

        TestCluster.CliRun done = cluster.warden("fault", "break", broken, "--data");
        assertThat(done.exitCode()).as(done.toString()).isZero();

        awaitReplaced(broken, Duration.ofSeconds(120));
        assertGone(broken);
        assertThat(eventsAbout(broken).stream().map(ControlEvent::message))
                .anyMatch(m -> m.contains("data directory unusable") && m.contains("pg_control"));
    }

    /**
     * Broken replication: a replica's replicator certificate no longer fits (the runtime's drill), so its walreceiver
     * is refused and it stops streaming while the primary runs. With the grace shortened from its 60 s, repair
     * replaces it.
     */
    @Test
    @Order(10)
    void aReplicaThatCanNoLongerStreamFromThePrimaryIsReplacedAfterTheReplicationBrokenGrace() {
        String cut = cluster.replicaNames().getFirst();
        assertThat(cluster.warden("edit-config", "--set", "repair.replication_broken=5s")
                        .exitCode())
                .isZero();
        try {
            TestCluster.CliRun broken = cluster.warden("fault", "break", cut, "--rejoin");
            assertThat(broken.exitCode()).as(broken.toString()).isZero();
            // A walreceiver that already streams keeps its session: only the next login shows the certificate, and
            // postgres starts a new walreceiver by itself.
            List<ProcessHandle> receivers = ProcessHandle.of(cluster.postmasterPid(cut))
                    .orElseThrow()
                    .children()
                    .filter(p -> processTitle(p.pid()).contains("walreceiver"))
                    .toList();
            assertThat(receivers).as(cut + "'s walreceiver").isNotEmpty();
            receivers.forEach(ProcessHandle::destroyForcibly);

            awaitReplaced(cut, Duration.ofSeconds(120));
        } finally {
            cluster.warden("edit-config", "--set", "repair.replication_broken=60s");
        }
        assertGone(cut);
        assertThat(eventsAbout(cut).stream().map(ControlEvent::message))
                .anyMatch(m -> m.contains("not streaming while the primary runs"));
    }

    @Test
    @Order(10)
    void aReplicasHostCutOffTheNetworkIsReplacedAndTheCutOffNodeIsGoneEverywhere() {
        String cut = cluster.replicaNames().getFirst();

        cluster.cutLink(cut);

        awaitReplaced(cut, Duration.ofSeconds(120));
        assertGone(cut);
        assertThat(eventsAbout(cut).stream().map(ControlEvent::message)).anyMatch(m -> m.contains("host isolated"));
    }

    @Test
    @Order(11)
    void aKeptDeploymentStartedAgainAfterRepairsComesBackWithTheNodesAndHostsItHadAndItsRows() throws Exception {
        try (Connection c = cluster.connectPrimary();
                Statement s = c.createStatement()) {
            s.execute("create table if not exists kept (x int)");
            s.execute("insert into kept values (7)");
        }
        DeploymentState before = cluster.refreshState();
        Set<String> nodes = names();
        assertThat(nodes).as("the earlier tests replaced nodes").isNotEqualTo(Set.of("node-1", "node-2", "node-3"));

        cluster.downAndUpAgain();

        awaitThreeHealthy(Duration.ofSeconds(90));
        assertThat(names())
                .as("the nodes the inventory had, not node-1..3 anew")
                .isEqualTo(nodes);
        DeploymentState after = cluster.refreshState();
        for (String node : nodes) {
            assertThat(after.hostOf(node).map(DeploymentState.HostRecord::id))
                    .as(node + "'s host")
                    .isEqualTo(before.hostOf(node).map(DeploymentState.HostRecord::id));
        }
        try (Connection c = cluster.connectPrimary();
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select count(*) from kept where x = 7")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt(1)).isEqualTo(1);
        }
    }

    /** Waits for the repair of {@code node} to finish and the cluster to be whole again; returns the replacement. */
    private static String awaitReplaced(String node, Duration timeout) {
        ControlEvent done;
        try {
            done = await().atMost(timeout)
                    .pollInterval(Duration.ofMillis(250))
                    .ignoreExceptions()
                    .until(
                            () -> eventsAbout(node).stream()
                                    .filter(e -> e.kind().equals("done"))
                                    .findFirst()
                                    .orElse(null),
                            e -> e != null);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            List<ControlEvent> all = RepairController.events(cluster.control());
            throw new AssertionError(
                    "no repair of " + node + " was done within " + timeout.toSeconds() + " s; the controllers' last"
                            + " events: " + all.subList(Math.max(0, all.size() - 12), all.size()),
                    e);
        }
        awaitThreeHealthy(timeout);
        String replacement = done.message().replaceAll(".* replaced by (\\S+) .*", "$1");
        assertThat(cluster.snapshot().members()).containsKey(replacement);
        return replacement;
    }

    /** One running primary and two streaming replicas, all three in the inventory. */
    private static void awaitThreeHealthy(Duration timeout) {
        await().atMost(timeout)
                .pollInterval(Duration.ofMillis(250))
                .ignoreExceptions()
                .until(() -> {
                    ClusterSnapshot snapshot = cluster.snapshot();
                    long primaries = snapshot.members().values().stream()
                            .filter(m -> m.role() == Role.PRIMARY && m.state() == MemberState.RUNNING)
                            .count();
                    long streaming = snapshot.members().values().stream()
                            .filter(Member::isStreamingReplica)
                            .count();
                    return primaries == 1
                            && streaming == 2
                            && snapshot.members().size() == 3
                            && names().size() == 3;
                });
    }

    /** The replaced node is in no inventory, member record, slot or runtime container. */
    private static void assertGone(String node) {
        DeploymentState state = cluster.refreshState();
        assertThat(state.node(node)).as(node + " in the inventory").isEmpty();
        assertThat(state.hostOf(node)).as("a host holding " + node).isEmpty();
        assertThat(cluster.snapshot().members()).as("member records").doesNotContainKey(node);
        assertThat(cluster.runtime().containers().stream().map(Container::name)).doesNotContain(node);
        assertThat(cluster.dir.resolve("nodes").resolve(node))
                .as(node + "'s directory")
                .doesNotExist();
        // A slot is dropped once it is inactive: the walsender of a node cut off the network ends only at
        // wal_sender_timeout (60 s), since nothing of the dead connection reaches the primary.
        await().atMost(Duration.ofSeconds(90))
                .ignoreExceptions()
                .untilAsserted(() -> assertThat(slots())
                        .as("the primary's replication slots")
                        .doesNotContain(node.replace('-', '_')));
        TestCluster.CliRun listed = cluster.warden("list");
        assertThat(listed.out()).doesNotContain(node + " ");
    }

    private static List<String> slots() throws SQLException {
        cluster.refreshState();
        List<String> slots = new ArrayList<>();
        try (Connection c = cluster.connectPrimary();
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select slot_name from pg_replication_slots")) {
            while (rs.next()) {
                slots.add(rs.getString(1));
            }
        }
        return slots;
    }

    /** What a process shows as its command line: postgres rewrites it to name each process's role. */
    private static String processTitle(long pid) {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc", Long.toString(pid), "cmdline"))
                    .replace('\0', ' ');
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static Set<String> names() {
        return new TreeSet<>(cluster.refreshState().nodes().stream()
                .map(DeploymentState.NodeHost::name)
                .toList());
    }

    private static List<ControlEvent> eventsAbout(String node) {
        return RepairController.events(cluster.control()).stream()
                .filter(e -> e.node().equals(node))
                .toList();
    }
}
