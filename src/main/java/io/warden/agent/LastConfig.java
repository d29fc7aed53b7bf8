package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.common.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last cluster config this agent could read, in memory and in its work directory, so that an unreadable (or
 * deleted) {@code config} key never turns into the defaults: falling back to {@code synchronous_mode: off} would let
 * a replica that lacks acknowledged commits be promoted. Touched by the HA loop only.
 */
final class LastConfig {
    private static final Logger LOG = LoggerFactory.getLogger(LastConfig.class);

    private final Path file;
    private Optional<DynamicConfig> last;

    LastConfig(Path workDir) {
        this.file = workDir.resolve("last-config.json");
        this.last = load(file);
    }

    /**
     * The snapshot with the config to act on: its own when it could be read (remembered from now on), the last
     * one read when its key is unreadable or gone, and the defaults only in a cluster whose config was never written.
     */
    ClusterSnapshot apply(ClusterSnapshot cluster) {
        // A config read from its key has that key's revision; absent or unreadable, the revision is 0.
        if (cluster.configRevision() != 0) {
            remember(cluster.config());
            return cluster;
        }
        return last.map(cluster::withConfig).orElse(cluster);
    }

    /** Whether the config to act on is known: readable, or remembered from an earlier read. */
    boolean known(ClusterSnapshot cluster) {
        return !cluster.configUnreadable() || last.isPresent();
    }

    private void remember(DynamicConfig config) {
        if (last.equals(Optional.of(config))) {
            return;
        }
        last = Optional.of(config);
        try {
            Files.createDirectories(file.getParent());
            Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(temporary, Json.write(config));
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warn("cannot save the cluster config to " + file + " (kept in memory only): " + e.getMessage());
        }
    }

    private static Optional<DynamicConfig> load(Path file) {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.wire().readValue(Files.readString(file), DynamicConfig.class));
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring the saved cluster config " + file + ": " + e.getMessage());
            return Optional.empty();
        }
    }
}
