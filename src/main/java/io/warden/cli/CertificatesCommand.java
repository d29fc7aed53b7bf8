package io.warden.cli;

import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.DeploymentState.NodeHost;
import io.warden.security.CertificateAuthority;
import io.warden.security.NodeCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "certificates",
        description = "Show each node's TLS certificate (valid until, names) from the deployment's CA; with --renew,"
                + " re-issue at once every certificate that is due (within 7 days of expiry, other names, another CA),"
                + " the nodes' and etcd's, as the controller does every hour: each agent then reloads postgres with"
                + " the new pair.")
final class CertificatesCommand extends DeploymentCommand {
    @Option(names = "--renew", description = "re-issue now the certificates that are due, while the deployment runs")
    boolean renew;

    @Override
    int run(Path deployment, DeploymentState state) {
        if (!Files.exists(DeploymentFile.CA_KEY.in(deployment))) {
            throw new io.warden.common.WardenException(
                    "this deployment has no certificate authority (" + DeploymentFile.CA_KEY.in(deployment)
                            + " is missing): it was made before TLS",
                    "a deployment made by ./warden up from now on has one");
        }
        System.out.println(ListCommand.controllerLine(state, deployment));
        if (renew) {
            List<String> renewed = Deployments.renewCertificates(deployment);
            renewed.forEach(sentence -> System.out.println("renewed " + sentence));
            if (renewed.isEmpty()) {
                System.out.println("nothing was due");
            }
        }
        System.out.printf("%-10s %-22s %-8s %s%n", "NODE", "VALID UNTIL", "DAYS", "NAMES");
        for (NodeHost node : state.nodes()) {
            Path certificateFile =
                    Deployments.tlsDir(deployment, node.name()).resolve(NodeCertificates.SERVER_CERTIFICATE);
            if (!Files.exists(certificateFile)) {
                System.out.printf("%-10s %s%n", node.name(), "(no certificate: run with --renew)");
                continue;
            }
            X509Certificate certificate = CertificateAuthority.readCertificate(certificateFile);
            Instant until = certificate.getNotAfter().toInstant();
            System.out.printf(
                    "%-10s %-22s %-8d %s%n",
                    node.name(),
                    until,
                    Duration.between(Instant.now(), until).toDays(),
                    String.join(",", NodeCertificates.alternativeNames(certificate)));
        }
        return 0;
    }
}
