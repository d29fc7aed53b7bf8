package io.warden.controller.repair;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.LeaderKey;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.NodeTags;
import io.warden.cluster.Role;
import io.warden.cluster.SyncMode;
import io.warden.controller.repair.RepairDecider.Abnormality;
import io.warden.controller.repair.RepairDecider.Action;
import io.warden.controller.repair.RepairDecider.Memory;
import io.warden.controller.repair.RepairDecider.Outcome;
import io.warden.controller.repair.RepairDecider.Policy;
import io.warden.controller.repair.RepairDecider.View;
import io.warden.runtime.Container;
import io.warden.runtime.Host;
import io.warden.runtime.ResourceLimits;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The repair judgement, per condition, at the edge of its grace period, and under each rule that holds it back. */
class RepairDeciderTest {
    private static final Instant T0 = Instant.parse("2026-12-02T12:00:00Z");
    private static final Policy POLICY = Policy.DEFAULT;

    static Member member(String name, Role role, MemberState state, int postgresStarts) {
        return io.warden.controller.TestMembers.member(name, role, state, postgresStarts);
    }

    /** A healthy cluster: node-1 leads, node-2 and node-3 stream; each on host-N, all up. */
    private static final class World {
        final Map<String, Member> members = new java.util.LinkedHashMap<>(Map.of(
                "node-1", member("node-1", Role.PRIMARY, MemberState.RUNNING, 1),
                "node-2", member("node-2", Role.REPLICA, MemberState.STREAMING, 1),
                "node-3", member("node-3", Role.REPLICA, MemberState.STREAMING, 1)));
        final Map<String, Host.State> hosts = new java.util.LinkedHashMap<>(
                Map.of("node-1", Host.State.UP, "node-2", Host.State.UP, "node-3", Host.State.UP));
        final List<String> containersGone = new ArrayList<>();
        /** Out of the inventory altogether: what a repair's last step leaves of the node it replaced. */
        final List<String> removed = new ArrayList<>();

        DynamicConfig config = DynamicConfig.DEFAULTS;
        Optional<io.warden.cluster.SyncState> sync = Optional.empty();
        String leader = "node-1";
        Optional<String> repairOf = Optional.empty();
        Optional<Abnormality> repairFor = Optional.empty();

        View view() {
            ClusterSnapshot.Builder cluster = ClusterSnapshot.builder(1).leader(new LeaderKey(leader, 1, 1));
            members.values().forEach(cluster::member);
            cluster.config(config, 1);
            sync.ifPresent(cluster::sync);
            List<Container> containers = new ArrayList<>();
            List<Host> hostList = new ArrayList<>();
            List<String> nodes = new ArrayList<>(List.of("node-1", "node-2", "node-3"));
            nodes.removeAll(removed);
            for (String node : nodes) {
                String host = "host-" + node.charAt(node.length() - 1);
                hostList.add(new Host(host, "10.0.0.1", ResourceLimits.NONE, hosts.get(node), List.of(node)));
                if (!containersGone.contains(node)) {
                    containers.add(new Container(
                            node, host, "10.0.0.1", ResourceLimits.NONE, 0, false, Container.State.RUNNING, null));
                }
            }
            return new View(cluster.build(), nodes, containers, hostList, repairOf, false, repairFor);
        }
    }

    private Memory memory = Memory.EMPTY;

    private RepairDecider.Decision decideAt(World world, Duration after) {
        Outcome outcome = RepairDecider.decide(world.view(), memory, POLICY, T0.plus(after));
        memory = outcome.memory();
        return outcome.decision();
    }

    @Test
    void aHealthyClusterNeedsNothing() {
        var decision = decideAt(new World(), Duration.ZERO);

        assertThat(decision.action()).isEqualTo(Action.NONE);
        assertThat(decision.reason()).isEqualTo("every node is healthy");
    }

