package io.warden.cli;

import io.warden.runtime.DeploymentState;
import io.warden.runtime.LocalDeployment;
import io.warden.security.AdminPassword;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(
        name = "credentials",
        description = "Show the admin role's password and a URI that logs in as admin through both routers"
                + " (the password file is owner-only; the role is no superuser: see docs/security.md).")
final class CredentialsCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Override
    public Integer call() {
        Path deployment = dir.resolve();
        DeploymentState state = DeploymentState.read(deployment);
        Path file = LocalDeployment.adminPasswordFile(deployment);
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
}
