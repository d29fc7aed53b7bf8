package io.warden.router;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.warden.common.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sessions a router relays: counted per node (reads go to the least busy replica, counted across both routers),
 * with the backend key each node issued (a cancel request names only the key), and the client connections that
 * {@code max_connections} limits. Thread-safe: event loops register and forget sessions while the topology thread
 * counts and closes them.
 */
final class Sessions {
    /**
     * One line per relayed session as it ends, with the client's address: postgres sees every routed client as the
     * router, so this is where a client is known by its address. A logger of its own, so it can be routed to a
     * file or turned off without the router's other lines.
     */
    private static final Logger ACCESS = LoggerFactory.getLogger("io.warden.router.access");

    private final Set<Session> open = ConcurrentHashMap.newKeySet();
    private final Map<Long, RouteTarget> cancelKeys = new ConcurrentHashMap<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final int limit;
    private final Clock clock;

    Sessions(int limit, Clock clock) {
        this.limit = limit;
        this.clock = clock;
    }

    /**
     * Counts a client connection against max_connections until it closes; false (and not counted) when there is no
     * room. Given back on the channel's close, not by a handler: the startup handler leaves the pipeline once the
     * session relays, and releasing from it leaked every relayed session's place (the router then refused everyone
     * after max_connections sessions in its lifetime).
     */
    boolean admit(Channel client) {
        if (connections.incrementAndGet() > limit) {
            connections.decrementAndGet();
            return false;
        }
        client.closeFuture().addListener(closed -> connections.decrementAndGet());
        return true;
    }

    int connections() {
        return connections.get();
    }

    int limit() {
        return limit;
    }

    Session register(Router.Port port, RouteTarget target, Channel client, Channel server) {
        Session session = new Session(port, target, client, server, clock.nanoTime(), this::forget);
        open.add(session);
        return session;
    }

    private void forget(Session session) {
        open.remove(session);
        if (ACCESS.isInfoEnabled()) {
            ACCESS.info("session from " + address(session.client.remoteAddress()) + " to " + session.target + " ("
                    + (session.port == Router.Port.READ_WRITE ? "read-write" : "read-only") + ") ended after "
                    + (clock.nanoTime() - session.openedNanos) / 1_000_000 + " ms");
        }
        if (session.cancelKey != 0) {
            cancelKeys.remove(session.cancelKey);
        }
    }

    private static String address(java.net.SocketAddress address) {
        return address instanceof java.net.InetSocketAddress inet
                ? inet.getAddress().getHostAddress() + ":" + inet.getPort()
                : String.valueOf(address);
    }

    void rememberCancelKey(Session session, long key) {
        session.cancelKey = key;
        cancelKeys.put(key, session.target);
        if (session.isClosed()) {
            cancelKeys.remove(key);
        }
    }

    /** The node that issued {@code key}, when one of this router's sessions got it. */
    Optional<RouteTarget> issuerOf(long key) {
        return Optional.ofNullable(cancelKeys.get(key));
    }

    /** Open sessions per node name. */
    Map<String, Long> perNode() {
        Map<String, Long> counts = new HashMap<>();
        for (Session session : open) {
            counts.merge(session.target.name(), 1L, Long::sum);
        }
        return counts;
    }

    int size() {
        return open.size();
    }

    void closeAll() {
        open.forEach(Session::close);
    }

    /**
     * Closes every read-write session whose node is not {@code primary}, calling {@code onEach} for each; returns the
     * close futures of their node channels (the router acknowledges the change only once they have completed).
     */
    List<ChannelFuture> closeWritesNotTo(Optional<RouteTarget> primary, Runnable onEach) {
        List<ChannelFuture> closing = new ArrayList<>();
        for (Session session : open) {
            if (session.port == Router.Port.READ_WRITE && !primary.equals(Optional.of(session.target))) {
                onEach.run();
                session.close();
                closing.add(session.server.closeFuture());
            }
        }
        return closing;
    }
}