    @Test
    void aReplicasHostThatIsGoneIsReplacedOnceItsGracePeriodHasPassedAndNotBefore() {
        World world = new World();
        world.hosts.put("node-2", Host.State.DOWN);
        world.members.remove("node-2");

        assertThat(decideAt(world, Duration.ZERO).action()).isEqualTo(Action.NONE);
        var early = decideAt(world, POLICY.hostGone().minusMillis(1));
        assertThat(early.action()).isEqualTo(Action.NONE);
        assertThat(early.reason()).contains("node-2: host gone for 9 s (grace 10 s)");
        var due = decideAt(world, POLICY.hostGone());

        assertThat(due.action()).isEqualTo(Action.REPLACE);
        assertThat(due.node()).isEqualTo("node-2");
        assertThat(due.abnormality()).contains(Abnormality.HOST_GONE);
        assertThat(due.reason()).isEqualTo("node-2: host gone for 10 s: replacing it with a new node");
    }

    @Test
    void aContainerThatIsGoneCountsAsItsHostGone() {
        World world = new World();
        world.containersGone.add("node-3");
        decideAt(world, Duration.ZERO);

        assertThat(decideAt(world, POLICY.hostGone()).abnormality()).contains(Abnormality.HOST_GONE);
    }

    @Test
    void anAgentTheSupervisorBringsBackWithinItsGraceIsNotReplacedAndItsClockStartsOver() {
        World world = new World();
        Member node3 = world.members.remove("node-3");
        decideAt(world, Duration.ZERO);
        assertThat(decideAt(world, POLICY.agentUnreachable().minusSeconds(1)).action())
                .isEqualTo(Action.NONE);

        world.members.put("node-3", node3);
        assertThat(decideAt(world, POLICY.agentUnreachable()).action()).isEqualTo(Action.NONE);
        world.members.remove("node-3");
        assertThat(decideAt(world, POLICY.agentUnreachable().plusSeconds(1)).action())
                .as("unreachable again: a new grace period")
                .isEqualTo(Action.NONE);

        var due = decideAt(world, POLICY.agentUnreachable().multipliedBy(2).plusSeconds(1));
        assertThat(due.action()).isEqualTo(Action.REPLACE);
        assertThat(due.abnormality()).contains(Abnormality.AGENT_UNREACHABLE);
    }

    @Test
    void anIsolatedHostIsReplacedAfterItsOwnGrace() {
        World world = new World();
        world.hosts.put("node-2", Host.State.ISOLATED);
        decideAt(world, Duration.ZERO);

        assertThat(decideAt(world, POLICY.hostGone()).action()).isEqualTo(Action.NONE);
        var due = decideAt(world, POLICY.hostIsolated());
        assertThat(due.action()).isEqualTo(Action.REPLACE);
        assertThat(due.abnormality()).contains(Abnormality.HOST_ISOLATED);
    }

    @Test
    void postgresStartedAgainAndAgainWithinTheWindowIsACrashLoopAndSlowRestartsAreNot() {
        World world = new World();
        decideAt(world, Duration.ZERO);
        world.members.put("node-2", member("node-2", Role.REPLICA, MemberState.STREAMING, 3));
        assertThat(decideAt(world, Duration.ofSeconds(30)).action()).isEqualTo(Action.NONE);
        world.members.put("node-2", member("node-2", Role.REPLICA, MemberState.STREAMING, 4));

        var loop = decideAt(world, Duration.ofSeconds(40));

        assertThat(loop.action()).isEqualTo(Action.REPLACE);
        assertThat(loop.abnormality()).contains(Abnormality.CRASH_LOOP);

        memory = Memory.EMPTY;
        World slow = new World();
        decideAt(slow, Duration.ZERO);
        for (int start = 2; start <= 5; start++) {
            slow.members.put("node-2", member("node-2", Role.REPLICA, MemberState.STREAMING, start));
            assertThat(decideAt(slow, POLICY.crashLoopWindow().multipliedBy(start))
                            .action())
                    .as("one start per window")
                    .isEqualTo(Action.NONE);
        }
    }

