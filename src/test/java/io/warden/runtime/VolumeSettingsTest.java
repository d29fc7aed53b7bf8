package io.warden.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VolumeSettingsTest {
    @Test
    void aOneGibVolumeGetsAQuarterForWalAQuarterForSlotsAndAQuarterForTemporaryFiles() {
        assertThat(VolumeSettings.forVolume(1L << 30))
                .containsEntry("max_wal_size", "256MB")
                .containsEntry("min_wal_size", "64MB")
                .containsEntry("max_slot_wal_keep_size", "256MB")
                .containsEntry("temp_file_limit", "256MB");
    }

    @Test
    void aTinyVolumeStillGetsTheSmallestWalPostgresAccepts() {
        assertThat(VolumeSettings.forVolume(64L << 20))
                .containsEntry("max_wal_size", "32MB")
                .containsEntry("min_wal_size", "32MB");
    }
}
