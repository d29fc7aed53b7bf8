package io.warden.cli;

import io.warden.common.Processes;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The --dir every command shares: where the local deployment lives. */
final class DirOption {
    @Option(
            names = "--dir",
            paramLabel = "DIR",
            description =
                    "the local deployment's directory, as given to up (default: $WARDEN_DIR, else /var/tmp/warden-<user>)")
    Path dir;

    Path resolve() {
        if (dir != null) {
            return dir.toAbsolutePath();
        }
        String env = System.getenv("WARDEN_DIR");
        if (env != null && !env.isBlank()) {
            return Path.of(env).toAbsolutePath();
        }
        // Not under the home directory: when run as root, postgres must be able to enter it.
        return Path.of("/var/tmp/warden-" + (Processes.isRoot() ? "root" : System.getProperty("user.name")));
    }
}