    @Test
    void aReplicaThatDoesNotStreamWhileThePrimaryRunsIsReplacedAfterItsGrace() {
        World world = new World();
        world.members.put("node-3", member("node-3", Role.REPLICA, MemberState.IN_ARCHIVE_RECOVERY, 1));
        decideAt(world, Duration.ZERO);

        assertThat(decideAt(world, POLICY.replicationBroken().minusSeconds(1)).action())
                .isEqualTo(Action.NONE);
        var due = decideAt(world, POLICY.replicationBroken());
        assertThat(due.abnormality()).contains(Abnormality.REPLICATION_BROKEN);
        assertThat(due.action()).isEqualTo(Action.REPLACE);
    }

    @Test
    void aCloneIsGivenItsOwnLongerLimitBeforeItCountsAsStuck() {
        World world = new World();
        world.members.put("node-3", member("node-3", Role.UNKNOWN, MemberState.CLONING, 0));
        decideAt(world, Duration.ZERO);

        assertThat(decideAt(world, POLICY.startingLimit()).action()).isEqualTo(Action.NONE);
        var due = decideAt(world, POLICY.cloningLimit());
        assertThat(due.action()).isEqualTo(Action.REPLACE);
        assertThat(due.abnormality()).contains(Abnormality.STUCK);
    }

    @Test
    void thePrimaryIsNeverReplacedWhileItLeadsButOnceFailedOverItIs() {
        World world = new World();
        world.hosts.put("node-1", Host.State.DOWN);
        decideAt(world, Duration.ZERO);

        var held = decideAt(world, POLICY.hostGone());
        assertThat(held.action()).isEqualTo(Action.HOLD);
        assertThat(held.reason()).contains("holds the leader key");

        world.leader = "node-2";
        world.members.put("node-2", member("node-2", Role.PRIMARY, MemberState.RUNNING, 1));
        world.members.remove("node-1");
        var replaced = decideAt(world, POLICY.hostGone().plusSeconds(5));
        assertThat(replaced.action()).isEqualTo(Action.REPLACE);
        assertThat(replaced.node()).isEqualTo("node-1");
    }

    @Test
    void theLastHealthyCopyIsNeverLeftAloneToBeCloned() {
        World world = new World();
        world.hosts.put("node-2", Host.State.DOWN);
        world.members.remove("node-2");
        world.members.put("node-1", member("node-1", Role.PRIMARY, MemberState.STOPPED, 1));
        world.members.put("node-3", member("node-3", Role.REPLICA, MemberState.IN_ARCHIVE_RECOVERY, 1));
        decideAt(world, Duration.ZERO);

        var held = decideAt(world, POLICY.hostGone());
        assertThat(held.action()).isEqualTo(Action.HOLD);
        assertThat(held.reason()).contains("no other node is healthy");
    }

    @Test
    void noRepairWhilePausedDuringASwitchoverOrWhileAnotherRepairRuns() {
        World world = new World();
        world.hosts.put("node-2", Host.State.DOWN);
        world.config = DynamicConfig.DEFAULTS.withPause(true);
        decideAt(world, Duration.ZERO);
        assertThat(decideAt(world, POLICY.hostGone()).reason()).contains("paused");

        world.config = DynamicConfig.DEFAULTS;
        world.repairOf = Optional.of("node-2");
        var busy = decideAt(world, POLICY.hostGone().plusSeconds(1));
        assertThat(busy.action()).isEqualTo(Action.HOLD);
        assertThat(busy.reason()).contains("one repair at a time");
    }

