package io.warden.watchdog;

import io.warden.common.AtomicFile;
import io.warden.common.CgroupSet;
import io.warden.common.Json;
import io.warden.common.Poll;
import io.warden.postgres.Fence;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first process of a node's container, in the watchdog's JVM: it starts the agent, starts it again with backoff
 * whenever it exits (as a container's restart policy or systemd would; an agent that died used to stay dead), and on
 * {@link #stop} ends the agent and then postgres, in that order, leaving no orphan.
 *
 * <p>Why one process with the watchdog: a watchdog that outlives the agent it watches keeps its armed deadline across
 * the agent's restart, so a node whose postgres may be a primary is never unwatched; and one small JVM per node
 * instead of two (issue 21).
 *
 * <p>Each start is recorded in {@code supervisor.json} beside the agent's log: how many starts, the agent's pid, when
 * it last started and how it last exited. The agent's output goes to its own log, appended to across restarts.
 */
public final class Supervisor {
    private static final Logger LOG = LoggerFactory.getLogger(Supervisor.class);

    /** What {@code supervisor.json} holds. */
    public record Status(int starts, long agentPid, String lastStart, String lastExit) {
        /** The status file of a node whose agent log is {@code agentLog}. */
        public static Path file(Path agentLog) {
            return agentLog.resolveSibling("supervisor.json");
        }

        /** Reads it; empty while it is not written yet (or is being replaced). */
        public static Optional<Status> read(Path file) {
            try {
                return Optional.of(Json.wire().readValue(file.toFile(), Status.class));
            } catch (IOException e) {
                return Optional.empty();
            }
        }
    }

    private final List<String> command;
    private final Path log;
    private final Path dataDir;
    private final Optional<CgroupSet> postgresCgroup;
    private final Object lock = new Object();
    private Process agent;
    private boolean stopping;
    private int starts;
    private String lastExit = "";
    private Thread thread;

    /**
     * @param command the agent's command line
     * @param log the agent's log, appended to
     * @param dataDir the data directory of the postgres the agent runs, stopped after the agent
     * @param postgresCgroup postgres's group, when it has one, for the last-resort kill
     */
    public Supervisor(List<String> command, Path log, Path dataDir, Optional<CgroupSet> postgresCgroup) {
        this.command = List.copyOf(command);
        this.log = log;
        this.dataDir = dataDir;
        this.postgresCgroup = postgresCgroup;
    }

    /** Starts the agent, and keeps starting it, on a thread of its own. */
    public void start() {
        thread = Thread.ofPlatform().name("supervisor").start(this::superviseForever);
    }

    private void superviseForever() {
        RestartBackoff backoff = RestartBackoff.initial();
        while (true) {
            Instant started = Instant.now();
            Process process;
            synchronized (lock) {
                if (stopping) {
                    return;
                }
                try {
                    process = launch();
                } catch (IOException | RuntimeException e) {
                    process = null;
                    lastExit = "could not start: " + e.getMessage();
                    LOG.warn("cannot start the agent ({}): {}", command.getFirst(), e.getMessage());
                }
                agent = process;
                if (process != null) {
                    starts++;
                    LOG.info("started the agent (pid {}), start {}", process.pid(), starts);
                }
                writeStatus(process, started);
            }
            if (process != null) {
                int code = waitFor(process);
                synchronized (lock) {
                    if (stopping) {
                        return;
                    }
                    lastExit = "exit status " + code + " at " + Instant.now();
                }
            }
            Duration uptime = Duration.between(started, Instant.now());
            backoff = backoff.next(uptime);
            LOG.warn(
                    "the agent exited ({}) after {} ms; starting it again in {} ms",
                    lastExit,
                    uptime.toMillis(),
                    backoff.previous().toMillis());
            try {
                Thread.sleep(backoff.previous());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private Process launch() throws IOException {
        Files.createDirectories(log.getParent());
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        builder.environment().put("WARDEN_AGENT_START", Integer.toString(starts + 1));
        return builder.start();
    }

    private static int waitFor(Process process) {
        while (true) {
            try {
                return process.waitFor();
            } catch (InterruptedException e) {
                // Only stop() interrupts, and it ends the agent itself; wait for that.
            }
        }
    }

    private void writeStatus(Process process, Instant started) {
        Status status = new Status(starts, process == null ? 0 : process.pid(), started.toString(), lastExit);
        try {
            AtomicFile.replaceOwnerOnly(Status.file(log), Json.writePretty(status));
        } catch (IOException | RuntimeException e) {
            LOG.warn("cannot write {}: {}", Status.file(log), e.getMessage());
        }
    }

    /**
     * Ends the agent (SIGTERM: it stops its postgres, and gives up leading; SIGKILL after {@code agentGrace}), then
     * whatever postgres is left on the data directory (SIGINT, PostgreSQL's fast shutdown; killed after
     * {@code postgresGrace}). No agent is started after this.
     */
    public void stop(Duration agentGrace, Duration postgresGrace) {
        Process process;
        synchronized (lock) {
            stopping = true;
            process = agent;
        }
        if (thread != null) {
            thread.interrupt();
        }
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(agentGrace.toMillis(), TimeUnit.MILLISECONDS)) {
                    LOG.warn("the agent did not stop within {} s; killing it", agentGrace.toSeconds());
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        stopPostgres(postgresGrace);
    }

    /** An agent killed, or one that could not stop its postgres, leaves it running: it stops here, last. */
    private void stopPostgres(Duration grace) {
        Optional<Long> postmaster = postmaster();
        if (postmaster.isEmpty()) {
            return;
        }
        LOG.info("postgres (pid {}) still runs after the agent stopped; fast shutdown", postmaster.get());
        io.warden.common.Processes.signal(postmaster.get(), "INT");
        boolean stopped;
        try {
            stopped = Poll.every(Duration.ofMillis(50))
                    .until(grace, () -> postmaster().isEmpty());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            stopped = false;
        }
        if (!stopped) {
            Fence.kill(dataDir, postgresCgroup).ifPresent(killed -> LOG.warn("postgres did not stop: {}", killed));
        }
    }

    private Optional<Long> postmaster() {
        return Fence.runningPostmaster(dataDir);
    }
}
