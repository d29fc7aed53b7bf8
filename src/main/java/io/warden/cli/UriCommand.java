package io.warden.cli;

import io.warden.runtime.DeploymentState;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "uri", description = "Print a libpq URI (with credentials) that reaches the primary, or a replica.")
final class UriCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Option(names = "--read-only", description = "reach a replica (the primary when none is available)")
    boolean readOnly;

    @Override
    public Integer call() {
        System.out.println(uri(DeploymentState.read(dir.resolve()), readOnly));
        return 0;
    }

    /** Until the routers exist: a multi-host URI; libpq picks the host by target_session_attrs. */
    static String uri(DeploymentState state, boolean readOnly) {
        String hosts = state.nodes().stream().map(n -> n.host() + ":" + n.port()).collect(Collectors.joining(","));
        return "postgresql://postgres:" + URLEncoder.encode(state.superuserPassword(), StandardCharsets.UTF_8) + "@" + hosts
                + "/postgres?connect_timeout=2&target_session_attrs=" + (readOnly ? "prefer-standby" : "read-write");
    }
}
