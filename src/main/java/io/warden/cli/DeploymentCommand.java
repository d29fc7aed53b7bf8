package io.warden.cli;

import io.warden.runtime.DeploymentState;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;

/**
 * A command that reads the local deployment itself (its state file, CA and password files) rather than asking the
 * cluster's agents: {@code --dir} names it, and {@link #run} gets its directory and the state read from it.
 */
abstract class DeploymentCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Override
    public final Integer call() throws Exception {
        Path deployment = dir.resolve();
        return run(deployment, DeploymentState.read(deployment));
    }

    /** The command's work on the deployment in {@code deployment}, whose state is {@code state}; the exit status. */
    abstract int run(Path deployment, DeploymentState state) throws Exception;
}
