package io.warden.postgres;

import io.warden.common.CgroupSet;
import io.warden.common.Poll;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Stops a postgres from accepting writes as fast as the kernel allows: SIGKILL to the postmaster and to every process
 * of that postgres. The one fencing function: the agent calls it when it loses its lease, the watchdog when the agent
 * stops checking in. With a cgroup, the kill is of the whole group, which no fork escapes.
 *
 * <p>Killing only the postmaster is not enough: its backends keep serving the sessions they have (and acknowledging
 * their commits) until they notice the postmaster is gone. So the postmaster goes first (it forks no more), then
 * every process named {@code postgres} whose working directory is the data directory (postgres runs every process
 * there), again until none is left: a backend forked just before the postmaster died is found on the next round.
 *
 * <p>Hazard: a pid in {@code postmaster.pid} may be stale and reused by an unrelated process; it is signalled only
 * if its working directory is this data directory.
 */
public final class Fence {
    /** Rounds of "find what is left, kill it"; each finds what the one before missed, and two are the usual. */
    private static final int MAX_ROUNDS = 50;

    private Fence() {}

    /**
     * Kills everything in postgres's cgroup when it has one (the local runtime as root puts postgres, its backends and
     * the tools the agent runs for it there), then whatever still runs on {@code dataDir} (a postgres started before
     * the group existed); returns what it killed, for the log. Never throws: the watchdog's loop calls it.
     */
    public static Optional<String> kill(Path dataDir, Optional<CgroupSet> cgroup) {
        if (cgroup.isEmpty()) {
            return kill(dataDir);
        }
        String inGroup;
        try {
            int killed = cgroup.get().kill();
            inGroup = killed == 0 ? "" : "killed the " + killed + " processes in postgres's cgroup " + cgroup.get();
        } catch (RuntimeException e) {
            inGroup = "could not kill through the cgroup " + cgroup.get() + " (" + e.getMessage() + ")";
        }
        Optional<String> rest = kill(dataDir);
        if (inGroup.isEmpty()) {
            return rest;
        }
        return Optional.of(inGroup + rest.map(r -> "; then " + r).orElse(""));
    }

    /** Kills the postgres running on {@code dataDir}, if any; returns what it killed, for the log. */
    public static Optional<String> kill(Path dataDir) {
        Path real;
        try {
            real = dataDir.toRealPath();
        } catch (IOException e) {
            return Optional.empty();
        }
        Optional<Long> postmaster = postmasterPid(dataDir).filter(pid -> runsIn(pid, real));
        if (postmaster.isEmpty()) {
            // Nothing runs there (the usual case for the watchdog's repeated kills once fenced): no /proc scan every
            // 20 ms. Backends of a postmaster that died by itself exit on their own as soon as they notice.
            return Optional.empty();
        }
        postmaster.flatMap(ProcessHandle::of).ifPresent(ProcessHandle::destroyForcibly);
        int backends = 0;
        for (int round = 0; round < MAX_ROUNDS; round++) {
            List<ProcessHandle> left = processesOf(real);
            if (left.isEmpty()) {
                break;
            }
            left.forEach(ProcessHandle::destroyForcibly);
            backends += left.size();
        }
        return Optional.of("killed postmaster " + postmaster.get() + " and " + backends + " other postgres processes");
    }

    /**
     * Waits, at most {@code timeout}, until the postmaster named in {@code postmaster.pid} has left the process table
     * when it is dead but not yet reaped (a zombie): postgres refuses to start, and pg_rewind's single-user recovery
     * too, while that pid exists ("lock file already exists"), and a postmaster SIGKILLed by the watchdog a moment ago
     * is one. A live process is not waited for: either it is this data directory's running postmaster, which the
     * caller knows of, or an unrelated process that reused the pid. False when the zombie was still there at the end.
     */
    public static boolean awaitReaped(Path dataDir, Duration timeout) throws InterruptedException {
        Optional<Long> pid = postmasterPid(dataDir);
        return pid.isEmpty() || Poll.every(Duration.ofMillis(10)).until(timeout, () -> !zombie(pid.get()));
    }

    private static boolean zombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state == 'Z' || state == 'X';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The postmaster running on {@code dataDir}, if one does (a pid in postmaster.pid that was reused does not). */
    public static Optional<Long> runningPostmaster(Path dataDir) {
        try {
            Path real = dataDir.toRealPath();
            return postmasterPid(dataDir).filter(pid -> runsIn(pid, real));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Whether {@code pid} is a live process whose working directory is {@code dataDir} (not a reused pid). */
    static boolean runsIn(long pid, Path dataDir) {
        try {
            return io.warden.common.Processes.alive(pid)
                    && Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "cwd"))
                            .equals(dataDir);
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }

    /** Live processes named postgres working in {@code dataDir}, the fencing caller excluded. */
    private static List<ProcessHandle> processesOf(Path dataDir) {
        long self = ProcessHandle.current().pid();
        try (Stream<Path> proc = Files.list(Path.of("/proc"))) {
            return proc.map(p -> p.getFileName().toString())
                    .filter(name -> !name.isEmpty() && name.chars().allMatch(Character::isDigit))
                    .map(Long::parseLong)
                    .filter(pid -> pid != self && isPostgres(pid) && runsIn(pid, dataDir))
                    .flatMap(pid -> ProcessHandle.of(pid).stream())
                    .toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static boolean isPostgres(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "comm"))
                    .strip()
                    .equals("postgres");
        } catch (IOException e) {
            return false;
        }
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
