package io.warden.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Postgres's memory parameters from a container's memory, and when a change of it needs a restart. */
class MemoryParametersTest {
    private static final long MIB = 1L << 20;

    @Test
    void aQuarterForSharedBuffersInPowersOfTwoAndThreeQuartersForTheCache() {
        assertThat(MemoryParameters.forMemory(1024 * MIB))
                .containsEntry("shared_buffers", "256MB")
                .containsEntry("effective_cache_size", "768MB")
                .containsEntry("work_mem", "4MB")
                .containsEntry("maintenance_work_mem", "64MB");
        assertThat(MemoryParameters.forMemory(1280 * MIB))
                .containsEntry("shared_buffers", "256MB")
                .containsEntry("effective_cache_size", "960MB")
                .containsEntry("work_mem", "5MB")
                .containsEntry("maintenance_work_mem", "80MB");
        assertThat(MemoryParameters.forMemory(16384 * MIB))
                .containsEntry("shared_buffers", "4096MB")
                .containsEntry("work_mem", "64MB")
                .containsEntry("maintenance_work_mem", "1024MB");
    }

    @Test
    void onlyADoublingOfSharedBuffersAsksForARestart() {
        assertThat(MemoryParameters.restartBetween(1024 * MIB, 1280 * MIB)).isFalse();
        assertThat(MemoryParameters.restartBetween(1024 * MIB, 1536 * MIB)).isFalse();
        assertThat(MemoryParameters.restartBetween(1024 * MIB, 2048 * MIB)).isTrue();
    }

    @Test
    void aTinyContainerStillGetsWorkableFloors() {
        assertThat(MemoryParameters.forMemory(16 * MIB))
                .containsEntry("shared_buffers", "32MB")
                .containsEntry("work_mem", "4MB")
                .containsEntry("maintenance_work_mem", "64MB");
    }
}
