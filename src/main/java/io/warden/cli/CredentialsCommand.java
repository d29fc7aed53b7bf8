package io.warden.cli;

import io.warden.runtime.DeploymentState;
import io.warden.runtime.LocalDeployment;
import io.warden.security.AdminPassword;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
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
        String password = AdminPassword.read(file);
        String hosts = state.routers().stream()
                .map(r -> r.host() + ":" + r.readWritePort())
                .collect(Collectors.joining(","));
        System.out.println("user:     admin");
        System.out.println("password: " + password);
        System.out.println("database: " + state.cluster());
        System.out.println("uri:      postgresql://admin:" + URLEncoder.encode(password, StandardCharsets.UTF_8) + "@"
                + hosts + "/" + URLEncoder.encode(state.cluster(), StandardCharsets.UTF_8)
                + "?connect_timeout=2&target_session_attrs=read-write");
        return 0;
    }
}
