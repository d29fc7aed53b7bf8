package io.warden.cli;

import io.warden.watchdog.Watchdog;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "watchdog",
        description = "Run a node's watchdog, which fences postgres when the agent stops checking in.")
final class WatchdogCommand implements Callable<Integer> {
    @Option(
            names = "--socket",
            paramLabel = "PATH",
            required = true,
            description = "the Unix socket on which the agent checks in")
    Path socket;

    @Option(
            names = "--data-dir",
            paramLabel = "DIR",
            required = true,
            description = "data directory of the postgres to kill when the agent stops checking in")
    Path dataDir;

    @Option(
            names = "--postgres-cgroup",
            paramLabel = "DIRS",
            description = "postgres's cgroup (its directories, comma-separated), killed whole when the agent stops"
                    + " checking in")
    String postgresCgroup;

    @Option(
            names = "--agent-log",
            paramLabel = "FILE",
            description = "with an agent command: where its output goes (supervisor.json is written beside it)")
    Path agentLog;

    @picocli.CommandLine.Parameters(
            paramLabel = "AGENT_COMMAND",
            arity = "0..*",
            description = "after --: the agent's command line; the watchdog then also supervises it (starts it, starts"
                    + " it again with backoff when it exits, and on SIGTERM stops it and then postgres)")
    java.util.List<String> agentCommand;

    @Override
    public Integer call() throws Exception {
        var cgroup = io.warden.common.CgroupSet.parseOptional(postgresCgroup);
        Watchdog watchdog = new Watchdog(socket, dataDir, cgroup);
        if (agentCommand == null || agentCommand.isEmpty()) {
            watchdog.run();
            return 0;
        }
        if (agentLog == null) {
            throw new io.warden.common.WardenException(
                    "an agent command needs --agent-log", "give the file the agent's output should go to");
        }
        var supervisor = new io.warden.watchdog.Supervisor(agentCommand, agentLog, dataDir, cgroup);
        // The node's logs share its volume with its data: bounded by size and age, checked once a minute.
        var rotation = new io.warden.watchdog.LogRotation(
                agentLog.toAbsolutePath().getParent(),
                java.util.List.of(agentLog.getFileName().toString(), "postgres.log", "watchdog.log"),
                io.warden.watchdog.LogRotation.Policy.DEFAULT,
                java.time.Clock.systemUTC());
        Thread.ofPlatform().daemon().name("log-rotation").start(() -> {
            while (true) {
                try {
                    Thread.sleep(java.time.Duration.ofMinutes(1));
                } catch (InterruptedException e) {
                    return;
                }
                rotation.rotateDue();
            }
        });
        // SIGTERM: the agent first (it stops its postgres and gives up leading), then whatever postgres is left. The
        // watchdog's loop keeps fencing meanwhile: shutdown hooks run beside the other threads.
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> supervisor.stop(java.time.Duration.ofSeconds(40), java.time.Duration.ofSeconds(20)),
                        "supervisor-stop"));
        watchdog.run(supervisor::start);
        return 0;
    }
}
