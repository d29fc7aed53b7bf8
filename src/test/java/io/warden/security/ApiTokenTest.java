package io.warden.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.WardenException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The operator's token file: made owner-only, read strictly, never shown. */
class ApiTokenTest {
    @TempDir
    Path dir;

    @Test
    void ensureMakesAnOwnerOnlyFileOnceAndThenKeepsItsToken() throws Exception {
        Path file = dir.resolve("api-token");

        ApiToken first = ApiToken.ensure(file);
        ApiToken again = ApiToken.ensure(file);

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-------");
        assertThat(Files.readString(file)).hasSize(43).matches("[A-Za-z0-9_-]+");
        assertThat(again.matches(Files.readString(file))).isTrue();
        assertThat(first.authorization()).isEqualTo(again.authorization());
    }

    @Test
    void aTokenFileOthersCanReadIsRefusedWithTheFix() throws Exception {
        Path file = dir.resolve("api-token");
        ApiToken.ensure(file);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

        assertThatThrownBy(() -> ApiToken.read(file)).isInstanceOfSatisfying(WardenException.class, e -> {
            assertThat(e.getMessage()).contains(file.toString()).contains("rw-r--r--");
            assertThat(e.nextStep()).startsWith("chmod 600 " + file);
        });
    }

    @Test
    void aFileWithoutATokenIsRefused() throws Exception {
        Path file = Files.writeString(dir.resolve("api-token"), "secret\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));

        assertThatThrownBy(() -> ApiToken.read(file))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("holds no secret");
    }

    @Test
    void aTokenMatchesOnlyItselfAndNeverShowsInItsString() {
        ApiToken token = ApiToken.generate();
        String value = token.authorization().substring("Bearer ".length());

        assertThat(token.matches(value)).isTrue();
        assertThat(token.matches(value.substring(1))).isFalse();
        assertThat(token.matches(ApiToken.generate().authorization().substring(7)))
                .isFalse();
        assertThat(token.toString()).doesNotContain(value);
    }
}
