package io.warden.postgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Stops a postgres from accepting writes as fast as the kernel allows: SIGKILL to the postmaster and every one of
 * its backends. Used by the agent when it loses its lease and by the watchdog when the agent stops checking in.
 *
 * <p>Killing only the postmaster is not enough: its backends keep serving the sessions they have (and
 * acknowledging their commits) until they notice the postmaster is gone. The backends are listed before the
 * postmaster dies, while they are still its children.
 */
public final class Fence {
    private Fence() {}

    /** Kills the postgres running on {@code dataDir}, if any; returns what it killed, for the log. */
    public static Optional<String> kill(Path dataDir) {
        Optional<Long> pid = postmasterPid(dataDir).filter(io.warden.common.Processes::alive);
        if (pid.isEmpty()) {
            return Optional.empty();
        }
        Optional<ProcessHandle> postmaster = ProcessHandle.of(pid.get());
        if (postmaster.isEmpty()) {
            return Optional.empty();
        }
        List<ProcessHandle> backends = postmaster.get().descendants().toList();
        postmaster.get().destroyForcibly();
        backends.forEach(ProcessHandle::destroyForcibly);
        return Optional.of("killed postmaster " + pid.get() + " and " + backends.size() + " backends");
    }

    static Optional<Long> postmasterPid(Path dataDir) {
        try {
            String first = Files.readAllLines(dataDir.resolve("postmaster.pid")).stream()
                    .findFirst()
                    .orElse("")
                    .strip();
            return Optional.of(Long.parseLong(first));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }
}
