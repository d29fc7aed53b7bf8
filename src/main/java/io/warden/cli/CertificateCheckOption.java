package io.warden.cli;

import java.time.Duration;
import picocli.CommandLine.Option;

/** How often the controller checks the deployment's certificates: {@code up}'s, and the controller's own. */
final class CertificateCheckOption {
    @Option(
            names = "--certificate-check",
            paramLabel = "DURATION",
            defaultValue = "1h",
            converter = PositiveDuration.class,
            description = "how often the controller checks the certificates, renewing each in its last 7 days"
                    + " (default ${DEFAULT-VALUE})")
    Duration every;
}
