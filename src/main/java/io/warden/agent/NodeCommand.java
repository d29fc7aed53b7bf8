package io.warden.agent;

import java.util.concurrent.CompletableFuture;

/**
 * What an operator asks one node to do through its REST API. The API thread only queues it; the HA loop runs it
 * between cycles, since the loop is the only thread that starts or stops postgres.
 */
public enum NodeCommand {
    /** Stop postgres cleanly and start it again in the same role, e.g. to apply a pending_restart parameter. */
    RESTART,
    /** Rewrite the config file from the cluster config and reload postgres. */
    RELOAD,
    /** Throw away this replica's data directory and clone it again from the primary. */
    REINITIALIZE;

    /** Refused because of the node's role or state (HTTP 412), not because something failed. */
    public static final class Refused extends RuntimeException {
        public Refused(String message) {
            super(message);
        }
    }

    record Pending(NodeCommand command, CompletableFuture<String> done) {}
}
