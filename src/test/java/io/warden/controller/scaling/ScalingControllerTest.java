package io.warden.controller.scaling;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.cluster.ScalingSettings;
import io.warden.common.FakeClock;
import io.warden.common.Json;
import io.warden.controller.MemoryControlStore;
import io.warden.controller.TestMembers;
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
 * The scaling controller's steps on the DCS fake, an in-memory control store and a runtime whose volumes grow only
 * while stopped (as on these machines): the order it applies a step in, what a controller that takes over finds and
 * finishes, and what holds it back. The same steps against etcd and the local runtime are {@code ScalingIT}'s.
 */
class ScalingControllerTest {
    private static final Instant T0 = Instant.parse("2026-12-04T12:00:00Z");
    private static final long MIB = 1L << 20;

    private final FakeDcs dcs = new FakeDcs(new FakeClock());
    private final MemoryControlStore store = new MemoryControlStore();
    private final VolumeRuntime runtime = new VolumeRuntime();
    private final Map<String, Long> leases = new LinkedHashMap<>();
    private String leader = "node-1";

    ScalingControllerTest() {
        for (String name : List.of("node-1", "node-2", "node-3")) {
            leases.put(name, dcs.grantLease(Duration.ofSeconds(600)));
            runtime.add(name, 1024 * MIB, 1000, 1024 * MIB);
        }
        dcs.acquireLeader("node-1", leases.get("node-1"));
        publishMembers();
        // Units of 256 MiB: four are the 1 GiB volumes; memory 1:1 and a quarter core a unit match the limits.
        setScaling(Map.of(
                "unit_disk", "256MiB",
                "units", "4",
                "memory_ratio", "1:1",
                "unit_cpu", "250m",
                "cpu_min", "250m",
                "memory_min", "256MiB",
                "interval", "10s",
                "sample", "2s",
                "cooldown", "10s"));
    }

    private void publishMembers() {
        for (String name : leases.keySet()) {
            Member m = name.equals(leader)
                    ? TestMembers.member(name, Role.PRIMARY, MemberState.RUNNING, 1)
                    : TestMembers.member(name, Role.REPLICA, MemberState.STREAMING, 1);
            dcs.publishMember(m, leases.get(name));
        }
    }

    private void setScaling(Map<String, String> scaling) {
        ClusterSnapshot cluster = dcs.read();
        assertThat(dcs.compareAndSetConfig(
                        cluster.configRevision(), cluster.config().withScaling(scaling)))
                .isTrue();
    }

    /** What the agents would do meanwhile: a requested switchover happens. */
    private void agentsAct() {
        ClusterSnapshot cluster = dcs.read();
        if (cluster.switchover().isPresent()) {
            String candidate = cluster.switchover().get().candidate();
            dcs.releaseLeader(leader, leases.get(leader));
            leader = candidate;
            dcs.acquireLeader(leader, leases.get(leader));
            dcs.clearSwitchover(cluster.switchoverRevision());
            publishMembers();
        }
    }

    /** Rounds a second apart until no plan is recorded (or the limit), the agents acting between them. */
    private Instant roundsUntilDone(ScalingController controller, long epoch, Instant from, int limit) {
        Instant now = from;
        for (int i = 0; i < limit; i++) {
            controller.round(epoch, now);
            agentsAct();
            now = now.plusSeconds(1);
            if (i > 0 && store.read().text(ScalingController.PLAN).isEmpty()) {
                return now;
            }
        }
        throw new AssertionError("the plan was not done within " + limit + " rounds: "
                + store.read().text(ScalingController.PLAN).orElse("none") + "; actions " + runtime.actions);
    }