    @Test
    void aNodeThatRecoversBeforeItsReplacementIsReadyCancelsTheRepair() {
        World world = new World();
        world.hosts.put("node-2", Host.State.DOWN);
        decideAt(world, Duration.ZERO);
        world.repairOf = Optional.of("node-2");

        world.hosts.put("node-2", Host.State.UP);
        var cancel = decideAt(world, Duration.ofSeconds(20));

        assertThat(cancel.action()).isEqualTo(Action.CANCEL);
        assertThat(cancel.node()).isEqualTo("node-2");
    }

    @Test
    void withAutomaticRepairOffANodeLongGoneIsHeldWithTheSwitchNamed() {
        World world = new World();
        world.hosts.put("node-2", Host.State.DOWN);
        DynamicConfig d = DynamicConfig.DEFAULTS;
        world.config = new DynamicConfig(
                d.maximumLagOnFailover(),
                d.synchronousMode(),
                d.synchronousNodeCount(),
                d.pause(),
                d.parameters(),
                d.allowedExtensions(),
                d.replicas(),
                d.repair(),
                false);
        decideAt(world, Duration.ZERO);

        var held = decideAt(world, Duration.ofMinutes(10));

        assertThat(held.action()).isEqualTo(Action.HOLD);
        assertThat(held.reason()).contains("auto_repair");
    }

    @Test
    void aNodeTheRepairAlreadyRemovedIsNotTakenForOneThatRecovered() {
        World world = new World();
        world.hosts.put("node-2", Host.State.DOWN);
        decideAt(world, Duration.ZERO);
        world.repairOf = Optional.of("node-2");

        world.removed.add("node-2");
        world.members.remove("node-2");
        var finishing = decideAt(world, Duration.ofSeconds(20));

        assertThat(finishing.action()).isEqualTo(Action.HOLD);
        assertThat(finishing.reason()).contains("replacing node-2");
    }

    @Test
    void repairsThatKeepFailingBackOffLongerEachTimeWithTheReasonShown() {
        World world = new World();
        world.hosts.put("node-2", Host.State.DOWN);
        decideAt(world, Duration.ZERO);
        Instant failed = T0.plus(POLICY.hostGone());
        memory = memory.repairBegan(failed).repairFailed(failed).repairFailed(failed);

        var held = decideAt(world, POLICY.hostGone().plus(POLICY.firstBackoff()));
        assertThat(held.action()).isEqualTo(Action.HOLD);
        assertThat(held.reason()).contains("2 repairs in a row failed: backing off until");

        var retried =
                decideAt(world, POLICY.hostGone().plus(POLICY.firstBackoff().multipliedBy(2)));
        assertThat(retried.action()).isEqualTo(Action.REPLACE);
    }

    @Test
    void atMostSoManyRepairsAnHour() {
        World world = new World();
        world.hosts.put("node-2", Host.State.DOWN);
        for (int i = 0; i < POLICY.maxRepairsPerHour(); i++) {
            memory = memory.repairBegan(T0.minus(Duration.ofMinutes(10 * i)));
        }
        decideAt(world, Duration.ZERO);

        var held = decideAt(world, POLICY.hostGone());
        assertThat(held.action()).isEqualTo(Action.HOLD);
        assertThat(held.reason()).contains("repairs in the last hour");

        assertThat(decideAt(world, Duration.ofMinutes(60)).action())
                .as("the oldest has aged out of the hour")
                .isEqualTo(Action.REPLACE);
    }

    /** {@code base} with another timeline and tags, as its agent would publish them. */
    static Member member(Member base, long timeline, NodeTags tags) {
        return published(base, timeline, tags, base.postgresStartedAt());
    }

    /** {@code m} as its agent publishes it: these fields as given, the rest as they were. */
    private static Member published(Member m, long timeline, NodeTags tags, String postgresStartedAt) {
        return new Member(
                m.name(),
                m.role(),
                m.state(),
                m.host(),
                m.port(),
                m.apiUrl(),
                timeline,
                m.lsn(),
                m.lagBytes(),
                tags,
                m.agentPid(),
                m.postgresPid(),
                m.instanceId(),
                m.dataDir(),
                m.pendingRestart(),
                m.agentStarts(),
                m.postgresStarts(),
                postgresStartedAt);
    }

