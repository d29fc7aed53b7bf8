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
            ControllerCommand.class,
            EventsCommand.class,
            SwitchoverCommand.class,
            FailoverCommand.class,
            ShowConfigCommand.class,
            EditConfigCommand.class,
            PauseCommand.Pause.class,
            PauseCommand.Resume.class,
            NodeCommands.Restart.class,
            NodeCommands.Reload.class,
            NodeCommands.Reinit.class,
            HistoryCommand.class,
            CredentialsCommand.class,
            CertificatesCommand.class,
            ExtensionsCommand.class,
            FaultCommand.class,
            KeysCommand.class,
            VolumesCommand.class,
            QuarantineCommand.class
        })
public final class Main implements Runnable {

    /**
     * gRPC 1.60 (under jetcd) asks for TCP_USER_TIMEOUT whenever Netty's native epoll is on the class path (the
     * router's relay puts it there) but jetcd opens NIO channels, which do not know the option: Netty's Bootstrap then
     * warns on every connection to etcd (grpc-java #11517, fixed in later gRPC). The option is simply not set, as
     * before epoll was on the class path. Held here: java.util.logging keeps only weak references to its loggers.
     */
    private static final java.util.logging.Logger NETTY_BOOTSTRAP =
            java.util.logging.Logger.getLogger("io.netty.bootstrap.Bootstrap");

    public static void main(String[] args) {
        // Every log line of every Warden process, its libraries' included (slf4j-jdk14): time, level, logger, message.
        System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tF %1$tT.%1$tL %4$s %3$s: %5$s%6$s%n");
        NETTY_BOOTSTRAP.setLevel(java.util.logging.Level.SEVERE);
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            if (e instanceof WardenException w) {
                commandLine.getErr().println("error: " + w.describe());
                return 2;
            }
            if (e instanceof io.warden.dcs.DcsException d) {
                commandLine
                        .getErr()
                        .println("error: " + d.getMessage()
                                + "\n  -> check that the deployment's etcd runs: ./warden list");
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
