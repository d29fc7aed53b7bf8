package io.warden.controller.repair;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.common.FakeClock;
import io.warden.common.Json;
import io.warden.controller.ControlEvent;
import io.warden.controller.MemoryControlStore;
import io.warden.dcs.FakeDcs;
import io.warden.runtime.Container;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.Fault;
import io.warden.runtime.Host;
import io.warden.runtime.QuarantinedVolume;
import io.warden.runtime.ResourceLimits;
import io.warden.runtime.Runtime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The repair controller's steps on an in-memory control store and runtime, and the DCS fake: what a controller that
 * takes over finds and does, and that a controller whose epoch is over records nothing. The same steps against etcd
 * and the local runtime are {@code RepairIT}'s.
 */
class RepairControllerTest {
    private static final Instant T0 = Instant.parse("2026-12-02T12:00:00Z");

    private final FakeDcs dcs = new FakeDcs(new FakeClock());
    private final MemoryControlStore store = new MemoryControlStore();
    private final MemoryRuntime runtime = new MemoryRuntime();
    private final RepairController controller = new RepairController(dcs, store, runtime);

    RepairControllerTest() {
        long lease = dcs.grantLease(Duration.ofSeconds(60));
        dcs.acquireLeader("node-1", lease);
        for (Member member : List.of(
                RepairDeciderTest.member("node-1", Role.PRIMARY, MemberState.RUNNING, 1),
                RepairDeciderTest.member("node-2", Role.REPLICA, MemberState.STREAMING, 1),
                RepairDeciderTest.member("node-3", Role.REPLICA, MemberState.STREAMING, 1))) {
            // A lease of its own, as every agent has: removing one member's record must not take the others'.
            dcs.publishMember(member, member.name().equals("node-1") ? lease : dcs.grantLease(Duration.ofSeconds(60)));
            runtime.add(member.name(), Map.of());
        }
    }

    private long lead() {
        return store.acquireLeadership("controller-2", 1);
    }

    private RepairPlan planned(String id, long epoch, RepairPlan.Step step, String replacement) {
        return new RepairPlan(
                id,
                epoch,
                "node-3",
                RepairDecider.Abnormality.HOST_GONE,
                "node-3: host gone for 10 s",
                step,
                replacement,
                T0.toString(),
                T0.toString(),
                null,
                null);
    }

    @Test
    void eachStepOfALongRoundIsStampedWhenItWasDoneNotWhenTheRoundBegan() {
        io.warden.common.FakeClock clock = new io.warden.common.FakeClock();
        RepairController timed = new RepairController(dcs, store, runtime, java.util.Optional.of(clock));
        runtime.onCreate = () -> clock.advance(Duration.ofSeconds(7));
        runtime.hostDown("node-3");
        long epoch = lead();
        timed.round(epoch, T0);
        Instant due = T0.plus(RepairDecider.Policy.DEFAULT.hostGone());

        RepairController.Round round = timed.round(epoch, due);

        assertThat(round.plan().get().step()).isEqualTo(RepairPlan.Step.CLONING);
        assertThat(round.events())
                .filteredOn(e -> e.message().contains("replacing it with node-4"))
                .singleElement()
                .satisfies(e -> assertThat(e.at()).isEqualTo(due.plusSeconds(7).toString()));
        assertThat(round.events())
                .filteredOn(e -> e.kind().equals("decision"))
                .allSatisfy(e -> assertThat(e.at()).isEqualTo(due.toString()));
    }

    @Test
    void aReplacementMadeByAControllerThatDiedBeforeRecordingItIsAdoptedNotMadeTwice() {
        runtime.hostDown("node-3");
        long epoch = lead();
        store.put(epoch, RepairController.PLAN, Json.write(planned("r-1", epoch - 1, RepairPlan.Step.PLANNED, "")));
        // Made by the last leader, labelled with the plan's id; the plan still says PLANNED.
        runtime.add("node-4", Map.of(RepairController.REPAIR_LABEL, "r-1"));

        RepairController.Round round = controller.round(epoch, T0.plusSeconds(1));

        assertThat(round.plan()).isPresent();
        assertThat(round.plan().get().step())
                .as("adopted, then started: it clones")
                .isEqualTo(RepairPlan.Step.CLONING);
        assertThat(round.plan().get().replacement()).isEqualTo("node-4");
        assertThat(runtime.created).as("nothing new was made").isEmpty();
        assertThat(round.events().stream().map(ControlEvent::message)).anyMatch(m -> m.contains("adopted node-4"));
    }

