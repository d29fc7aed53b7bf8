package io.warden.router;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * One client connection relayed to one node: the two channels, and the backend key the node issued (for cancels).
 * Both channels live on the same event loop, so the relay never hands a buffer from one thread to another.
 *
 * <p>Hazard: a session must end through {@link #close()} or {@link #drainAndClose(Channel)}, never by closing one
 * channel alone, or the router keeps counting it (routing by least sessions) and keeps its cancel key.
 */
final class Session {
    final Router.Port port;
    final RouteTarget target;
    final Channel client;
    final Channel server;
    /** When the router relayed it, on the router's clock (for the access log's duration). */
    final long openedNanos;

    volatile long cancelKey;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Consumer<Session> onClose;

    Session(
            Router.Port port,
            RouteTarget target,
            Channel client,
            Channel server,
            long openedNanos,
            Consumer<Session> onClose) {
        this.port = port;
        this.openedNanos = openedNanos;
        this.target = target;
        this.client = client;
        this.server = server;
        this.onClose = onClose;
    }

    /** Closes both sides at once, dropping what is not yet written: used by fencing, which must not wait. */
    void close() {
        if (closed.compareAndSet(false, true)) {
            onClose.accept(this);
            client.close();
            server.close();
        }
    }

    /**
     * One side closed: the other side first receives what was already read from the closed one (a FATAL
     * ErrorResponse from postgres, a client's Terminate), then closes.
     */
    void drainAndClose(Channel closedSide) {
        if (closed.compareAndSet(false, true)) {
            onClose.accept(this);
            Channel other = closedSide == client ? server : client;
            other.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    boolean isClosed() {
        return closed.get();
    }
}