    /** {@code m} with {@code failures} failed attempts to rejoin in its record, the last one saying {@code last}. */
    private static Member failedToRejoin(Member m, int failures, String last) {
        return new Member(
                m.name(),
                Role.UNKNOWN,
                MemberState.STOPPED,
                m.host(),
                m.port(),
                m.apiUrl(),
                m.timeline(),
                m.lsn(),
                m.lagBytes(),
                m.tags(),
                m.agentPid(),
                0,
                m.instanceId(),
                m.dataDir(),
                false,
                m.agentStarts(),
                m.postgresStarts(),
                m.postgresStartedAt(),
                failures,
                last,
                "");
    }

    @Test
    void aNodeWhoseRewindAndReClonesGoOnFailingCannotRejoinAndIsReplacedAfterItsGraceNamingTheLastFailure() {
        World world = new World();
        String last = "re-cloning from node-1 failed: pg_basebackup: error: certificate does not match private key";
        // Each cycle of its agent tries again and fails again: the count rises about once a second.
        int failures = 2;
        for (long second = 0; second < POLICY.cannotRejoin().toSeconds(); second++) {
            world.members.put("node-3", failedToRejoin(world.members.get("node-3"), failures++, last));
            var early = decideAt(world, Duration.ofSeconds(second));
            assertThat(early.action()).isEqualTo(Action.NONE);
        }
        assertThat(decideAt(world, POLICY.cannotRejoin().minusMillis(1)).reason())
                .contains("node-3: cannot rejoin the primary for 9 s (grace 10 s)");
        world.members.put("node-3", failedToRejoin(world.members.get("node-3"), failures, last));
        var due = decideAt(world, POLICY.cannotRejoin());

        assertThat(due.action()).isEqualTo(Action.REPLACE);
        assertThat(due.node()).isEqualTo("node-3");
        assertThat(due.abnormality()).contains(Abnormality.CANNOT_REJOIN);
        assertThat(due.reason())
                .isEqualTo("node-3: cannot rejoin the primary for 10 s (" + failures + " attempts failed, the last: "
                        + last + "): replacing it with a new node");
    }

    @Test
    void twoRefusedClonesFollowedByALongCloneThatHasNotFailedAreNotJudgedCannotRejoin() {
        World world = new World();
        // Refused twice while the primary had no pg_hba entry for it yet, then a clone of a large database runs.
        Member cloning = failedToRejoin(world.members.get("node-3"), 2, "cloning from node-1 failed: no pg_hba.conf");
        world.members.put("node-3", cloning);

        decideAt(world, Duration.ZERO);
        var later = decideAt(world, POLICY.cannotRejoin().multipliedBy(3));

        assertThat(later.action()).isEqualTo(Action.NONE);
        assertThat(memory.abnormal().get("node-3").abnormality()).isNotEqualTo(Abnormality.CANNOT_REJOIN);
    }

    @Test
    void oneFailedRewindIsNotYetCannotRejoinTheAgentStillHasTheReCloneToTry() {
        World world = new World();
        world.members.put(
                "node-3", failedToRejoin(world.members.get("node-3"), 1, "pg_rewind from node-1 failed: timeout"));

        decideAt(world, Duration.ZERO);
        var later = decideAt(world, POLICY.cannotRejoin());

        assertThat(later.action()).isEqualTo(Action.NONE);
        assertThat(memory.abnormal().get("node-3").abnormality()).isEqualTo(Abnormality.REPLICATION_BROKEN);
    }