    @Test
    void aContainerLabelledForARepairNoPlanHoldsIsRemovedWithItsMemberRecord() {
        long epoch = lead();
        runtime.add("node-4", Map.of(RepairController.REPAIR_LABEL, "r-rolled-back"));
        dcs.publishMember(
                RepairDeciderTest.member("node-4", Role.REPLICA, MemberState.CLONING, 1),
                dcs.grantLease(Duration.ofSeconds(60)));

        controller.round(epoch, T0);

        assertThat(runtime.names()).containsExactly("node-1", "node-2", "node-3");
        assertThat(dcs.read().members()).doesNotContainKey("node-4");
    }

    @Test
    void aControllerWhoseEpochIsOverRecordsNoStepAndMakesNothing() {
        runtime.hostDown("node-3");
        long old = lead();
        store.put(old, RepairController.PLAN, Json.write(planned("r-1", old, RepairPlan.Step.PLANNED, "")));
        // Its lease ran out while it was paused; another controller leads now.
        store.releaseLeadership(old);
        long successor = store.acquireLeadership("controller-1", 2);

        RepairController.Round round = controller.round(old, T0.plusSeconds(1));

        assertThat(successor).isGreaterThan(old);
        assertThat(round.plan().get().step())
                .as("the plan as the successor will find it")
                .isEqualTo(RepairPlan.Step.PLANNED);
        assertThat(runtime.created)
                .as("a controller that no longer leads makes no container")
                .isEmpty();
    }

    @Test
    void aRepairRecordsEveryStepFromPlannedToRemovedWaitsOnlyForTheCloneAndLeavesNothingOfTheOldNode() {
        runtime.hostDown("node-3");
        long epoch = lead();
        Instant now = T0;
        controller.round(epoch, now);
        now = now.plus(RepairDecider.Policy.DEFAULT.hostGone());
        RepairController.Round planned = controller.round(epoch, now);
        assertThat(planned.plan().get().step())
                .as("planned, made and started in one round; then it waits for the clone")
                .isEqualTo(RepairPlan.Step.CLONING);
        assertThat(runtime.created).containsExactly("node-4");
        assertThat(controller.round(epoch, now.plusSeconds(1)).plan().get().step())
                .as("not streaming yet: it waits")
                .isEqualTo(RepairPlan.Step.CLONING);
        dcs.publishMember(
                RepairDeciderTest.member("node-4", Role.REPLICA, MemberState.STREAMING, 1),
                dcs.grantLease(Duration.ofSeconds(60)));
        RepairController.Round last = controller.round(epoch, now.plusSeconds(2));

        assertThat(last.plan()).isEmpty();
        List<String> steps = new ArrayList<>();
        planned.events().forEach(e -> steps.add(e.message()));
        last.events().forEach(e -> steps.add(e.message()));
        assertThat(steps)
                .as("each step recorded in order")
                .filteredOn(m -> m.contains("planned its replacement")
                        || m.contains("replacing it with node-4")
                        || m.contains("node-4 started")
                        || m.contains("node-4 streaming")
                        || m.contains("node-3 detached")
                        || m.contains("node-3 removed")
                        || m.contains("replaced by node-4"))
                .hasSize(7);
        assertThat(dcs.read().members()).doesNotContainKey("node-3");
        assertThat(runtime.names()).doesNotContain("node-3");
        assertThat(runtime.container("node-4").orElseThrow().labels())
                .containsEntry(RepairController.REPLACED_LABEL, "node-3")
                .doesNotContainKey(RepairController.REPAIR_LABEL);
        assertThat(last.events().stream().map(ControlEvent::kind)).contains("done");
        assertThat(controller.repairsDone()).isEqualTo(1);
    }

