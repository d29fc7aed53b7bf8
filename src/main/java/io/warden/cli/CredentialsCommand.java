package io.warden.cli;

import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState;
import io.warden.security.AdminPassword;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(
        name = "credentials",
        description = "Show the admin role's password and a URI that logs in as admin through both routers"
                + " (the password file is owner-only; the role is no superuser: see docs/security.md).",
        subcommands = CredentialsCommand.Rotate.class)
final class CredentialsCommand extends DeploymentCommand {
    @Override
    int run(Path deployment, DeploymentState state) {
        Path file = DeploymentFile.ADMIN_PASSWORD.in(deployment);
        if (!Files.exists(file)) {
            throw new io.warden.common.WardenException(
                    "this deployment has no admin password (" + file + " is missing): it was made before the admin"
                            + " role existed",
                    "a cluster bootstrapped by ./warden up from now on gets one");
        }
        System.out.println("user:     admin");
        System.out.println("password: " + AdminPassword.read(file));
        System.out.println("database: " + state.cluster());
        System.out.println("uri:      " + UriCommand.uri(deployment, state, false));
        return 0;
    }

    @Command(
            name = "rotate",
            description = "Give a role a new password: the primary first (as a SCRAM verifier), then wait until every"
                    + " replica has replayed it, then publish it (warden credentials shows it). Clients that read the"
                    + " new password never fail with it; run again to finish a rotation cut short.")
    static final class Rotate implements Callable<Integer> {
        @Mixin
        DirOption dir;

        /** --dir given before the subcommand ({@code warden credentials --dir D rotate admin}) counts too. */
        @picocli.CommandLine.ParentCommand
        CredentialsCommand parent;

        @picocli.CommandLine.Parameters(paramLabel = "ROLE", description = "the role: admin")
        String role;

        @picocli.CommandLine.Option(
                names = "--replay-timeout",
                description = "how long to wait for the replicas (default: ${DEFAULT-VALUE})",
                defaultValue = "60s")
        String replayTimeout;

        @Override
        public Integer call() throws Exception {
            if (!role.equals("admin")) {
                throw new io.warden.common.WardenException(
                        "cannot rotate '" + role + "': only admin's password is rotated here",
                        "Warden's own roles log in by certificate or with secrets only the agents hold; for a role"
                                + " made with warden.create_role use warden.set_password from psql");
            }
            Path deployment = dir.dir == null ? parent.dir.resolve() : dir.resolve();
            java.time.Duration timeout;
            try {
                timeout = io.warden.common.Units.duration(replayTimeout);
            } catch (IllegalArgumentException e) {
                throw new io.warden.common.WardenException(
                        "--replay-timeout " + replayTimeout + " is not a duration", "use e.g. 60s or 2m");
            }
            new AdminRotation(deployment, DeploymentState.read(deployment), System.out).rotate(timeout);
            return 0;
        }
    }
}
