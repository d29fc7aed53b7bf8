package io.warden.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The --config of the processes 'up' starts, agent and router: the YAML file each runs from. */
final class ConfigFileOption {
    @Option(
            names = "--config",
            paramLabel = "FILE",
            required = true,
            description =
                    "the YAML config file it runs from (every key: docs/configuration.md for an agent, docs/router.md for"
                            + " a router)")
    Path file;
}