    @Test
    void aFullVolumeRaisesTheUnitsThenEveryLimitThenEachVolumeReplicasFirstAndThePrimaryAfterASwitchover() {
        runtime.fill(0.86);
        long epoch = store.acquireLeadership("controller-1", 1);
        ScalingController controller = new ScalingController(dcs, store, runtime);

        roundsUntilDone(controller, epoch, T0, 60);

        ScalingSettings settings = dcs.read().config().scalingSettings();
        assertThat(settings.units()).isEqualTo(5);
        assertThat(runtime.actions)
                .containsSubsequence(
                        "resize node-1",
                        "resize node-2",
                        "resize node-3",
                        "stop node-2",
                        "grow-offline node-2",
                        "start node-2",
                        "stop node-3",
                        "grow-offline node-3",
                        "start node-3",
                        "stop node-1",
                        "grow-offline node-1",
                        "start node-1");
        assertThat(leader).as("the primary was switched over before its stop").isNotEqualTo("node-1");
        assertThat(runtime.actions.indexOf("stop node-1"))
                .as("no member stopped before its predecessor was back")
                .isGreaterThan(runtime.actions.indexOf("start node-3"));
        for (Container c : runtime.containers()) {
            assertThat(c.volumeBytes()).isEqualTo(1280 * MIB);
            assertThat(c.limits()).isEqualTo(new ResourceLimits(1250, 1280 * MIB, 512));
            assertThat(c.state()).isEqualTo(Container.State.RUNNING);
        }
        List<String> events = io.warden.controller.EventLog.read(store.read()).stream()
                .map(e -> e.message())
                .toList();
        assertThat(events).anySatisfy(m -> assertThat(m).contains("units 4 → 5"));
        assertThat(events).anySatisfy(m -> assertThat(m).contains("scaled to 5 units"));
    }

    @Test
    void aControllerThatTakesOverWithAMemberStoppedHalfWayGrowsItStartsItAndGoesOn() {
        setScaling(Map.of("unit_disk", "256MiB", "units", "5", "memory_ratio", "1:1", "unit_cpu", "250m"));
        ScalingPlan halfWay = new ScalingPlan(
                "p1",
                1,
                4,
                5,
                "by hand",
                1280 * MIB,
                1280 * MIB,
                1250,
                ScalingPlan.Step.VOLUMES,
                "node-2",
                ScalingPlan.NodeStep.STOPPED,
                List.of(),
                T0.toString(),
                T0.toString(),
                false);
        long first = store.acquireLeadership("controller-1", 1);
        store.put(first, ScalingController.PLAN, Json.write(halfWay));
        runtime.stop("node-2");
        runtime.actions.clear();
        store.releaseLeadership(first);
        long second = store.acquireLeadership("controller-2", 2);

        roundsUntilDone(new ScalingController(dcs, store, runtime), second, T0.plusSeconds(30), 60);

        assertThat(runtime.actions.subList(0, 2)).containsExactly("grow-offline node-2", "start node-2");
        assertThat(runtime.containers())
                .allSatisfy(c -> assertThat(c.volumeBytes()).isEqualTo(1280 * MIB))
                .allSatisfy(c -> assertThat(c.state()).isEqualTo(Container.State.RUNNING));
    }

    @Test
    void unitsSetByHandBringEveryMemberUpToThemAndNeverDown() {
        setScaling(Map.of("unit_disk", "256MiB", "units", "6", "memory_ratio", "1:1", "unit_cpu", "250m"));
        long epoch = store.acquireLeadership("controller-1", 1);

        roundsUntilDone(new ScalingController(dcs, store, runtime), epoch, T0, 60);

        assertThat(runtime.containers())
                .allSatisfy(c -> assertThat(c.volumeBytes()).isEqualTo(1536 * MIB));

        setScaling(Map.of("unit_disk", "256MiB", "units", "2", "memory_ratio", "1:1", "unit_cpu", "250m"));
        runtime.actions.clear();
        ScalingController controller = new ScalingController(dcs, store, runtime);
        for (int i = 0; i < 10; i++) {
            controller.round(epoch, T0.plusSeconds(100 + i));
        }
        assertThat(runtime.actions)
                .as("fewer units set never shrink anything by themselves")
                .isEmpty();
    }

    @Test
    void noStepStartsWhileARepairIsUnderWayAndItSaysSo() {
        runtime.fill(0.97);
        long epoch = store.acquireLeadership("controller-1", 1);
        store.put(epoch, "repair", "{}");

        ScalingController.Round round = new ScalingController(dcs, store, runtime).round(epoch, T0);

        assertThat(round.decision().action()).isEqualTo(ScalingDecider.Action.HOLD);
        assertThat(round.decision().reason()).contains("a repair is under way");
        assertThat(round.plan()).isEmpty();
        assertThat(dcs.read().config().scalingSettings().units()).isEqualTo(4);
        assertThat(runtime.actions).isEmpty();
    }

    @Test
    void aControllerWhoseEpochIsOverActsOnNothing() {
        runtime.fill(0.97);
        long old = store.acquireLeadership("controller-1", 1);
        store.releaseLeadership(old);
        store.acquireLeadership("controller-2", 2);

        new ScalingController(dcs, store, runtime).round(old, T0);

        assertThat(runtime.actions).isEmpty();
        assertThat(dcs.read().config().scalingSettings().units()).isEqualTo(4);
    }

