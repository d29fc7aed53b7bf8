package io.warden.cli;

import picocli.CommandLine.Option;

/**
 * The --force of every command that changes who leads or deletes data: asks first on a terminal, never without
 * one (scripts and CI have none), and says so when the answer was no.
 */
final class ConfirmOption {
    @Option(names = "--force", description = "do not ask for confirmation (it is only ever asked on a terminal)")
    boolean force;

    /** True when the command may go on; on a "no" it has already told the user that nothing was changed. */
    boolean granted(String question) {
        if (force || System.console() == null) {
            return true;
        }
        String reply = System.console().readLine("%s [y/N] ", question);
        if (reply != null && reply.trim().toLowerCase(java.util.Locale.ROOT).startsWith("y")) {
            return true;
        }
        System.err.println("cancelled: nothing was changed");
        return false;
    }
}
