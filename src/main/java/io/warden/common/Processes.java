package io.warden.common;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The one way Warden launches a program: a finished command with its output, or a long-lived service whose
 * output goes to a log file. Services run in their own session (setsid) so a Ctrl-C meant for the CLI is not
 * also delivered to etcd and the agents, which are stopped in order instead.
 */
public final class Processes {
    private Processes() {}

    /** Output and exit status of a finished command. */
    public record Result(List<String> command, int exitCode, String output) {
        public boolean ok() {
            return exitCode == 0;
        }

        /** The last lines of the output, for an error message. */
        public String tail() {
            String[] lines = output.strip().split("\n");
            int from = Math.max(0, lines.length - 8);
            return String.join("\n", java.util.Arrays.copyOfRange(lines, from, lines.length));
        }
    }

    /** Runs a command to completion (stdout and stderr merged); kills it after {@code timeout}. */
    public static Result run(List<String> command, Map<String, String> env, Duration timeout) {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().putAll(env);
        try {
            Process process = builder.start();
            // Read on this thread: pg_basebackup and friends can print more than a pipe buffer holds.
            StringBuilder output = new StringBuilder();
            Thread reader = Thread.ofVirtual().start(() -> drain(process.getInputStream(), output));
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
                reader.join(1000);
                return new Result(command, 124, output + "\n(killed after " + timeout.toMillis() + " ms)");
            }
            reader.join(5000);
            synchronized (output) {
                return new Result(command, process.exitValue(), output.toString());
            }
        } catch (IOException e) {
            return new Result(command, 127, "cannot run " + command.getFirst() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(command, 130, "interrupted");
        }
    }

    public static Result run(List<String> command, Duration timeout) {
        return run(command, Map.of(), timeout);
    }

    private static void drain(InputStream in, StringBuilder sink) {
        try (in) {
            byte[] buffer = new byte[8192];
            int n;
            while ((n = in.read(buffer)) > 0) {
                synchronized (sink) {
                    sink.append(new String(buffer, 0, n, StandardCharsets.UTF_8));
                }
            }
        } catch (IOException ignored) {
            // The process ended or was killed; what was read is what there is.
        }
    }

    /**
     * {@code command} run inside the cgroups whose {@code cgroup.procs} files are given, one per hierarchy: a shell
     * writes its own pid into each, then becomes the command ({@code exec}), so the command and everything it forks
     * start inside and no moment passes outside. Exits 125 without running the command when a group refuses it.
     */
    public static List<String> inCgroups(List<Path> procsFiles, List<String> command) {
        if (procsFiles.isEmpty()) {
            return command;
        }
        List<String> wrapped = new ArrayList<>(List.of(
                "sh",
                "-c",
                "n=$1; shift; while [ \"$n\" -gt 0 ]; do echo $$ > \"$1\" || exit 125; shift; n=$((n-1)); done;"
                        + " exec \"$@\"",
                "warden-cgroup",
                Integer.toString(procsFiles.size())));
        procsFiles.forEach(f -> wrapped.add(f.toString()));
        wrapped.addAll(command);
        return wrapped;
    }

    /** Starts a long-lived service in its own session, output appended to {@code log}; returns its pid. */
    public static long startService(List<String> command, Path log, Map<String, String> env) {
        List<String> full = new ArrayList<>();
        full.add("setsid");
        full.addAll(command);
        ProcessBuilder builder = new ProcessBuilder(full);
        builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.redirectErrorStream(true);
        builder.redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().putAll(env);
        try {
            Files.createDirectories(log.getParent());
            return builder.start().pid();
        } catch (IOException e) {
            throw new WardenException(
                    "cannot start " + command.getFirst() + ": " + e.getMessage(),
                    "check that the program is installed and on PATH");
        }
    }

    /**
     * Whether a process runs. A zombie does not: a killed postmaster is reparented to PID 1, which may reap it
     * late, and until then the JDK still calls it alive.
     */
    public static boolean alive(long pid) {
        if (pid <= 0 || !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            return false;
        }
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/" + pid + "/stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * Ends a process we started: SIGTERM, then SIGKILL after {@code grace}. Interrupted while it waits, it sends
     * SIGKILL at once and returns with the interrupt flag set: the process still ends, only without its grace.
     * A process that has exited counts as ended while still a zombie ({@link #alive}): services started by an
     * earlier {@code up} are reaped by PID 1, which can take seconds per process.
     */
    public static void stop(long pid, Duration grace) {
        Optional<ProcessHandle> handle = ProcessHandle.of(pid);
        if (handle.isEmpty()) {
            return;
        }
        handle.get().destroy();
        try {
            if (Poll.every(Duration.ofMillis(50)).until(grace, () -> !alive(pid))) {
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        handle.get().destroyForcibly();
    }

    /** Sends a signal by name (QUIT, STOP, CONT, ...) to one pid. */
    public static boolean signal(long pid, String signal) {
        return run(List.of("kill", "-" + signal, Long.toString(pid)), Duration.ofSeconds(5))
                .ok();
    }

    public static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** The path of the java binary running this JVM, so every Warden process runs on the same JDK. */
    public static String javaBinary() {
        return ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
    }
}
