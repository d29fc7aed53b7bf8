package io.warden.router;

import io.warden.common.Clock;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The active health check: a TCP connect to every node each second. The DCS says who should get sessions; this only
 * keeps reads away from a replica whose port stopped answering before its agent's record expires: the second
 * opinion. Runs on a thread of its own.
 */
final class NodeProbe implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(NodeProbe.class);

    private final Set<String> unreachable = ConcurrentHashMap.newKeySet();
    private final Supplier<List<RouteTarget>> targets;
    private final Clock clock;
    private final BooleanSupplier running;
    private final Runnable changed;

    /** @param changed called when a node is found unreachable or answering again: routing may answer differently */
    NodeProbe(Supplier<List<RouteTarget>> targets, Clock clock, BooleanSupplier running, Runnable changed) {
        this.targets = targets;
        this.clock = clock;
        this.running = running;
        this.changed = changed;
    }

    /** The nodes whose postgres port did not accept a TCP connection at the last probe. */
    Set<String> unreachable() {
        return Set.copyOf(unreachable);
    }

    boolean reachable(String node) {
        return !unreachable.contains(node);
    }

    @Override
    public void run() {
        while (running.getAsBoolean()) {
            for (RouteTarget target : targets.get()) {
                try (Socket probe = new Socket()) {
                    probe.connect(new InetSocketAddress(target.host(), target.port()), 500);
                    if (unreachable.remove(target.name())) {
                        LOG.info(target + " answers again");
                        changed.run();
                    }
                } catch (IOException e) {
                    if (unreachable.add(target.name())) {
                        LOG.warn(target + " does not accept connections: " + e.getMessage());
                        changed.run();
                    }
                }
            }
            try {
                clock.sleep(Duration.ofSeconds(1));
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
