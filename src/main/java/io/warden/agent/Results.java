package io.warden.agent;

import io.warden.common.Processes.Result;
import io.warden.common.WardenException;

/** The one way the agent's actions treat a postgres program that failed (pg_ctl, pg_basebackup): as a failed action. */
final class Results {
    private Results() {}

    /** Throws when {@code result} failed, with its exit code and the last lines it printed. */
    static void check(Result result, String what) {
        if (!result.ok()) {
            throw new WardenException(
                    what + " failed (exit " + result.exitCode() + "):\n" + result.tail(),
                    "see postgres.log in the node's directory");
        }
    }
}
