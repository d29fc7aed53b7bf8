package io.warden.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fencing kill with real processes standing in for a postgres: a "postmaster" (a shell in the data directory
 * that keeps forking) and "backends" (a copy of sleep named postgres, in the data directory). Every one of them dies,
 * including those forked while the kill runs, and nothing outside the data directory is ever signalled.
 */
class FenceIT {
    @TempDir
    Path dir;

    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        started.forEach(Process::destroyForcibly);
        processesIn(dir.resolve("data"))
                .forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
    }

    private Path data() throws IOException {
        return Files.createDirectories(dir.resolve("data"));
    }

    /** A copy of sleep whose process name is "postgres", as a backend's is. */
    private Path postgresBinary() throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path copy = bin.resolve("postgres");
        if (!Files.exists(copy)) {
            Files.copy(Path.of("/bin/sleep"), copy, StandardCopyOption.COPY_ATTRIBUTES);
        }
        return copy;
    }

    private Process start(Path cwd, String... command) throws IOException {
        Process process = new ProcessBuilder(command)
                .directory(cwd.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        started.add(process);
        return process;
    }

    private void postmasterPid(Path data, long pid) throws IOException {
        Files.writeString(data.resolve("postmaster.pid"), pid + "\n" + data + "\n");
    }

    /** The state letter of {@code pid} in /proc, or empty when it has no entry. */
    private static java.util.Optional<Character> state(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return java.util.Optional.of(stat.charAt(stat.lastIndexOf(')') + 2));
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
    }

    /**
     * A postmaster killed a moment ago may linger as a zombie until its parent reaps it, and postgres will not start
     * (nor pg_rewind recover) on that data directory while the pid exists: awaitReaped returns only once it is gone.
     * The zombie here is a child that exits after 0.3 s under a parent that never waits for it (bash has exec'd sleep
     * by then: a child that exited before the exec was reaped by bash, and no zombie was ever seen) and exits at 2 s.
     */
    @Test
    void awaitReapedReturnsOnlyOnceAZombiePostmasterHasLeftTheProcessTable() throws Exception {
        Path data = data();
        Process parent = new ProcessBuilder("bash", "-c", "sleep 0.3 & echo $!; exec sleep 2")
                .directory(dir.toFile())
                .start();
        started.add(parent);
        long child = Long.parseLong(new java.io.BufferedReader(new java.io.InputStreamReader(parent.getInputStream()))
                .readLine()
                .strip());
        await().atMost(Duration.ofSeconds(5)).until(() -> state(child).equals(java.util.Optional.of('Z')));
        postmasterPid(data, child);

        assertThat(Fence.awaitReaped(data, Duration.ofSeconds(10))).isTrue();

        assertThat(state(child)).as("the zombie's process table entry").isEmpty();
    }

    @Test
    void aPidInPostmasterPidThatIsNotThisDataDirectorysProcessIsNeverSignalled() throws IOException {
        Path data = data();
        // The postmaster died long ago and its pid was reused by something unrelated, running elsewhere.
        Process unrelated = start(dir, "sleep", "60");
        postmasterPid(data, unrelated.pid());

        Fence.kill(data);

        // A SIGKILL takes a moment to show: it must stay alive, not just be alive right after the call.
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(unrelated::isAlive);
    }

    @Test
    void everyProcessOfThatPostgresDiesIncludingOnesForkedDuringTheKill() throws IOException {
        Path data = data();
        Path postgres = postgresBinary();
        // A postmaster that forks a backend every 5 ms, and 20 backends already running.
        Process postmaster = start(data, "bash", "-c", "while true; do '" + postgres + "' 60 & sleep 0.005; done");
        for (int i = 0; i < 20; i++) {
            start(data, postgres.toString(), "60");
        }
        postmasterPid(data, postmaster.pid());
        await().atMost(Duration.ofSeconds(5)).until(() -> processesIn(data).size() > 25);

        Fence.kill(data);

        await().atMost(Duration.ofSeconds(5)).until(() -> !postmaster.isAlive());
        assertThat(processesIn(data)).as("processes left in the data directory").isEmpty();
    }

    /** Live processes whose working directory is {@code data}. */
    static List<Long> processesIn(Path data) {
        try (Stream<Path> proc = Files.list(Path.of("/proc"))) {
            Path real = data.toRealPath();
            return proc.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
                    .filter(p -> {
                        try {
                            return Files.readSymbolicLink(p.resolve("cwd")).equals(real);
                        } catch (IOException | UnsupportedOperationException | SecurityException e) {
                            return false;
                        }
                    })
                    .map(p -> Long.parseLong(p.getFileName().toString()))
                    .toList();
        } catch (IOException e) {
            return List.of();
        }
    }
}
