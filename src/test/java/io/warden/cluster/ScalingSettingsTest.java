package io.warden.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How units become a node's disk, memory and CPU, and how stored settings are read. */
class ScalingSettingsTest {
    private static final long GIB = 1L << 30;
    private static final long MIB = 1L << 20;

    @Test
    void theDefaultsGiveTheSizesANodeHadBeforeUnits() {
        ScalingSettings s = ScalingSettings.DEFAULT;

        assertThat(s.disk(1)).isEqualTo(GIB);
        assertThat(s.memory(1)).isEqualTo(GIB);
        assertThat(s.cpu(1)).isEqualTo(1000);
        assertThat(s.interval()).isEqualTo(Duration.ofHours(1));
        assertThat(s.auto()).isTrue();
    }

    @Test
    void memoryFollowsDiskAtTheRatioAboveItsFloor() {
        ScalingSettings s = ScalingSettings.of(Map.of("memory_min", "256MiB", "memory_ratio", "1:10"));

        assertThat(s.memory(1)).isEqualTo(256 * MIB);
        assertThat(s.memory(20)).isEqualTo(2 * GIB);
        assertThat(s.cpu(4)).isEqualTo(2000);
    }

    @Test
    void aMaximumCapsAResourceAndAMinimumEqualToItFixesIt() {
        ScalingSettings s =
                ScalingSettings.of(Map.of("disk_max", "4GiB", "cpu_min", "2", "cpu_max", "2000m", "units", "8"));

        assertThat(s.disk(8)).isEqualTo(4 * GIB);
        assertThat(s.disk(2)).isEqualTo(2 * GIB);
        assertThat(s.cpu(1)).isEqualTo(2000);
        assertThat(s.cpu(16)).isEqualTo(2000);
    }

    @Test
    void anUnreadableStoredValueReadsAsItsDefaultAndAContradictoryStoredSetAsTheDefaults() {
        ScalingSettings garbled = ScalingSettings.of(Map.of("unit_disk", "lots", "units", "2"));
        assertThat(garbled.unitDiskBytes()).isEqualTo(GIB);
        assertThat(garbled.units()).isEqualTo(2);

        ScalingSettings contradictory = ScalingSettings.of(Map.of("min_units", "8", "max_units", "4"));
        assertThat(contradictory).isEqualTo(ScalingSettings.DEFAULT);
    }

    @Test
    void theViewReadsBackToTheSameSettings() {
        ScalingSettings s = ScalingSettings.of(Map.of(
                "unit_disk", "256MiB", "unit_cpu", "0.25", "interval", "10s", "sample", "2s", "cooldown", "90m"));

        assertThat(ScalingSettings.of(s.view())).isEqualTo(s);
        assertThat(s.view()).containsEntry("unit_cpu", "250m").containsEntry("cooldown", "90m");
    }

    @Test
    void problemsNameEachBadValue() {
        assertThat(String.join(
                        "\n",
                        ScalingSettings.problems(Map.of(
                                "memory_ratio", "10:1",
                                "unit_cpu", "lots",
                                "interval", "0s",
                                "trigger_free", "120%",
                                "auto", "yes"))))
                .contains("scaling.memory_ratio: not a memory ratio")
                .contains("scaling.unit_cpu: not a CPU amount")
                .contains("scaling.interval: must be longer than 0")
                .contains("scaling.trigger_free: not a share")
                .contains("scaling.auto: must be true or false");
        assertThat(ScalingSettings.problems(Map.of("memory_min", "32MiB")))
                .anySatisfy(p -> assertThat(p).contains("at least 64MiB"));
        assertThat(ScalingSettings.problems(Map.of("sample", "2h")))
                .anySatisfy(p -> assertThat(p).contains("longer than interval"));
        assertThat(ScalingSettings.problems(Map.of("units", "4", "max_units", "8")))
                .isEmpty();
    }
}
