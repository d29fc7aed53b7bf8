package io.warden.runtime.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.warden.common.CgroupSet;
import io.warden.common.Processes;
import io.warden.runtime.NetworkNamespaces;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a run killed in the middle leaves (a deployment's cgroups, a node's namespace, a mounted volume) is swept;
 * a deployment that still runs is not.
 */
class SweeperIT {
    private static final int LEFTOVER_NET = 251;
    private static final int RUNNING_NET = 252;

    @TempDir
    Path dir;

    private Cgroups cgroups;
    private long running;

    @BeforeEach
    void requireRoot() {
        assumeTrue(Processes.isRoot(), "the sweeper sweeps root's leftovers");
        cgroups = Cgroups.detect().orElse(null);
        assumeTrue(cgroups != null, "no usable cgroups");
    }

    @AfterEach
    void cleanUp() {
        if (running > 0) {
            ProcessHandle.of(running).ifPresent(ProcessHandle::destroyForcibly);
        }
        for (int net : List.of(LEFTOVER_NET, RUNNING_NET)) {
            CgroupSet group = cgroups.group("wd" + net);
            group.kill();
            group.remove();
            NetworkNamespaces.remove(net, 1);
            NetworkNamespaces.removeDcsAddress(net);
        }
        cgroups.removeRootIfEmpty();
    }

    @Test
    void aKilledRunsGroupsNamespaceEtcdAddressAndVolumeGoAndARunningDeploymentStays() {
        CgroupSet leftover = cgroups.group("wd" + LEFTOVER_NET + "/node-1/postgres");
        cgroups.create(leftover);
        NetworkNamespaces.create(LEFTOVER_NET, 1);
        NetworkNamespaces.addDcsAddress(LEFTOVER_NET);
        LoopVolume volume = new LoopVolume(dir.resolve("volumes/node-1.img"), dir.resolve("nodes/node-1/volume"));
        volume.create(32L << 20);
        volume.mount();
        CgroupSet alive = cgroups.group("wd" + RUNNING_NET + "/etcd-1");
        cgroups.create(alive);
        NetworkNamespaces.create(RUNNING_NET, 1);
        NetworkNamespaces.addDcsAddress(RUNNING_NET);
        running = Processes.startService(
                Processes.inCgroups(alive.procsFiles(), List.of("sleep", "600")), dir.resolve("sleep.log"), Map.of());
        await().atMost(Duration.ofSeconds(10)).until(() -> alive.pids().contains(running));

        List<String> swept = Sweeper.sweep();

        assertThat(swept)
                .anyMatch(l -> l.contains("leftover cgroup") && l.contains("wd" + LEFTOVER_NET))
                .anyMatch(l -> l.contains("leftover volume " + volume.mountPoint()))
                .anyMatch(l -> l.contains("leftover network namespace wd" + LEFTOVER_NET + "n1"))
                .anyMatch(l -> l.contains("leftover etcd address " + NetworkNamespaces.dcsAddress(LEFTOVER_NET)))
                .noneMatch(l -> l.contains("wd" + RUNNING_NET));
        assertThat(cgroups.group("wd" + LEFTOVER_NET).exists()).isFalse();
        assertThat(volume.mounted()).isFalse();
        assertThat(namespaces()).doesNotContain("wd" + LEFTOVER_NET + "n1").contains("wd" + RUNNING_NET + "n1");
        assertThat(alive.pids()).contains(running);
        assertThat(NetworkNamespaces.hasDcsAddress(LEFTOVER_NET)).isFalse();
        assertThat(NetworkNamespaces.hasDcsAddress(RUNNING_NET)).isTrue();
    }

    private static String namespaces() {
        return Processes.run(List.of("ip", "netns", "list"), Duration.ofSeconds(10))
                .output();
    }
}
