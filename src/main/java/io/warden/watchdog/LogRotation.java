package io.warden.watchdog;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a node's logs bounded, on a volume that also holds its data: each of the named files in one directory is
 * rotated when it outgrows {@link Policy#maxBytes} or when {@link Policy#maxAge} has passed since it was last rotated
 * (since it was first seen, at the start): copied to {@code <name>.1}, the older copies moved up to {@code .keep} and
 * the oldest dropped, then truncated in place. Copy and truncate, because the writers (the agent's and the watchdog's
 * redirected output, pg_ctl's {@code -l} file) hold the file open in append mode and cannot be told to reopen it:
 * they go on writing at its new end. A line written between the copy and the truncation is lost; with one check a
 * minute that window is a few milliseconds a day.
 */
public final class LogRotation {
    private static final Logger LOG = LoggerFactory.getLogger(LogRotation.class);

    /**
     * How big and how old a log may grow, and how many rotated copies are kept. The default bounds each log to 16 MiB
     * (4 MiB and three copies), the three of a node to 48 MiB: under 5 % of the smallest 1 GiB volume.
     */
    public record Policy(long maxBytes, Duration maxAge, int keep) {
        public static final Policy DEFAULT = new Policy(4L << 20, Duration.ofDays(1), 3);

        public Policy {
            if (maxBytes < 1 || maxAge.isNegative() || maxAge.isZero() || keep < 1) {
                throw new IllegalArgumentException("a log rotation policy needs a size, an age and a count above 0");
            }
        }
    }

    private final Path dir;
    private final List<String> names;
    private final Policy policy;
    private final Clock clock;
    private final Map<String, Instant> rotatedAt = new HashMap<>();

    public LogRotation(Path dir, List<String> names, Policy policy, Clock clock) {
        this.dir = dir;
        this.names = List.copyOf(names);
        this.policy = policy;
        this.clock = clock;
    }

    /** Rotates the logs that are due; returns their names. Never throws: a log that cannot be rotated waits. */
    public List<String> rotateDue() {
        List<String> rotated = new ArrayList<>();
        Instant now = clock.instant();
        for (String name : names) {
            Path file = dir.resolve(name);
            try {
                if (!Files.exists(file)) {
                    continue;
                }
                Instant since = rotatedAt.computeIfAbsent(name, n -> now);
                long size = Files.size(file);
                boolean tooBig = size > policy.maxBytes();
                boolean tooOld = size > 0 && !now.isBefore(since.plus(policy.maxAge()));
                if (tooBig || tooOld) {
                    rotate(file);
                    rotatedAt.put(name, now);
                    rotated.add(name);
                }
            } catch (IOException | RuntimeException e) {
                // A full volume, say: the log stays as it is until the next check.
                LOG.warn("cannot rotate {}: {}", file, e.getMessage());
            }
        }
        return rotated;
    }

    private void rotate(Path file) throws IOException {
        String name = file.getFileName().toString();
        Files.deleteIfExists(dir.resolve(name + "." + policy.keep()));
        for (int i = policy.keep() - 1; i >= 1; i--) {
            Path older = dir.resolve(name + "." + i);
            if (Files.exists(older)) {
                Files.move(older, dir.resolve(name + "." + (i + 1)), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        Path copy = dir.resolve(name + ".1");
        Files.copy(file, copy, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.truncate(0);
        }
    }
}
