package io.warden.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;

/**
 * A command that works through the running cluster: {@code --dir} names the deployment, and {@link #run} gets one
 * {@link ClusterClient} to it, closed when the command ends. Options that do not go together are refused first
 * ({@link #checkOptions}), before the cluster is asked anything.
 */
abstract class ClusterCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Override
    public final Integer call() throws Exception {
        checkOptions();
        try (ClusterClient client = new ClusterClient(dir)) {
            return run(client);
        }
    }

    /** Throws a {@link io.warden.common.WardenException} when the options given do not make a command; none by default. */
    void checkOptions() {}

    /** The command's work, through {@code client}; returns the exit status. */
    abstract int run(ClusterClient client) throws Exception;
}
