package io.warden.runtime.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.warden.common.CgroupSet;
import io.warden.common.Processes;
import io.warden.runtime.ResourceLimits;
import io.warden.runtime.local.ContainerCgroups.Part;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The local runtime's cgroups on this machine's kernel: limits enforced, freezing and killing whole groups. */
class CgroupsIT {
    private static final ResourceLimits SMALL = new ResourceLimits(0, 256L << 20, 256);

    @TempDir
    Path dir;

    private Cgroups cgroups;
    private ContainerCgroups container;
    private final List<Long> started = new ArrayList<>();

    @BeforeEach
    void makeContainer() {
        assumeTrue(Processes.isRoot(), "cgroups need root");
        cgroups = Cgroups.detect().orElse(null);
        assumeTrue(cgroups != null, "this machine has no usable cgroups");
        container =
                new ContainerCgroups(cgroups, "cgit" + ProcessHandle.current().pid(), "node-1");
        container.create(SMALL, SMALL);
    }

    @AfterEach
    void removeContainer() {
        started.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
        if (container != null) {
            container.remove();
            cgroups.group(container.deployment()).remove();
            cgroups.removeRootIfEmpty();
            assertThat(container.all().exists()).isFalse();
        }
    }

    private long startIn(Part part, String script) {
        long pid = Processes.startService(
                Processes.inCgroups(container.part(part).procsFiles(), List.of("sh", "-c", script)),
                dir.resolve(part + ".log"),
                Map.of());
        started.add(pid);
        return pid;
    }

    @Test
    void aSpinningProcessGetsNoMoreThanItsQuotaAndIsThrottled() throws Exception {
        container.resize(Part.POSTGRES, new ResourceLimits(200, 256L << 20, 256));
        startIn(Part.POSTGRES, "while :; do :; done");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> container.part(Part.POSTGRES).pids().size() == 1);
        Cgroups.Usage before = container.usage(Part.POSTGRES);
        long t0 = System.nanoTime();
        Thread.sleep(3000);
        Cgroups.Usage after = container.usage(Part.POSTGRES);
        long elapsed = System.nanoTime() - t0;

        double cores = (double) (after.cpuNanos() - before.cpuNanos()) / elapsed;
        assertThat(cores).isLessThanOrEqualTo(0.2 * 1.2).isGreaterThan(0.05);
        assertThat(after.throttled()).isGreaterThan(before.throttled());
        assertThat(container.limits(Part.POSTGRES).cpuMillis()).isEqualTo(200);
    }

    @Test
    void aProcessThatRunsOverTheMemoryLimitIsKilledByTheKernelInsideTheGroup() throws Exception {
        container.resize(Part.POSTGRES, new ResourceLimits(0, 32L << 20, 64));
        Path exit = dir.resolve("exit");
        // tail keeps a line with no newline in memory until it ends: 200 MiB of zeros is one such line.
        startIn(Part.POSTGRES, "head -c 200M /dev/zero | tail -n 1 > /dev/null; echo $? > " + exit);

        // The kernel's own count first: it says the group's limit killed something, whatever the shell reports.
        await().atMost(Duration.ofSeconds(30))
                .alias("an OOM kill in " + container.part(Part.POSTGRES) + " (processes there: "
                        + container.part(Part.POSTGRES).pids() + ")")
                .until(() -> container.usage(Part.POSTGRES).oomKills() >= 1);
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(exit));
        assertThat(Files.readString(exit).strip())
                .as("the exit status of the pipeline whose tail ran over the limit")
                .isEqualTo("137");
        assertThat(container.limits(Part.POSTGRES).memoryBytes()).isEqualTo(32L << 20);
    }

    @Test
    void aFrozenContainerMakesNoProgressUntilThawed() throws Exception {
        Path counter = dir.resolve("counter");
        startIn(Part.POSTGRES, "i=0; while :; do i=$((i+1)); echo $i > " + counter + "; sleep 0.01; done");
        await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(counter) && count(counter) > 3);

        container.all().freeze();
        assertThat(container.all().frozen()).isTrue();
        assertThat(container.part(Part.POSTGRES).frozen()).isTrue();
        long frozenAt = count(counter);
        Thread.sleep(300);
        assertThat(count(counter)).isEqualTo(frozenAt);

        container.all().thaw();
        await().atMost(Duration.ofSeconds(10)).until(() -> count(counter) > frozenAt);
    }

    @Test
    void killingThePostgresPartEndsItsForkedChildrenAndSparesTheWardenPart() {
        startIn(Part.POSTGRES, "sleep 1000 & sleep 1000 & wait");
        long warden = startIn(Part.WARDEN, "sleep 1000 & wait");
        CgroupSet postgres = container.part(Part.POSTGRES);
        await().atMost(Duration.ofSeconds(10)).until(() -> postgres.pids().size() == 3);

        int killed = postgres.kill();

        assertThat(killed).isEqualTo(3);
        assertThat(postgres.pids()).isEmpty();
        assertThat(Processes.alive(warden)).isTrue();
        assertThat(container.part(Part.WARDEN).pids()).contains(warden);
    }

    @Test
    void killingAFrozenContainerEndsEverythingInItAndLeavesItThawed() {
        startIn(Part.POSTGRES, "sleep 1000 & wait");
        startIn(Part.WARDEN, "sleep 1000 & wait");
        await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(container.all().pids()).hasSize(4));
        container.all().freeze();

        container.all().kill();

        assertThat(container.all().pids()).isEmpty();
        assertThat(container.all().frozen()).isFalse();
    }

    private static long count(Path counter) {
        try {
            String text = Files.readString(counter).strip();
            return text.isEmpty() ? 0 : Long.parseLong(text);
        } catch (java.io.IOException | NumberFormatException e) {
            return 0;
        }
    }
}
