package io.warden.cli;

import io.warden.runtime.DeploymentState;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "uri",
        description =
                "Print a libpq URI (with credentials) through both routers: to the primary, or with --read-only to the least busy replica.")
final class UriCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Option(
            names = "--read-only",
            description =
                    "through the routers' read-only port, to the least busy replica (the primary when none qualifies)")
    boolean readOnly;

    @Override
    public Integer call() {
        System.out.println(uri(DeploymentState.read(dir.resolve()), readOnly));
        return 0;
    }

    /**
     * Both routers, so libpq moves to the second when the first is lost. The read-write port only ever reaches the
     * primary; target_session_attrs=read-write also protects a client during a switch of primary.
     */
    static String uri(DeploymentState state, boolean readOnly) {
        String hosts = state.routers().stream()
                .map(r -> r.host() + ":" + (readOnly ? r.readOnlyPort() : r.readWritePort()))
                .collect(Collectors.joining(","));
        return "postgresql://postgres:" + URLEncoder.encode(state.superuserPassword(), StandardCharsets.UTF_8) + "@"
                + hosts + "/postgres?connect_timeout=2" + (readOnly ? "" : "&target_session_attrs=read-write");
    }
}
