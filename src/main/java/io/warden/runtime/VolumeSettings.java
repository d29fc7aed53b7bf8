package io.warden.runtime;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The postgres parameters a node's volume size implies, so that postgres itself never fills the volume it lives on:
 * PostgreSQL's default {@code max_wal_size} of 1 GB alone would fill a 1 GiB volume. A quarter of the volume may be
 * WAL between checkpoints, a quarter WAL kept for a lagging replica's slot (past that the slot is given up and the
 * replica re-cloned, rather than the primary stopping), and a quarter one session's temporary files; the rest is
 * data. These are node parameters (the agent's {@code parameters}), over the cluster's, since volumes differ by node.
 */
public final class VolumeSettings {
    private VolumeSettings() {}

    public static Map<String, String> forVolume(long bytes) {
        long quarterMb = Math.max(32, bytes / 4 / (1 << 20));
        Map<String, String> parameters = new LinkedHashMap<>();
        parameters.put("max_wal_size", quarterMb + "MB");
        parameters.put("min_wal_size", Math.max(32, quarterMb / 4) + "MB");
        parameters.put("max_slot_wal_keep_size", quarterMb + "MB");
        parameters.put("temp_file_limit", quarterMb + "MB");
        return parameters;
    }
}
