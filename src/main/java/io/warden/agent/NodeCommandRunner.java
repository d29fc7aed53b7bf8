package io.warden.agent;

import static io.warden.agent.Results.check;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.postgres.DataState;
import io.warden.postgres.LocalState;
import io.warden.postgres.PostgresCtl.Upstream;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the operators' {@link NodeCommand}s (restart, reload, reinit) on the HA loop, between reading the DCS and
 * deciding, since the loop is the only thread that starts or stops postgres. The REST API's thread only
 * {@link #queue}s a command; everything else runs on the HA loop's thread.
 */
final class NodeCommandRunner {
    private static final Logger LOG = LoggerFactory.getLogger(NodeCommandRunner.class);

    private final Node node;
    private final WardenConf conf;
    private final Rejoin rejoin;
    private final BlockingQueue<NodeCommand.Pending> commands = new LinkedBlockingQueue<>();

    NodeCommandRunner(Node node, WardenConf conf, Rejoin rejoin) {
        this.node = java.util.Objects.requireNonNull(node, "node is null");
        this.conf = java.util.Objects.requireNonNull(conf, "conf is null");
        this.rejoin = java.util.Objects.requireNonNull(rejoin, "rejoin is null");
    }

    /** Queues {@code command} for the HA loop (any thread); the future completes when it ran. */
    CompletableFuture<String> queue(NodeCommand command) {
        CompletableFuture<String> done = new CompletableFuture<>();
        commands.add(new NodeCommand.Pending(command, done));
        return done;
    }

    /** Runs the oldest queued command, if any, and completes its future; false when none was queued. */
    boolean runNext(ClusterSnapshot cluster, LocalState local) {
        NodeCommand.Pending command = commands.poll();
        if (command == null) {
            return false;
        }
        runCommand(command, cluster, local);
        return true;
    }

    private void runCommand(NodeCommand.Pending pending, ClusterSnapshot cluster, LocalState local) {
        try {
            String outcome = switch (pending.command()) {
                case RESTART -> restart(cluster, local);
                case RELOAD -> reload(cluster, local);
                case REINITIALIZE -> reinitialize(cluster);
            };
            LOG.info(outcome);
            pending.done().complete(outcome);
        } catch (RuntimeException e) {
            LOG.warn(pending.command() + " failed: " + e.getMessage());
            pending.done().completeExceptionally(e);
        }
    }

    private Optional<Upstream> upstreamFor(ClusterSnapshot cluster) {
        return cluster.leaderMember()
                .filter(m -> !m.name().equals(node.config().name()))
                .map(WardenConf::upstream);
    }

    private String restart(ClusterSnapshot cluster, LocalState local) {
        boolean primary = local.data() == DataState.RUNNING_PRIMARY || local.data() == DataState.STOPPED_PRIMARY;
        if (primary
                && !(cluster.isLeader(node.config().name())
                        && node.lease().valid(node.clock().nanoTime()))) {
            throw new NodeCommand.Refused(
                    "this node's data directory is a primary's but it does not hold the leader key: the HA loop"
                            + " decides what it becomes, not a restart");
        }
        if (local.running()) {
            check(node.postgres().stop("fast", Duration.ofSeconds(60)), "stopping postgres for the restart");
        }
        if (primary) {
            if (!node.watchdog().arm(node.lease().term())) {
                throw new NodeCommand.Refused("the watchdog is not reachable, so this node may not start as primary");
            }
            conf.writePrimary();
        } else {
            conf.writeStandby(false, upstreamFor(cluster));
        }
        check(node.postgres().start(Duration.ofSeconds(60)), "starting postgres after the restart");
        return "restarted postgres as " + (primary ? "primary" : "replica");
    }

    private String reload(ClusterSnapshot cluster, LocalState local) {
        if (!local.running()) {
            throw new NodeCommand.Refused("postgres is not running on this node");
        }
        boolean primary = local.data() == DataState.RUNNING_PRIMARY;
        conf.write(primary, primary ? Optional.empty() : upstreamFor(cluster));
        check(conf.reload(), "reloading postgres");
        return "reloaded postgres";
    }

    private String reinitialize(ClusterSnapshot cluster) {
        if (cluster.isLeader(node.config().name())) {
            throw new NodeCommand.Refused(
                    "this node is the primary: only a replica can be rebuilt (switch over first)");
        }
        Member leader = cluster.leaderMember()
                .filter(m -> m.postgresPid() != 0)
                .orElseThrow(() -> new NodeCommand.Refused("there is no running primary to clone from"));
        rejoin.reclone(leader);
        return "rebuilt this replica from " + leader.name();
    }
}
