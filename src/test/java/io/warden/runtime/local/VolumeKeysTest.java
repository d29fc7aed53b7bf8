package io.warden.runtime.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.WardenException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VolumeKeysTest {
    @TempDir
    Path dir;

    private VolumeKeys keys(Path master) {
        new FileMasterKey(master).readOrCreate();
        return new VolumeKeys(dir.resolve("keys"), new FileMasterKey(master));
    }

    @Test
    void aMissingMasterKeyIsRefusedNotMadeAnew() {
        VolumeKeys keys = keys(dir.resolve("master.key"));
        keys.create("node-1");
        dir.resolve("master.key").toFile().delete();

        assertThatThrownBy(() -> keys.unwrap("node-1")).hasMessageContaining("master.key is missing");
        assertThat(dir.resolve("master.key")).doesNotExist();
    }

    @Test
    void aVolumeKeyIsStoredOnlyWrappedAndUnwrapsToTheSameBytes() throws Exception {
        VolumeKeys keys = keys(dir.resolve("master.key"));
        byte[] key = keys.create("node-1");

        assertThat(keys.unwrap("node-1")).isEqualTo(key);
        String stored = Files.readString(dir.resolve("keys/node-1.wrapped"));
        assertThat(stored)
                .startsWith("v1:")
                .doesNotContain(java.util.Base64.getEncoder().encodeToString(key));
        assertThat(key).hasSize(64);
    }

    @Test
    void afterARotationTheOldMasterKeyUnwrapsNothingAndTheNewOneEverything() throws Exception {
        Path masterFile = dir.resolve("master.key");
        VolumeKeys keys = keys(masterFile);
        byte[] one = keys.create("node-1");
        byte[] two = keys.create("node-2");
        Path oldMaster = dir.resolve("old-master.key");
        Files.copy(masterFile, oldMaster);

        assertThat(keys.rotate()).containsExactly("node-1", "node-2");

        assertThat(keys.unwrap("node-1")).isEqualTo(one);
        assertThat(keys.unwrap("node-2")).isEqualTo(two);
        assertThat(Files.readString(masterFile)).isNotEqualTo(Files.readString(oldMaster));
        assertThatThrownBy(() -> keys(oldMaster).unwrap("node-1"))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("wrapped under another master key");
        assertThat(dir.resolve("keys/rotating.key")).doesNotExist();
    }

    @Test
    void aWrongMasterKeyIsRefusedNamingTheNodeAndTheKeyFile() throws Exception {
        keys(dir.resolve("master.key")).create("node-1");

        assertThatThrownBy(() -> keys(dir.resolve("another.key")).unwrap("node-1"))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("the volume key of node-1")
                .hasMessageContaining("node-1.wrapped")
                .hasMessageContaining("another.key");
    }

    @Test
    void oneNodesWrappedKeyCannotBePassedOffAsAnothers() throws Exception {
        VolumeKeys keys = keys(dir.resolve("master.key"));
        keys.create("node-1");
        Files.copy(dir.resolve("keys/node-1.wrapped"), dir.resolve("keys/node-2.wrapped"));

        assertThatThrownBy(() -> keys.unwrap("node-2")).hasMessageContaining("damaged");
    }
}