    @Test
    void aReplacementThatDoesNotStreamWithinTheCloningLimitIsRemovedAndTheOldNodeIsLeftAlone() {
        runtime.hostDown("node-3");
        long epoch = lead();
        Instant now = T0;
        controller.round(epoch, now);
        now = now.plus(RepairDecider.Policy.DEFAULT.hostGone());
        controller.round(epoch, now);
        controller.round(epoch, now.plusSeconds(1));
        controller.round(epoch, now.plusSeconds(2));

        RepairController.Round failed =
                controller.round(epoch, now.plusSeconds(2).plus(RepairDecider.Policy.DEFAULT.cloningLimit()));

        assertThat(failed.plan()).isEmpty();
        assertThat(runtime.names()).containsExactly("node-1", "node-2", "node-3");
        assertThat(failed.events().stream().map(ControlEvent::kind)).contains("failure", "cancel");
        assertThat(controller.repairsFailed()).isEqualTo(1);
    }

    /** Runs rounds one second apart from {@code from} until a repair is done; returns the time after. */
    private Instant repairToTheEnd(long epoch, Instant from) {
        Instant now = from;
        for (int i = 0; i < 40; i++) {
            RepairController.Round round = controller.round(epoch, now);
            now = now.plusSeconds(1);
            round.plan()
                    .filter(p -> p.step() == RepairPlan.Step.CLONING
                            && !p.replacement().isEmpty())
                    .ifPresent(p -> dcs.publishMember(
                            RepairDeciderTest.member(p.replacement(), Role.REPLICA, MemberState.STREAMING, 1),
                            dcs.grantLease(Duration.ofSeconds(60))));
            if (round.events().stream().anyMatch(e -> e.kind().equals("done"))) {
                return now;
            }
        }
        throw new AssertionError(
                "the repair did not end in 40 rounds: " + store.read().text(RepairController.PLAN));
    }

    @Test
    void aReplacementIsMadeWithTheTagsTheNodeItReplacesHadAndTheReplicasVolumeIsDeleted() {
        io.warden.cluster.NodeTags tags = new io.warden.cluster.NodeTags(true, true, false, 0);
        dcs.publishMember(
                RepairDeciderTest.member(
                        RepairDeciderTest.member("node-3", Role.REPLICA, MemberState.STREAMING, 1), 1, tags),
                dcs.grantLease(Duration.ofSeconds(60)));
        long epoch = lead();
        controller.round(epoch, T0);
        runtime.hostDown("node-3");
        dcs.removeMember("node-3");

        repairToTheEnd(epoch, T0.plus(RepairDecider.Policy.DEFAULT.hostGone()));

        assertThat(runtime.tags).containsEntry("node-4", tags);
        assertThat(runtime.quarantined())
                .as("a replica holds nothing of its own")
                .isEmpty();
        assertThat(runtime.names()).doesNotContain("node-3");
    }

    @Test
    void aFormerPrimaryThatLedAsynchronouslyIsRemovedWithItsVolumeQuarantinedUntilItsTimeIsOverThenDeleted() {
        // node-3 led (asynchronously) when the controller last saw it; node-1 leads now.
        dcs.publishMember(
                RepairDeciderTest.member("node-3", Role.PRIMARY, MemberState.RUNNING, 1),
                dcs.grantLease(Duration.ofSeconds(60)));
        long epoch = lead();
        controller.round(epoch, T0);
        runtime.hostDown("node-3");
        dcs.removeMember("node-3");

        Instant end = repairToTheEnd(epoch, T0.plus(RepairDecider.Policy.DEFAULT.hostGone()));

        assertThat(runtime.names()).doesNotContain("node-3").contains("node-4");
        assertThat(runtime.quarantined()).singleElement().satisfies(kept -> {
            assertThat(kept.node()).isEqualTo("node-3");
            assertThat(kept.reason()).contains("asynchronous mode");
            assertThat(Instant.parse(kept.until())).isAfter(end.plus(Duration.ofDays(6)));
        });
        controller.round(epoch, end.plus(Duration.ofDays(1)));
        assertThat(runtime.quarantined()).as("kept for the configured time").hasSize(1);

        RepairController.Round expired = controller.round(epoch, end.plus(Duration.ofDays(8)));

        assertThat(runtime.quarantined()).isEmpty();
        assertThat(expired.events().stream().map(ControlEvent::message))
                .anyMatch(m -> m.contains("deleted node-3's quarantined volume"));
    }

