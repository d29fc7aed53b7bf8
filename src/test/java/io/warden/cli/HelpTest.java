package io.warden.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code warden <command> --help} (and {@code -h}) for every registered command: exit status 0 and the usage,
 * naming the command and carrying the description of each of its options and parameters. The commands are read
 * from {@link Main}'s registration, so a new one is checked without being listed here.
 */
class HelpTest {
    /** What one in-process run of the CLI printed, and its exit status. */
    private record Run(int exitCode, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exitCode = new CommandLine(new Main())
                .setOut(new PrintWriter(out, true))
                .setErr(new PrintWriter(err, true))
                .execute(args);
        return new Run(exitCode, out.toString(), err.toString());
    }

    static List<String> commands() {
        return List.copyOf(new CommandLine(new Main()).getSubcommands().keySet());
    }

    private static CommandSpec spec(String command) {
        return new CommandLine(new Main()).getSubcommands().get(command).getCommandSpec();
    }

    /**
     * Usage text wraps descriptions across lines, also inside a word at '.' or ':' (a timestamp, a dotted key);
     * compare with all whitespace gone.
     */
    private static String flat(String text) {
        return text.replaceAll("\\s+", "");
    }

    private static Stream<ArgSpec> arguments(CommandSpec spec) {
        return Stream.concat(spec.options().stream(), spec.positionalParameters().stream());
    }

    @Test
    void everyCommandOfTheReadmeIsRegistered() {
        assertThat(commands())
                .contains(
                        "up",
                        "down",
                        "list",
                        "uri",
                        "switchover",
                        "failover",
                        "show-config",
                        "edit-config",
                        "pause",
                        "resume",
                        "restart",
                        "reload",
                        "reinit",
                        "history",
                        "agent",
                        "watchdog",
                        "router");
    }

    @Test
    void topLevelHelpExitsZeroAndListsEveryCommand() {
        for (String flag : List.of("--help", "-h")) {
            Run run = run(flag);

            assertThat(run.exitCode()).as(run.err()).isZero();
            assertThat(run.out()).startsWith("Usage: warden ");
            commands().forEach(command -> assertThat(run.out()).contains("  " + command + " "));
        }
    }

    @ParameterizedTest
    @MethodSource("commands")
    void longHelpExitsZeroWithTheCommandsUsage(String command) {
        Run run = run(command, "--help");

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.err()).isEmpty();
        assertThat(run.out()).startsWith("Usage: warden " + command + " ");
        assertThat(flat(run.out()))
                .contains(flat(String.join(" ", spec(command).usageMessage().description())));
    }

    @ParameterizedTest
    @MethodSource("commands")
    void shortHelpPrintsTheSameUsage(String command) {
        Run run = run(command, "-h");

        assertThat(run.exitCode()).as(run.err()).isZero();
        assertThat(run.out()).isEqualTo(run(command, "--help").out());
    }

    @ParameterizedTest
    @MethodSource("commands")
    void everyOptionAndParameterHasADescriptionAndTheUsageShowsIt(String command) {
        String usage = flat(run(command, "--help").out());

        arguments(spec(command)).forEach(argument -> {
            String description = String.join(" ", argument.description()).strip();
            assertThat(description)
                    .as("description of %s in %s", argument.paramLabel(), command)
                    .hasSizeGreaterThan(10);
            assertThat(usage).as("usage of %s", command).contains(flat(description));
        });
    }

    @Test
    void helpIsAnsweredBeforeRequiredOptionsAreChecked() {
        // agent requires --config; asking how to give it must not fail for want of it.
        Run run = run("agent", "--help");

        assertThat(run.exitCode()).isZero();
        assertThat(run.out()).contains("--config=FILE");
    }

    @Test
    void anUnknownOptionIsStillAnError() {
        Run run = run("switchover", "--nonsense");

        assertThat(run.exitCode()).isEqualTo(CommandLine.ExitCode.USAGE);
        assertThat(run.err()).contains("Unknown option: '--nonsense'").contains("Usage: warden switchover");
    }
}