    @Test
    void rejoinsThatFailWhileNoPrimaryRunsAreNotHeldAgainstTheNode() {
        World world = new World();
        world.members.put("node-1", member("node-1", Role.UNKNOWN, MemberState.STOPPED, 1));
        world.members.put(
                "node-3", failedToRejoin(world.members.get("node-3"), 5, "cloning from node-1 failed: refused"));

        decideAt(world, Duration.ZERO);
        decideAt(world, POLICY.cannotRejoin());

        assertThat(memory.abnormal()).doesNotContainKey("node-3");
    }

    @Test
    void aReplicaWhoseDataDirectoryIsUnusableIsReplacedAfterItsGraceNamingWhy() {
        World world = new World();
        Member base = failedToRejoin(world.members.get("node-2"), 0, "");
        world.members.put(
                "node-2",
                new Member(
                        base.name(),
                        base.role(),
                        base.state(),
                        base.host(),
                        base.port(),
                        base.apiUrl(),
                        base.timeline(),
                        base.lsn(),
                        base.lagBytes(),
                        base.tags(),
                        base.agentPid(),
                        base.postgresPid(),
                        base.instanceId(),
                        base.dataDir(),
                        false,
                        base.agentStarts(),
                        base.postgresStarts(),
                        base.postgresStartedAt(),
                        0,
                        "",
                        "its data directory cannot be written: Read-only file system"));

        decideAt(world, Duration.ZERO);
        assertThat(decideAt(world, POLICY.dataUnusable().minusMillis(1)).action())
                .isEqualTo(Action.NONE);
        var due = decideAt(world, POLICY.dataUnusable());

        assertThat(due.action()).isEqualTo(Action.REPLACE);
        assertThat(due.abnormality()).contains(Abnormality.DATA_UNUSABLE);
        assertThat(due.reason())
                .isEqualTo("node-2: data directory unusable for 10 s (its data directory cannot be written: Read-only"
                        + " file system): replacing it with a new node");
    }

    private static DynamicConfig synchronousMode(SyncMode mode) {
        DynamicConfig d = DynamicConfig.DEFAULTS;
        return new DynamicConfig(
                d.maximumLagOnFailover(),
                mode,
                d.synchronousNodeCount(),
                d.pause(),
                d.parameters(),
                d.allowedExtensions(),
                d.replicas(),
                d.repair(),
                d.autoRepair());
    }

    @Test
    void aReplicasReplacementGetsItsTagsAndItsVolumeIsDeleted() {
        World world = new World();
        NodeTags tags = new NodeTags(true, false, true, 0);
        world.members.put("node-3", member(world.members.get("node-3"), 1, tags));
        decideAt(world, Duration.ZERO);
        world.members.remove("node-3");
        world.hosts.put("node-3", Host.State.DOWN);
        decideAt(world, POLICY.hostGone());

        RepairDecider.Inheritance inherited = RepairDecider.inheritance("node-3", memory);

        assertThat(inherited.tags())
                .as("as last seen, though its record is gone")
                .isEqualTo(tags);
        assertThat(inherited.quarantine()).isEmpty();
    }

    @Test
    void aFormerPrimaryThatLedInAsynchronousModeHasItsVolumeQuarantined() {
        World world = new World();
        decideAt(world, Duration.ZERO);
        // node-1's host dies; node-2 is promoted on timeline 2.
        world.members.remove("node-1");
        world.hosts.put("node-1", Host.State.DOWN);
        world.leader = "node-2";
        world.members.put("node-2", member(member("node-2", Role.PRIMARY, MemberState.RUNNING, 1), 2, NodeTags.NONE));
        decideAt(world, Duration.ofSeconds(5));

        RepairDecider.Inheritance inherited = RepairDecider.inheritance("node-1", memory);

        assertThat(inherited.quarantine())
                .hasValueSatisfying(why -> assertThat(why).contains("led timeline 1 in asynchronous mode"));
    }

