package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.MemoryParameters;
import io.warden.cluster.ScalingSettings;
import io.warden.common.Processes;
import io.warden.controller.ControlEvent;
import io.warden.controller.EventLog;
import io.warden.runtime.Container;
import io.warden.runtime.LocalDeployment;
import io.warden.runtime.local.ContainerCgroups;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The scaling controller on a real deployment (root: volumes and cgroups): filling the database past the threshold
 * adds units, and every member's volume, memory limit and CPU quota follow, through the rolling offline growth these
 * machines need, while a client writes through the router; emptying it again scales nothing down. Small units
 * (256 MiB) and a 10 s check keep the filling to a few hundred megabytes and the waits short; the rules at the real
 * hourly interval are {@code ScalingDeciderTest}'s.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(LogTailsOnFailure.class)
class ScalingIT {
    private static final long MIB = 1L << 20;

    @AutoClose
    private static TestCluster cluster;

    @BeforeAll
    static void start() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Processes.isRoot(), "volumes and cgroups need root");
        cluster = TestCluster.startRepairing("scaling", 3, 16000, "netns");
    }

    @Test
    @Order(1)
    void unitsAboveTheMaximumAZeroUnitAndAnUnknownSettingAreRefusedAndNothingChanges() {
        ClusterSnapshot before = cluster.snapshot();

        TestCluster.CliRun above = cluster.warden("edit-config", "--set", "scaling.units=17");
        TestCluster.CliRun zero = cluster.warden("edit-config", "--set", "scaling.unit_disk=0");
        TestCluster.CliRun unknown = cluster.warden("edit-config", "--set", "scaling.unit_ram=1GiB");

        assertThat(above.exitCode()).as(above.toString()).isNotZero();
        assertThat(above.out() + above.err()).contains("scaling.units 17 is outside min_units 1 to max_units 16");
        assertThat(zero.exitCode()).as(zero.toString()).isNotZero();
        assertThat(zero.out() + zero.err()).contains("scaling.unit_disk").contains("at least 16MiB");
        assertThat(unknown.exitCode()).as(unknown.toString()).isNotZero();
        assertThat(unknown.out() + unknown.err()).contains("unknown setting 'unit_ram'");
        ClusterSnapshot after = cluster.snapshot();
        assertThat(after.configRevision()).as("no refused change was written").isEqualTo(before.configRevision());
        assertThat(cluster.runtime().containers())
                .allSatisfy(c -> assertThat(c.volumeBytes()).isEqualTo(LocalDeployment.VOLUME_BYTES));
    }

    @Test
    @Order(2)
    void fillingPastTheThresholdAddsUnitsAndEveryMembersVolumeAndLimitsFollowWhileWritesGoOn() throws Exception {
        // 4 units of 256 MiB are the 1 GiB volumes up made; memory at 1:1 and a quarter core a unit match the limits
        // up gave (1 GiB, one core), so nothing changes until the disk runs short.
        TestCluster.CliRun set = cluster.warden(
                "edit-config",
                "--set",
                "scaling.unit_disk=256MiB",
                "--set",
                "scaling.units=4",
                "--set",
                "scaling.memory_ratio=1:1",
                "--set",
                "scaling.unit_cpu=250m",
                "--set",
                "scaling.cpu_min=250m",
                "--set",
                "scaling.memory_min=256MiB",
                "--set",
                "scaling.interval=10s",
                "--set",
                "scaling.sample=2s",
                "--set",
                "scaling.cooldown=10s");
        assertThat(set.exitCode()).as(set.toString()).isZero();
        TestCluster.CliRun shown = cluster.warden("show-config");
        assertThat(shown.out()).contains("unit_disk").contains("256MiB");

        String firstPrimary = cluster.primary().name();
        int leadersBefore = cluster.snapshot().history().size();
        cluster.executeOnPrimary("create table if not exists probe (id bigint primary key)");
        cluster.executeOnPrimary("create table filler (id bigint, pad text)");
        cluster.executeOnPrimary("alter table filler alter column pad set storage plain");
        List<Long> acked;
        List<ControlEvent> events;
        try (WriteProbe probe = new WriteProbe("probe", 1, cluster::connectThroughRouters)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> probe.acks().size() >= 10);
            long batch = 0;
            while (fullestUsedShare() < 0.83) {
                try (Connection c = cluster.connectThroughRouters();
                        Statement s = c.createStatement()) {
                    // About 16 MiB a batch, incompressible enough to take its room on every member.
                    s.execute("insert into filler select g, repeat(md5((g + " + batch
                            + ")::text), 60) from generate_series(1, 8000) g");
                    s.execute("checkpoint");
                }
                batch += 8000;
                assertThat(batch).as("the volumes fill within 2 GB of rows").isLessThan(1_000_000);
            }
            System.out.printf("filled to %.0f %% used; waiting for the units to grow%n", 100 * fullestUsedShare());
            long filledAt = System.nanoTime();

            await().atMost(Duration.ofMinutes(4))
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> cluster.snapshot().config().scalingSettings().units() >= 5
                            && cluster.control().text("scaling").isEmpty());
            System.out.printf(
                    "units %d and every member resized %.1f s after the volumes crossed the threshold%n",
                    cluster.snapshot().config().scalingSettings().units(), (System.nanoTime() - filledAt) / 1e9);
            cluster.awaitHealthy(Duration.ofSeconds(90));
            int before = probe.acks().size();
            await().atMost(Duration.ofSeconds(30)).until(() -> probe.acks().size() >= before + 10);
            acked = probe.ackedIds();
            events = EventLog.read(cluster.control());
        }

        events.stream()
                .filter(e -> !e.kind().equals("leader"))
                .forEach(e -> System.out.println("  " + e.at() + " " + e.kind() + " " + e.message()));
        ScalingSettings settings = cluster.snapshot().config().scalingSettings();
        int units = settings.units();
        for (Container c : cluster.runtime().containers()) {
            var usage = cluster.runtime().volumeUsage(c.name()).orElseThrow();
            assertThat(c.volumeBytes()).as(c.name() + "'s image").isEqualTo(settings.disk(units));
            assertThat(usage.totalBytes())
                    .as(c.name() + "'s filesystem as df sees it")
                    .isGreaterThan(LocalDeployment.VOLUME_BYTES);
            assertThat(1 - (double) usage.usedBytes() / usage.totalBytes())
                    .as(c.name() + "'s free share after the step")
                    .isGreaterThanOrEqualTo(0.2);
            ContainerCgroups groups =
                    LocalDeployment.containerOf(cluster.node(c.name())).orElseThrow();
            var limits = groups.limits(ContainerCgroups.Part.POSTGRES);
            assertThat(limits.memoryBytes()).as(c.name() + "'s memory limit").isEqualTo(settings.memory(units));
            assertThat(limits.cpuMillis()).as(c.name() + "'s CPU quota").isEqualTo(settings.cpu(units));
            Map<String, String> wanted = MemoryParameters.forMemory(settings.memory(units));
            for (String parameter : List.of("shared_buffers", "effective_cache_size", "work_mem")) {
                assertThat(cluster.queryColumn(c.name(), "show " + parameter, r -> r.getString(1)))
                        .as(c.name() + "'s " + parameter + " follows its memory limit")
                        .containsExactly(wanted.get(parameter));
            }
        }
        assertThat(cluster.ids(cluster.primary().name(), "probe"))
                .as("no acknowledged write was lost")
                .containsAll(acked);
        int switchovers = cluster.snapshot().history().size() - leadersBefore;
        assertThat(switchovers)
                .as("one switchover, for the primary's offline growth")
                .isEqualTo(1);
        assertThat(cluster.primary().name()).isNotEqualTo(firstPrimary);
        List<String> messages = events.stream().map(ControlEvent::message).toList();
        assertThat(messages).anySatisfy(m -> assertThat(m).contains("units 4 → " + units));
        assertThat(messages)
                .anySatisfy(m -> assertThat(m).contains("online growth").contains("refused"));
        assertThat(messages).anySatisfy(m -> assertThat(m).contains("scaled to " + units + " units"));
    }

    @Test
    @Order(3)
    void deletingTheDataAndVacuumingScalesNothingDown() throws Exception {
        int units = cluster.snapshot().config().scalingSettings().units();
        cluster.executeOnPrimary("drop table filler");
        cluster.executeOnPrimary("checkpoint");
        Set<String> checks = new HashSet<>();
        // Three regular checks after the data is gone: each would have shrunk the cluster if anything did.
        await().atMost(Duration.ofSeconds(90))
                .pollInterval(Duration.ofSeconds(1))
                .until(() -> {
                    cluster.control()
                            .text("scaling-memory")
                            .ifPresent(m -> checks.add(m.replaceAll(".*lastCheck\":\"([^\"]*)\".*", "$1")));
                    return checks.size() >= 4;
                });

        assertThat(cluster.snapshot().config().scalingSettings().units()).isEqualTo(units);
        assertThat(cluster.control().text("scaling")).isEmpty();
        List<Long> sizes = new ArrayList<>();
        cluster.runtime().containers().forEach(c -> sizes.add(c.volumeBytes()));
        assertThat(sizes)
                .allSatisfy(bytes -> assertThat(bytes)
                        .isEqualTo(cluster.snapshot().config().scalingSettings().disk(units)));
        assertThat(fullestUsedShare()).as("the data is gone").isLessThan(0.5);
    }

    /** The used share of the fullest member's volume, as df counts it. */
    private static double fullestUsedShare() {
        double most = 0;
        for (Container c : cluster.runtime().containers()) {
            var usage = cluster.runtime().volumeUsage(c.name());
            if (usage.isPresent() && usage.get().totalBytes() > 0) {
                most = Math.max(
                        most, (double) usage.get().usedBytes() / usage.get().totalBytes());
            }
        }
        return most;
    }
}
