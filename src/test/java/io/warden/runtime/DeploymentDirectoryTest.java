package io.warden.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.WardenException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deployment directory holds the configs the agents run and the operator's token: one others may write into
 * is refused before anything is written there, and one made here is never writable by others.
 */
class DeploymentDirectoryTest {
    @TempDir
    Path parent;

    @Test
    void aDirectoryOthersCanWriteIntoIsRefusedWithTheFix() throws Exception {
        Path dir = Files.createDirectory(parent.resolve("shared"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));

        assertThatThrownBy(() -> LocalDeployment.prepareDirectory(dir))
                .isInstanceOfSatisfying(WardenException.class, e -> {
                    assertThat(e.getMessage()).contains(dir.toString()).contains("rwxrwxrwx");
                    assertThat(e.nextStep()).startsWith("chmod go-w " + dir);
                });
        try (var entries = Files.list(dir)) {
            assertThat(entries).as("nothing written into it").isEmpty();
        }
    }

    @Test
    void aDirectoryMadeHereIsNotWritableByOthersWhateverTheUmask() throws Exception {
        // The postgres user must be able to pass through on the way (checked when run as root).
        Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwx--x--x"));
        Path dir = parent.resolve("new/deployment");

        LocalDeployment.prepareDirectory(dir);

        assertThat(Files.getPosixFilePermissions(dir))
                .doesNotContain(
                        java.nio.file.attribute.PosixFilePermission.GROUP_WRITE,
                        java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE);
    }
}