    @Test
    void aFormerPrimaryThatLedInSynchronousModeHoldsNothingTheClusterLacksAndIsDeleted() {
        World world = new World();
        world.config = synchronousMode(SyncMode.ON);
        world.sync = Optional.of(new io.warden.cluster.SyncState("node-1", List.of("node-2")));
        decideAt(world, Duration.ZERO);
        world.members.remove("node-1");
        world.hosts.put("node-1", Host.State.DOWN);
        decideAt(world, Duration.ofSeconds(5));

        assertThat(RepairDecider.inheritance("node-1", memory).quarantine()).isEmpty();
    }

    @Test
    void aFormerAsynchronousPrimaryRepublishedAsAStoppedReplicaIsStillQuarantinedUntilItStreamsOnALaterTimeline() {
        World world = new World();
        decideAt(world, Duration.ZERO);
        world.leader = "node-2";
        world.members.put("node-2", member(member("node-2", Role.PRIMARY, MemberState.RUNNING, 1), 2, NodeTags.NONE));
        // Its agent came back after a crash and publishes it as a stopped replica of the old timeline.
        world.members.put("node-1", member("node-1", Role.REPLICA, MemberState.STOPPED, 2));
        decideAt(world, Duration.ofSeconds(1));
        assertThat(RepairDecider.inheritance("node-1", memory).quarantine())
                .as("still the holder of what it led alone")
                .isPresent();

        world.members.put("node-1", member(member("node-1", Role.REPLICA, MemberState.STREAMING, 2), 2, NodeTags.NONE));
        decideAt(world, Duration.ofSeconds(2));

        assertThat(RepairDecider.inheritance("node-1", memory).quarantine())
                .as("rejoined on timeline 2: nothing of its own is left on it")
                .isEmpty();
    }

    @Test
    void aNodeTheControllerNeverSawIsQuarantinedBecauseNothingSaysItDidNotLead() {
        assertThat(RepairDecider.inheritance("node-9", Memory.EMPTY).quarantine())
                .hasValueSatisfying(why -> assertThat(why).contains("unknown"));
    }

    @Test
    void aCrashLoopingNodeThatLooksHealthyBetweenTwoCrashesDoesNotCancelItsRepair() {
        World world = new World();
        world.repairOf = Optional.of("node-2");
        world.repairFor = Optional.of(Abnormality.CRASH_LOOP);
        Member between = member("node-2", Role.REPLICA, MemberState.STREAMING, 9);
        world.members.put("node-2", started(between, T0.minusSeconds(5)));

        var decision = decideAt(world, Duration.ZERO);

        assertThat(decision.action()).isEqualTo(Action.HOLD);
    }

    @Test
    void aCrashLoopingNodeThatStayedUpForAWholeWindowCancelsItsRepair() {
        World world = new World();
        world.repairOf = Optional.of("node-2");
        world.repairFor = Optional.of(Abnormality.CRASH_LOOP);
        Member between = member("node-2", Role.REPLICA, MemberState.STREAMING, 9);
        world.members.put("node-2", started(between, T0.minus(POLICY.crashLoopWindow())));

        var decision = decideAt(world, Duration.ZERO);

        assertThat(decision.action()).isEqualTo(Action.CANCEL);
    }

    private static Member started(Member m, Instant at) {
        return published(m, m.timeline(), m.tags(), at.toString());
    }

    @Test
    void aPrimaryInSynchronousModeOnWithNoStandbyLeftCommittedAloneAndIsQuarantined() {
        World world = new World();
        world.config = synchronousMode(SyncMode.ON);
        // Mode on, its one standby gone: it commits alone, and those commits are on it alone.
        world.sync = Optional.of(new io.warden.cluster.SyncState("node-1", List.of()));
        decideAt(world, Duration.ZERO);
        world.members.remove("node-1");
        world.hosts.put("node-1", Host.State.DOWN);
        decideAt(world, Duration.ofSeconds(5));

        assertThat(RepairDecider.inheritance("node-1", memory).quarantine()).isPresent();
    }
}
