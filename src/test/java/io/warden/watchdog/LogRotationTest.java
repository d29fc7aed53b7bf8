package io.warden.watchdog;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A node's logs stay bounded on its volume, and the processes writing them go on writing. */
class LogRotationTest {
    @TempDir
    Path dir;

    private Instant now = Instant.parse("2026-12-02T00:00:00Z");

    private final Clock clock = new Clock() {
        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    };

    private LogRotation rotation(long maxBytes, int keep) {
        return new LogRotation(
                dir,
                List.of("agent.log", "postgres.log"),
                new LogRotation.Policy(maxBytes, Duration.ofDays(1), keep),
                clock);
    }

    @Test
    void aLogOverItsSizeIsCopiedAsideAndTruncatedAndItsWriterGoesOnAtTheNewEnd() throws Exception {
        LogRotation rotation = rotation(100, 3);
        Path log = dir.resolve("agent.log");
        try (OutputStream writer = Files.newOutputStream(log, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
            writer.write("x".repeat(150).getBytes(StandardCharsets.UTF_8));
            writer.flush();

            assertThat(rotation.rotateDue()).containsExactly("agent.log");

            writer.write("after\n".getBytes(StandardCharsets.UTF_8));
            writer.flush();
        }
        assertThat(Files.readString(dir.resolve("agent.log.1"))).hasSize(150);
        assertThat(Files.readString(log)).isEqualTo("after\n");
        assertThat(rotation.rotateDue()).isEmpty();
    }

    @Test
    void onlyAsManyCopiesAsThePolicyKeepsAreLeftTheOldestGoFirst() throws Exception {
        LogRotation rotation = rotation(10, 2);
        Path log = dir.resolve("postgres.log");
        for (int round = 1; round <= 4; round++) {
            Files.writeString(log, "round " + round + " ".repeat(20));
            rotation.rotateDue();
        }

        assertThat(dir.resolve("postgres.log.1")).content().startsWith("round 4");
        assertThat(dir.resolve("postgres.log.2")).content().startsWith("round 3");
        assertThat(dir.resolve("postgres.log.3")).doesNotExist();
    }

    @Test
    void aSmallLogIsRotatedOnceItsAgeIsReachedAndAnEmptyOneIsNot() throws Exception {
        LogRotation rotation = rotation(1 << 20, 3);
        Files.writeString(dir.resolve("agent.log"), "a line\n");
        Files.writeString(dir.resolve("postgres.log"), "");
        assertThat(rotation.rotateDue()).isEmpty();

        now = now.plus(Duration.ofHours(23));
        assertThat(rotation.rotateDue()).isEmpty();
        now = now.plus(Duration.ofHours(1));

        assertThat(rotation.rotateDue()).containsExactly("agent.log");
        assertThat(dir.resolve("agent.log.1")).hasContent("a line");
        assertThat(dir.resolve("postgres.log.1")).doesNotExist();
    }
}
