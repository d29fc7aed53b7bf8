package io.warden.cli;

import io.warden.common.WardenException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ScopeType;

/**
 * Entry point of every Warden process: the CLI, and the agent and watchdog services it starts. Every subcommand
 * inherits {@code -h/--help} and {@code -V/--version} from here ({@code scope = INHERIT}), so a new one cannot be
 * added without them; {@code HelpTest} checks each.
 */
@Command(
        name = "warden",
        scope = ScopeType.INHERIT,
        mixinStandardHelpOptions = true,
        version = "warden 0.1.0",
        description = "Self-hosted managed PostgreSQL: highly available clusters on etcd.",
        subcommands = {
            UpCommand.class,
            DownCommand.class,
            ListCommand.class,
            UriCommand.class,
            AgentCommand.class,
            WatchdogCommand.class,
            RouterCommand.class,
            SwitchoverCommand.class,
            FailoverCommand.class,
            ShowConfigCommand.class,
            EditConfigCommand.class,
            PauseCommand.Pause.class,
            PauseCommand.Resume.class,
            NodeCommands.Restart.class,
            NodeCommands.Reload.class,
            NodeCommands.Reinit.class,
            HistoryCommand.class
        })
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tF %1$tT.%1$tL %4$s %3$s: %5$s%6$s%n");
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof WardenException w) {
                commandLine.getErr().println("error: " + w.describe());
                return 2;
            }
            if (e instanceof io.warden.dcs.DcsException d) {
                commandLine.getErr().println("error: " + d.getMessage() + "\n  -> check that the deployment's etcd runs: ./warden list");
                return 2;
            }
            throw e;
        });
        System.exit(cli.execute(args));
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
