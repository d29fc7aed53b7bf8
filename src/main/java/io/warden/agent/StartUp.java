package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.common.WardenException;
import io.warden.dcs.DcsException;
import io.warden.dcs.Lease;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's start-up checks, before its HA loop runs: etcd answers (the first lease is granted), and no other live
 * agent uses this node's name. Either failing stops the agent with what is wrong and what to do.
 */
final class StartUp {
    private static final Logger LOG = LoggerFactory.getLogger(StartUp.class);

    private final Node node;
    private final Peers peers;
    private final String instanceId;

    StartUp(Node node, Peers peers, String instanceId) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
        this.peers = peers;
        this.instanceId = instanceId;
    }

    /** Grants the first lease; the agent does nothing else until etcd answers. */
    void connect() {
        try {
            node.lease().start(Lease.STARTUP_WAIT);
        } catch (DcsException e) {
            throw new WardenException(
                    "cannot reach etcd at " + String.join(",", node.config().etcd()) + " for "
                            + Lease.STARTUP_WAIT.toSeconds() + " s: " + e.getMessage(),
                    "start etcd, or fix the 'etcd' endpoints in the agent's config file");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WardenException("interrupted while waiting for etcd at start-up", "start the agent again");
        }
    }

    /** How long a read at start-up is retried after the first that fails. */
    private static final java.time.Duration READ_RETRY = java.time.Duration.ofMillis(250);

    /**
     * The cluster as etcd holds it, for the start-up checks. etcd has just granted the first lease, but on a busy
     * machine its next answer can still come late: a read that times out is tried again until
     * {@link Lease#STARTUP_WAIT} has passed, instead of ending the agent (nothing restarts it yet).
     */
    private ClusterSnapshot readAtStart() {
        long deadline = node.clock().nanoTime() + Lease.STARTUP_WAIT.toNanos();
        while (true) {
            try {
                return node.dcs().read();
            } catch (DcsException e) {
                if (node.clock().nanoTime() - deadline > 0) {
                    throw new WardenException(
                            "cannot read the cluster from etcd at "
                                    + String.join(",", node.config().etcd()) + " for " + Lease.STARTUP_WAIT.toSeconds()
                                    + " s: " + e.getMessage(),
                            "check that etcd runs and answers (./warden list), then start the agent again");
                }
                LOG.warn("reading the cluster at start-up failed: {}; trying again", e.getMessage());
                try {
                    node.clock().sleep(READ_RETRY);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw new WardenException("interrupted while reading etcd at start-up", "start the agent again");
                }
            }
        }
    }

    /** A second agent with a name already alive in the cluster must not start: it would fight over one key. */
    void refuseDuplicateName() {
        ClusterSnapshot cluster = readAtStart();
        Member existing = cluster.members().get(node.config().name());
        if (existing == null || existing.instanceId().equals(instanceId)) {
            return;
        }
        if (existing.apiUrl().equals(node.config().apiUrl())) {
            // Our own API already holds that address (it binds before this check), so whoever published it last is
            // gone: probing it would only reach ourselves. This is a restart after a crash, before the old lease ran
            // out.
            LOG.info("an earlier run of " + node.config().name() + " at " + existing.apiUrl()
                    + " is gone: taking over its name");
            return;
        }
        OptionalInt liveness = peers.liveness(existing);
        if (liveness.isEmpty()) {
            LOG.info("an earlier run of " + node.config().name() + " at " + existing.apiUrl()
                    + " does not answer: taking over its name");
        } else if (liveness.getAsInt() < 500
                || existing.agentPid() != ProcessHandle.current().pid()) {
            throw new WardenException(
                    "node name '" + node.config().name() + "' is already alive in cluster '"
                            + node.config().cluster()
                            + "' (agent at " + existing.apiUrl() + ", pid " + existing.agentPid() + ", data "
                            + existing.dataDir() + ")",
                    "give this node another name, or stop the running one first");
        }
    }
}
