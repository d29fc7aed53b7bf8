package io.warden.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.WardenException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** What {@code warden controller} refuses before it ever starts a round. */
class ControllerCommandTest {
    @TempDir
    Path dir;

    @Test
    void aControllerForADirectoryWithoutADeploymentStopsAtOnceAndMakesNoCertificateAuthority() {
        CommandLine cli = new CommandLine(new Main());

        assertThatThrownBy(() -> cli.getSubcommands()
                        .get("controller")
                        .getExecutionStrategy()
                        .execute(cli.parseArgs("controller", "--dir", dir.toString())))
                .hasRootCauseInstanceOf(WardenException.class)
                .rootCause()
                .hasMessageContaining("no deployment in " + dir);
        assertThat(dir.resolve("ca")).doesNotExist();
        assertThat(dir.resolve("controller")).doesNotExist();
    }

    @Test
    void aCheckIntervalThatIsNotAPositiveDurationIsRefusedByUpAndTheController() {
        for (String command : new String[] {"up", "controller"}) {
            for (String value : new String[] {"0s", "-1h", "soon"}) {
                StringWriter err = new StringWriter();
                int exit = new CommandLine(new Main())
                        .setErr(new PrintWriter(err, true))
                        .execute(command, "--dir", dir.toString(), "--certificate-check", value);
                assertThat(exit).as(command + " " + value).isEqualTo(2);
                assertThat(err.toString()).as(command + " " + value).containsIgnoringCase(value);
            }
        }
        assertThat(Files.exists(dir.resolve("deployment.json"))).isFalse();
    }
}
