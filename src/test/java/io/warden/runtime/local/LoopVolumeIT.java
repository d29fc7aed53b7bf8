package io.warden.runtime.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.warden.common.Processes;
import io.warden.common.WardenException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node's volume on this machine's kernel: made, mounted, filled, grown offline, unmounted. */
class LoopVolumeIT {
    @TempDir
    Path dir;

    private LoopVolume volume;

    @BeforeEach
    void make() {
        assumeTrue(Processes.isRoot(), "loop devices need root");
        volume = new LoopVolume(dir.resolve("volumes/node-1.img"), dir.resolve("nodes/node-1/volume"));
        volume.create(64L << 20);
        volume.mount();
    }

    @AfterEach
    void unmount() {
        if (volume != null) {
            volume.unmount();
            assertThat(volume.mounted()).isFalse();
        }
    }

    @Test
    void aMountedVolumeIsItsOwnFilesystemOfTheGivenSize() throws Exception {
        assertThat(volume.mounted()).isTrue();
        assertThat(Files.getFileStore(volume.mountPoint()).name()).startsWith("/dev/loop");
        assertThat(volume.usage().totalBytes()).isBetween(50L << 20, 64L << 20);
        assertThat(volume.imageBytes()).isEqualTo(64L << 20);
    }

    @Test
    void fillingItLeavesNoRoomInsideAndRemovingTheFillGivesItBack() throws Exception {
        volume.fill();

        assertThat(volume.usage().usedBytes())
                .isGreaterThanOrEqualTo(volume.usage().totalBytes() - (1L << 20));
        assertThatThrownBy(() -> Files.write(volume.mountPoint().resolve("one-more"), new byte[1 << 20]))
                .hasMessageContaining("No space left");

        volume.unfill();
        Files.write(volume.mountPoint().resolve("one-more"), new byte[1 << 20]);
    }

    @Test
    void anUnmountedVolumeGrowsWithItsDataAndAMountedOneIsRefused() throws Exception {
        Files.writeString(volume.mountPoint().resolve("kept"), "rows");
        long before = volume.usage().totalBytes();
        assertThatThrownBy(() -> volume.growOffline(128L << 20))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("while it is mounted");

        volume.unmount();
        volume.growOffline(128L << 20);
        volume.mount();

        assertThat(volume.usage().totalBytes()).isGreaterThan(before + (50L << 20));
        assertThat(Files.readString(volume.mountPoint().resolve("kept"))).isEqualTo("rows");
        assertThatThrownBy(() -> {
                    volume.unmount();
                    volume.growOffline(100L << 20);
                })
                .hasMessageContaining("it has " + (128L << 20));
        volume.mount();
    }

    @Test
    void aGrowthTheKernelRefusesOnlineIsFinishedOfflineFromWhereItStopped() throws Exception {
        Files.writeString(volume.mountPoint().resolve("kept"), "rows");

        var refused = volume.tryGrowOnline(96L << 20);

        if (refused.isPresent()) {
            // These machines: "Permission denied to resize filesystem" (no CAP_SYS_RESOURCE).
            assertThat(refused.get()).contains("resize2fs");
            assertThat(volume.imageBytes()).isEqualTo(96L << 20);
            volume.unmount();
            volume.growOffline(96L << 20);
            volume.mount();
        }
        assertThat(volume.usage().totalBytes()).isGreaterThan(80L << 20);
        assertThat(Files.readString(volume.mountPoint().resolve("kept"))).isEqualTo("rows");
    }
}