    private void setPause(boolean paused) {
        ClusterSnapshot now = dcs.read();
        assertThat(dcs.compareAndSetConfig(now.configRevision(), now.config().withPause(paused)))
                .isTrue();
    }

    /** Rounds one second apart from {@code from} until the plan reaches {@code step}; returns the time after. */
    private Instant until(long epoch, Instant from, RepairPlan.Step step) {
        Instant now = from;
        for (int i = 0; i < 40; i++) {
            RepairController.Round round = controller.round(epoch, now);
            now = now.plusSeconds(1);
            if (round.plan().map(p -> p.step() == step).orElse(false)) {
                return now;
            }
        }
        throw new AssertionError("no " + step + " in 40 rounds");
    }

    @Test
    void aRepairWhoseOldNodeIsUntouchedIsCalledOffWhenTheClusterIsPausedAndItsReplacementRemoved() {
        runtime.hostDown("node-3");
        long epoch = lead();
        controller.round(epoch, T0);
        Instant now = until(epoch, T0.plus(RepairDecider.Policy.DEFAULT.hostGone()), RepairPlan.Step.CLONING);
        assertThat(runtime.names()).contains("node-4");

        setPause(true);
        RepairController.Round paused = controller.round(epoch, now);

        assertThat(paused.plan()).isEmpty();
        assertThat(runtime.names()).containsExactly("node-1", "node-2", "node-3");
        assertThat(paused.events().stream().map(ControlEvent::message))
                .anyMatch(m -> m.contains("cancelled: the cluster is paused"));
    }

    @Test
    void aRepairPastStreamingWaitsWhilePausedAndFinishesOnceResumed() {
        runtime.hostDown("node-3");
        long epoch = lead();
        controller.round(epoch, T0);
        Instant now = until(epoch, T0.plus(RepairDecider.Policy.DEFAULT.hostGone()), RepairPlan.Step.CLONING);
        // The primary has yet to take node-3 out of its synchronous set: the detach waits at STREAMING.
        assertThat(dcs.publishSync("node-1", Optional.of(new io.warden.cluster.SyncState("node-1", List.of("node-3")))))
                .isTrue();
        dcs.publishMember(
                RepairDeciderTest.member("node-4", Role.REPLICA, MemberState.STREAMING, 1),
                dcs.grantLease(Duration.ofSeconds(60)));
        now = until(epoch, now, RepairPlan.Step.STREAMING);

        setPause(true);
        for (int i = 0; i < 5; i++) {
            assertThat(controller
                            .round(epoch, now.plusSeconds(i))
                            .plan()
                            .orElseThrow()
                            .step())
                    .isEqualTo(RepairPlan.Step.STREAMING);
        }
        assertThat(dcs.read().sync().orElseThrow().standbys()).containsExactly("node-3");
        setPause(false);
        assertThat(dcs.publishSync("node-1", Optional.of(new io.warden.cluster.SyncState("node-1", List.of("node-4")))))
                .isTrue();

        repairToTheEnd(epoch, now.plusSeconds(10));
        assertThat(runtime.names()).containsExactly("node-1", "node-2", "node-4");
    }

    @Test
    void theOldNodeIsNotDetachedWhileItHoldsTheLeaderKey() {
        runtime.hostDown("node-3");
        long epoch = lead();
        controller.round(epoch, T0);
        Instant now = until(epoch, T0.plus(RepairDecider.Policy.DEFAULT.hostGone()), RepairPlan.Step.CLONING);
        // node-3 won an election in the meantime.
        dcs.releaseLeader("node-1", dcs.read().leader().orElseThrow().leaseId());
        assertThat(dcs.acquireLeader("node-3", dcs.grantLease(Duration.ofSeconds(60))))
                .isTrue();
        dcs.publishMember(
                RepairDeciderTest.member("node-4", Role.REPLICA, MemberState.STREAMING, 1),
                dcs.grantLease(Duration.ofSeconds(60)));

        RepairController.Round held = controller.round(epoch, now);

        assertThat(held.plan().orElseThrow().step()).isEqualTo(RepairPlan.Step.STREAMING);
        assertThat(dcs.read().leader().orElseThrow().name()).isEqualTo("node-3");
        assertThat(held.events().stream().map(ControlEvent::message))
                .anyMatch(m -> m.contains("holds the leader key now"));
    }

