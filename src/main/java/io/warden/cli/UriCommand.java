package io.warden.cli;

import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState;
import io.warden.security.AdminPassword;
import io.warden.security.PasswordFile;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "uri",
        description =
                "Print a libpq URI as the admin role (with its password) through both routers: to the primary, or with"
                        + " --read-only to the least busy replica.")
final class UriCommand extends DeploymentCommand {
    @Option(
            names = "--read-only",
            description =
                    "through the routers' read-only port, to the least busy replica (the primary when none qualifies)")
    boolean readOnly;

    @Override
    int run(Path deployment, DeploymentState state) {
        System.out.println(uri(deployment, state, readOnly));
        return 0;
    }

    /**
     * As the {@code admin} role, in the database it owns, through both routers, so libpq moves to the second when the
     * first is lost. The read-write port only ever reaches the primary; target_session_attrs=read-write also protects
     * a client during a switch of primary. Warden's own roles are never handed out: only a deployment made before the
     * admin role existed (no admin-password file) still gets the superuser's URI, with a warning.
     */
    static String uri(Path deployment, DeploymentState state, boolean readOnly) {
        String hosts = state.routers().stream()
                .map(r -> r.host() + ":" + (readOnly ? r.readOnlyPort() : r.readWritePort()))
                .collect(Collectors.joining(","));
        String query = "?connect_timeout=2" + (readOnly ? "" : "&target_session_attrs=read-write");
        Path ca = DeploymentFile.CA_CERTIFICATE.in(deployment);
        if (Files.exists(ca)) {
            // The client checks that the node a router hands it to holds a certificate from this deployment's CA
            // naming the router's address: nobody in between can pose as the database.
            query += "&sslmode=verify-full&sslrootcert=" + encode(ca.toString());
        }
        Path adminFile = DeploymentFile.ADMIN_PASSWORD.in(deployment);
        if (!Files.exists(adminFile)) {
            System.err.println("warning: this deployment has no admin role (made before it existed): the URI is the"
                    + " superuser's; a deployment made by ./warden up from now on gets one");
            return "postgresql://postgres:"
                    + encode(PasswordFile.read(
                            DeploymentFile.SUPERUSER_PASSWORD.in(deployment), "the superuser's password"))
                    + "@" + hosts + "/postgres" + query;
        }
        return "postgresql://admin:" + encode(AdminPassword.read(adminFile)) + "@" + hosts + "/"
                + encode(state.cluster()) + query;
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }
}
