package io.warden.cli;

import picocli.CommandLine.Mixin;

/**
 * A command through the cluster that changes who leads or what a node holds, past taking back (switchover, failover,
 * reinitialize): it asks before it acts, unless {@code --yes}, and can answer in JSON for scripts.
 */
abstract class ConfirmedCommand extends ClusterCommand {
    @Mixin
    ConfirmOption confirm;

    @Mixin
    JsonOption json;
}