    @Test
    void anUnreadablePlanHoldsEveryStepUntilItIsDeleted() {
        long epoch = store.acquireLeadership("controller-1", 1);
        store.put(epoch, ScalingController.PLAN, "{not json");
        runtime.fill(0.97);

        ScalingController.Round round = new ScalingController(dcs, store, runtime).round(epoch, T0);

        assertThat(round.decision().reason()).contains("cannot be read");
        assertThat(runtime.actions).isEmpty();
        assertThat(dcs.read().config().scalingSettings().units()).isEqualTo(4);
    }

    /** Containers with volumes that, like these machines', grow only while stopped. */
    static final class VolumeRuntime implements Runtime {
        private final Map<String, Container> containers = new LinkedHashMap<>();
        private final Map<String, Long> filesystem = new LinkedHashMap<>();
        private final Map<String, Long> used = new LinkedHashMap<>();
        final List<String> actions = new ArrayList<>();

        void add(String name, long volume, long cpu, long memory) {
            containers.put(
                    name,
                    new Container(
                            name,
                            "host-" + name,
                            "10.0.0.9",
                            new ResourceLimits(cpu, memory, 512),
                            volume,
                            true,
                            Container.State.RUNNING,
                            Map.of()));
            filesystem.put(name, volume);
            used.put(name, 0L);
        }

        void fill(double share) {
            filesystem.forEach((name, bytes) -> used.put(name, Math.round(bytes * share)));
        }

        private void put(String name, Container.State state, ResourceLimits limits, long volume) {
            Container c = containers.get(name);
            containers.put(name, new Container(name, c.host(), c.address(), limits, volume, true, state, c.labels()));
        }

        @Override
        public List<Container> containers() {
            return List.copyOf(containers.values());
        }

        @Override
        public Optional<Container> container(String name) {
            return Optional.ofNullable(containers.get(name));
        }

        @Override
        public Optional<VolumeUsage> volumeUsage(String name) {
            Container c = containers.get(name);
            return Optional.of(new VolumeUsage(c.volumeBytes(), filesystem.get(name), used.get(name)));
        }

        @Override
        public VolumeGrowth growVolume(String name, long bytes) {
            Container c = containers.get(name);
            if (filesystem.get(name) >= bytes) {
                return new VolumeGrowth(VolumeGrowth.How.ALREADY, name + " has it");
            }
            if (c.state() == Container.State.RUNNING) {
                // The image is extended; the filesystem is not (as an online resize2fs refused leaves it).
                put(name, c.state(), c.limits(), bytes);
                return new VolumeGrowth(VolumeGrowth.How.NEEDS_STOP, "online growth is refused here");
            }
            actions.add("grow-offline " + name);
            put(name, c.state(), c.limits(), bytes);
            filesystem.put(name, bytes);
            return new VolumeGrowth(VolumeGrowth.How.OFFLINE, name + " grew offline");
        }

        @Override
        public Container resize(String name, ResourceLimits limits) {
            actions.add("resize " + name);
            Container c = containers.get(name);
            put(name, c.state(), limits, c.volumeBytes());
            return containers.get(name);
        }

        @Override
        public Container start(String name) {
            actions.add("start " + name);
            Container c = containers.get(name);
            put(name, Container.State.RUNNING, c.limits(), c.volumeBytes());
            return containers.get(name);
        }

        @Override
        public void stop(String name) {
            actions.add("stop " + name);
            Container c = containers.get(name);
            put(name, Container.State.STOPPED, c.limits(), c.volumeBytes());
        }

        @Override
        public List<Host> hosts() {
            return List.of();
        }

        @Override
        public Host addHost() {
            throw new UnsupportedOperationException("scaling adds no host");
        }

        @Override
        public Container create(ContainerSpec spec) {
            throw new UnsupportedOperationException("scaling up makes no container");
        }

        @Override
        public void remove(String name) {
            throw new UnsupportedOperationException("scaling up removes no container");
        }

        @Override
        public QuarantinedVolume quarantine(String name, String reason, Instant until) {
            throw new UnsupportedOperationException();
        }

        @Override
        public List<QuarantinedVolume> quarantined() {
            return List.of();
        }

        @Override
        public void discard(String node) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Container label(String name, Map<String, String> labels) {
            throw new UnsupportedOperationException();
        }

        @Override
        public String drill(Fault fault, String name) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void fence(long epoch) {}

        @Override
        public List<DeploymentState.Intent> intents() {
            return List.of();
        }

        @Override
        public List<String> resolveIntents() {
            return List.of();
        }
    }
}