    @Test
    void aControllerThatStalledAfterItsRoundBeganLeavesTheReplacementItsSuccessorMadeAlone() {
        long stalled = lead();
        // While the stalled controller lists the containers, its lease runs out and controller-1 takes over,
        // plans a repair and makes its replacement.
        runtime.onContainers = () -> {
            runtime.onContainers = null;
            store.releaseLeadership(stalled);
            long successor = store.acquireLeadership("controller-1", 2);
            store.put(
                    successor,
                    RepairController.PLAN,
                    Json.write(planned("r-2", successor, RepairPlan.Step.CREATED, "node-4")));
            runtime.add("node-4", Map.of(RepairController.REPAIR_LABEL, "r-2"));
        };

        controller.round(stalled, T0);

        assertThat(runtime.names()).as("the successor's replacement stays").contains("node-4");
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(RepairPlan.Step.class)
    void aControllerThatTakesOverAtEachStepFinishesTheRepairWithOneReplacementAndNothingLeftOver(RepairPlan.Step step) {
        runtime.hostDown("node-3");
        long epoch = lead();
        // What the last leader (epoch - 1) left at this step: the plan, and what it had made and done by then.
        String made = step == RepairPlan.Step.PLANNED ? "" : "node-4";
        store.put(epoch, RepairController.PLAN, Json.write(planned("r-1", epoch - 1, step, made)));
        if (!made.isEmpty()) {
            runtime.add("node-4", Map.of(RepairController.REPAIR_LABEL, "r-1"));
        }
        if (step.compareTo(RepairPlan.Step.CLONING) >= 0) {
            dcs.publishMember(
                    RepairDeciderTest.member("node-4", Role.REPLICA, MemberState.STREAMING, 1),
                    dcs.grantLease(Duration.ofSeconds(60)));
        }
        if (step.compareTo(RepairPlan.Step.OLD_DETACHED) >= 0) {
            dcs.removeMember("node-3");
        }
        if (step == RepairPlan.Step.REMOVED) {
            runtime.remove("node-3");
        }

        repairToTheEnd(epoch, T0.plusSeconds(30));

        assertThat(runtime.names()).containsExactlyInAnyOrder("node-1", "node-2", "node-4");
        assertThat(runtime.created).as("no second replacement").hasSize(made.isEmpty() ? 1 : 0);
        assertThat(dcs.read().members()).doesNotContainKey("node-3");
        assertThat(runtime.container("node-4").orElseThrow().labels()).doesNotContainKey(RepairController.REPAIR_LABEL);
        assertThat(store.read().text(RepairController.PLAN)).isEmpty();
    }

    @Test
    void aNodeThatLedAsynchronouslyAfterItsRepairWasPlannedHasItsVolumeKeptAllTheSame() {
        runtime.hostDown("node-3");
        long epoch = lead();
        controller.round(epoch, T0);
        Instant now = until(epoch, T0.plus(RepairDecider.Policy.DEFAULT.hostGone()), RepairPlan.Step.CLONING);
        assertThat(store.read().text(RepairController.PLAN).orElseThrow())
                .as("planned as a replica's repair: nothing to keep")
                .contains("\"quarantine\":\"\"");
        // Between the plan and the detach it led, asynchronously (its record says so for a round), then was lost.
        dcs.publishMember(
                RepairDeciderTest.member("node-3", Role.PRIMARY, MemberState.RUNNING, 1),
                dcs.grantLease(Duration.ofSeconds(60)));
        controller.round(epoch, now);
        dcs.removeMember("node-3");

        repairToTheEnd(epoch, now.plusSeconds(1));

        assertThat(runtime.quarantined())
                .singleElement()
                .satisfies(kept -> assertThat(kept.node()).isEqualTo("node-3"));
    }

    /** The control keys in memory, with etcd's guard: a write holds only while the leader key has the writer's epoch. */
    /** Containers and hosts in memory: one host per container, made on demand, names never reused. */
    static final class MemoryRuntime implements Runtime {
        private final Map<String, Container> containers = new LinkedHashMap<>();
        private final Map<String, Host.State> hostStates = new LinkedHashMap<>();
        final List<String> created = new ArrayList<>();
        final Map<String, io.warden.cluster.NodeTags> tags = new LinkedHashMap<>();
        private final Map<String, QuarantinedVolume> quarantine = new LinkedHashMap<>();
        private int last;

        void add(String name, Map<String, String> labels) {
            last = Math.max(last, Integer.parseInt(name.substring(name.lastIndexOf('-') + 1)));
            containers.put(name, container(name, Container.State.RUNNING, labels));
            hostStates.put("host-" + name, Host.State.UP);
        }

        void hostDown(String name) {
            hostStates.put("host-" + name, Host.State.DOWN);
            containers.put(
                    name,
                    container(
                            name, Container.State.STOPPED, containers.get(name).labels()));
        }

        List<String> names() {
            return List.copyOf(containers.keySet());
        }

        private static Container container(String name, Container.State state, Map<String, String> labels) {
            return new Container(name, "host-" + name, "10.0.0.9", ResourceLimits.NONE, 1 << 20, false, state, labels);
        }

        @Override
        public List<Host> hosts() {
            return containers.keySet().stream()
                    .map(n -> new Host(
                            "host-" + n, "10.0.0.9", ResourceLimits.NONE, hostStates.get("host-" + n), List.of(n)))
                    .toList();
        }

        @Override
        public Host addHost() {
            throw new UnsupportedOperationException();
        }

        /** Runs (once set) when the containers are listed: what another controller did meanwhile. */
        Runnable onContainers;

        @Override
        public List<Container> containers() {
            if (onContainers != null) {
                onContainers.run();
            }
            return List.copyOf(containers.values());
        }

        @Override
        public Optional<Container> container(String name) {
            return Optional.ofNullable(containers.get(name));
        }

        /** Runs inside each create: a test makes creating take time with it. */
        Runnable onCreate = () -> {};

        @Override
        public Container create(ContainerSpec spec) {
            onCreate.run();
            String name = "node-" + (++last);
            created.add(name);
            tags.put(name, spec.tags());
            containers.put(name, container(name, Container.State.STOPPED, spec.labels()));
            hostStates.put("host-" + name, Host.State.UP);
            return containers.get(name);
        }

        @Override
        public Container start(String name) {
            containers.put(
                    name,
                    container(
                            name, Container.State.RUNNING, containers.get(name).labels()));
            return containers.get(name);
        }

        @Override
        public void stop(String name) {
            containers.put(
                    name,
                    container(
                            name, Container.State.STOPPED, containers.get(name).labels()));
        }

        @Override
        public Optional<VolumeUsage> volumeUsage(String name) {
            return Optional.empty();
        }

        @Override
        public VolumeGrowth growVolume(String name, long bytes) {
            throw new UnsupportedOperationException("repair never grows a volume");
        }

        @Override
        public Container resize(String name, ResourceLimits limits) {
            return containers.get(name);
        }

        @Override
        public Container label(String name, Map<String, String> labels) {
            containers.put(name, container(name, containers.get(name).state(), labels));
            return containers.get(name);
        }

        @Override
        public void remove(String name) {
            containers.remove(name);
            hostStates.remove("host-" + name);
        }

        @Override
        public QuarantinedVolume quarantine(String name, String reason, Instant until) {
            remove(name);
            QuarantinedVolume kept = new QuarantinedVolume(
                    name, "/q/" + name + ".img", 1 << 20, false, T0.toString(), until.toString(), reason);
            quarantine.put(name, kept);
            return kept;
        }

        @Override
        public List<QuarantinedVolume> quarantined() {
            return List.copyOf(quarantine.values());
        }

        @Override
        public void discard(String node) {
            quarantine.remove(node);
        }

        @Override
        public String drill(Fault fault, String name) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<DeploymentState.Intent> intents() {
            return List.of();
        }

        @Override
        public List<String> resolveIntents() {
            return List.of();
        }

        final List<Long> fences = new ArrayList<>();

        @Override
        public void fence(long epoch) {
            fences.add(epoch);
        }
    }
}
