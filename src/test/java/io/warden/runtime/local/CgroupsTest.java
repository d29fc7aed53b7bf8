package io.warden.runtime.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.CgroupSet;
import io.warden.common.WardenException;
import io.warden.runtime.ResourceLimits;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class CgroupsTest {
    private static final String V1_MOUNTS = """
            tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0
            cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0
            cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0
            cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0
            cgroup /sys/fs/cgroup/freezer cgroup rw,relatime,freezer 0 0
            cgroup /sys/fs/cgroup/pids cgroup rw,relatime,pids 0 0
            cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0
            """;

    @Test
    void aHybridMachineUsesItsV1ControllersOneDirectoryPerHierarchy() {
        Cgroups cgroups = Cgroups.fromMounts(V1_MOUNTS).orElseThrow();

        assertThat(cgroups.v2()).isFalse();
        assertThat(new ContainerCgroups(cgroups, "wd5", "node-1")
                        .part(ContainerCgroups.Part.POSTGRES)
                        .dirs())
                .containsExactly(
                        Path.of("/sys/fs/cgroup/cpu/warden/wd5/node-1/postgres"),
                        Path.of("/sys/fs/cgroup/cpuacct/warden/wd5/node-1/postgres"),
                        Path.of("/sys/fs/cgroup/memory/warden/wd5/node-1/postgres"),
                        Path.of("/sys/fs/cgroup/pids/warden/wd5/node-1/postgres"),
                        Path.of("/sys/fs/cgroup/freezer/warden/wd5/node-1/postgres"));
    }

    @Test
    void controllersMountedTogetherShareOneDirectory() {
        String mounts = """
                cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0
                cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0
                cgroup /sys/fs/cgroup/freezer cgroup rw,freezer 0 0
                cgroup /sys/fs/cgroup/pids cgroup rw,pids 0 0
                """;

        CgroupSet group = Cgroups.fromMounts(mounts).orElseThrow().group("d/c");

        assertThat(group.dirs()).hasSize(4).contains(Path.of("/sys/fs/cgroup/cpu,cpuacct/warden/d/c"));
    }

    @Test
    void theUnifiedTreeAtTheTopIsV2WithOneDirectory() {
        Cgroups cgroups = Cgroups.fromMounts("cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n")
                .orElseThrow();

        assertThat(cgroups.v2()).isTrue();
        assertThat(cgroups.group("d/c").dirs()).containsExactly(Path.of("/sys/fs/cgroup/warden/d/c"));
    }

    @Test
    void aMachineWithoutAFreezerHasNoUsableCgroups() {
        String noFreezer = V1_MOUNTS.lines().filter(l -> !l.contains("freezer")).reduce("", (a, b) -> a + b + "\n");

        assertThat(Cgroups.fromMounts(noFreezer)).isEmpty();
    }

    @Test
    void aConfiguredGroupListRoundTripsAndRelativeDirectoriesAreRefused() {
        CgroupSet group = Cgroups.fromMounts(V1_MOUNTS).orElseThrow().group("wd5/node-1/postgres");

        assertThat(CgroupSet.parse(group.toConfig())).isEqualTo(group);
        assertThatThrownBy(() -> CgroupSet.parse("warden/wd5,/sys/fs/cgroup/memory/warden"))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("not a cgroup list");
    }

    @Test
    void aContainerNameThatCouldClimbOutOfItsDeploymentIsRefused() {
        Cgroups cgroups = Cgroups.fromMounts(V1_MOUNTS).orElseThrow();

        assertThatThrownBy(() -> new ContainerCgroups(cgroups, "wd5", "../../etc"))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aQuotaBelowTheKernelsResolutionOrANegativeLimitIsRefused() {
        assertThatThrownBy(() -> new ResourceLimits(5, 0, 0)).hasMessageContaining("below the kernel's 1 ms");
        assertThatThrownBy(() -> new ResourceLimits(0, -1, 0)).hasMessageContaining("cannot be negative");
    }
}
