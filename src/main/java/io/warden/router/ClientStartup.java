package io.warden.router;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client connection until its first packet has decided what it is: answers GSSENCRequest with 'N', forwards a
 * CancelRequest, refuses garbage, and for an SSLRequest or StartupMessage connects to the chosen node, sends the
 * packet on and hands the channel over to a {@link Relay}. Reading stops while the node is being connected to, so
 * a slow or silent node costs one idle channel and no thread.
 *
 * <p>All of it runs on the channel's event loop; the node's channel is opened on the same loop.
 */
final class ClientStartup extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(ClientStartup.class);
    /** Postgres closes a cancel connection once it has read the request; past this we stop waiting for that. */
    private static final long CANCEL_WAIT_MILLIS = 2000;

    private final Router router;
    private final Router.Port port;
    /** Bytes received and not yet handled; after the first packet, what the client sent behind it. */
    private ByteBuf pending;
    /** The first packet has decided this connection's fate; nothing more is read as a startup packet. */
    private boolean decided;

    private ScheduledFuture<?> timeout;
    /** A node was chosen: a later wake-up or the end of the hold must not route this connection again. */
    private boolean routed;
    /** While held for a node: refuses the connection when {@code wait_for_node} runs out. */
    private ScheduledFuture<?> holdEnd;

    private Session session;
    private int cancelsInFlight;

    ClientStartup(Router router, Router.Port port) {
        this.router = router;
        this.port = port;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        router.metrics.accepted();
        java.net.SocketAddress remote = ctx.channel().remoteAddress();
        if (remote instanceof java.net.InetSocketAddress client
                && !ClientRange.anyContains(router.config().allowedClients(), client.getAddress())) {
            router.metrics.rejected();
            router.refusedClient(client);
            refuse(
                    ctx,
                    "28000",
                    "connections from " + client.getAddress().getHostAddress() + " are not allowed by Warden router "
                            + router.config().id() + " (allowed_clients)");
            return;
        }
        if (!router.admit(ctx.channel())) {
            router.metrics.rejected();
            refuse(
                    ctx,
                    "53300",
                    "too many connections to the Warden router (max_connections " + router.connectionLimit() + ")");
            return;
        }
        long millis = router.config().startupTimeout().toMillis();
        timeout = ctx.executor()
                .schedule(
                        () -> refuse(ctx, "08P01", "no startup packet within " + millis + " ms"),
                        millis,
                        TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (timeout != null) {
            timeout.cancel(false);
        }
        if (holdEnd != null) {
            holdEnd.cancel(false);
        }
        if (session != null) {
            session.close();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        if (pending == null) {
            pending = in;
        } else {
            pending = append(ctx, pending, in);
        }
        while (!decided) {
            Optional<PgWire.StartupPacket> packet;
            try {
                packet = PgWire.readStartup(pending);
            } catch (PgWire.ProtocolException e) {
                router.metrics.rejected();
                refuse(ctx, "08P01", e.getMessage());
                return;
            }
            if (packet.isEmpty()) {
                return;
            }
            handle(ctx, packet.get());
        }
    }

    private static ByteBuf append(ChannelHandlerContext ctx, ByteBuf to, ByteBuf from) {
        try {
            if (to.writableBytes() >= from.readableBytes()) {
                return to.writeBytes(from);
            }
            ByteBuf joined = ctx.alloc().buffer(to.readableBytes() + from.readableBytes());
            joined.writeBytes(to).writeBytes(from);
            to.release();
            return joined;
        } finally {
            from.release();
        }
    }

    private void handle(ChannelHandlerContext ctx, PgWire.StartupPacket packet) {
        switch (packet.code()) {
            // Not offered: the client falls back to SSLRequest or a plain StartupMessage on this connection.
            case PgWire.GSSENC_REQUEST -> ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {'N'}));
            case PgWire.CANCEL_REQUEST -> {
                decide(ctx);
                cancel(ctx, packet);
            }
            case PgWire.SSL_REQUEST, PgWire.PROTOCOL_3 -> {
                decide(ctx);
                connect(ctx, packet);
            }
            default -> refuse(ctx, "08P01", "unsupported protocol or request code " + packet.code());
        }
    }

    private void decide(ChannelHandlerContext ctx) {
        decided = true;
        timeout.cancel(false);
        ctx.channel().config().setAutoRead(false);
    }

    private void connect(ChannelHandlerContext ctx, PgWire.StartupPacket first) {
        connect(
                ctx,
                first,
                router.clock().nanoTime() + router.config().waitForNode().toNanos());
    }

    /**
     * Connects to where the port routes now. With nowhere to go (a hand-over under way) the connection is held,
     * the client's reading still paused, and tried again whenever the router's routing changes, until
     * {@code deadline}: a session opened during a switchover reaches the new primary as soon as the router sees
     * it, instead of failing. A fenced router refuses at once, and what it held when it fenced.
     */
    private void connect(ChannelHandlerContext ctx, PgWire.StartupPacket first, long deadline) {
        if (routed || !ctx.channel().isActive()) {
            return;
        }
        long seen = router.routingVersion();
        Optional<RouteTarget> target = router.route(port);
        if (target.isEmpty()) {
            long left = deadline - router.clock().nanoTime();
            if (router.serving() && left > 0) {
                if (holdEnd == null) {
                    // Called with "now" as the deadline: no time left then, so it routes or refuses.
                    holdEnd = ctx.executor()
                            .schedule(() -> connect(ctx, first, router.clock().nanoTime()), left, TimeUnit.NANOSECONDS);
                }
                router.whenRoutingChanges(seen, () -> ctx.executor().execute(() -> connect(ctx, first, deadline)));
                return;
            }
            refuse(ctx, "57P03", unavailable(holdEnd != null));
            return;
        }
        routed = true;
        if (holdEnd != null) {
            holdEnd.cancel(false);
        }
        long connecting = router.clock().nanoTime();
        router.connectToNode(ctx.channel().eventLoop(), target.get()).addListener((ChannelFuture connected) -> {
            if (!connected.isSuccess()) {
                refuse(
                        ctx,
                        "08006",
                        "cannot reach " + target.get() + ": "
                                + connected.cause().getMessage());
                return;
            }
            router.metrics.connectedToNode(router.clock().nanoTime() - connecting);
            Channel server = connected.channel();
            if (!ctx.channel().isActive()) {
                server.close();
                return;
            }
            session = router.open(port, target.get(), ctx.channel(), server);
            if (session.isClosed()) {
                return;
            }
            if (first.code() == PgWire.PROTOCOL_3) {
                server.pipeline().addLast(new ServerStartup(session, router::rememberCancelKey));
            }
            server.pipeline().addLast(new Relay(session, router.metrics.bytesToClient, Relay.OPEN));
            server.write(Unpooled.wrappedBuffer(first.bytes()));
            if (pending.isReadable()) {
                router.metrics.bytesToServer.inc(pending.readableBytes());
                server.write(pending);
                pending = null;
            }
            server.flush();
            // A read-write session's client bytes pass only while the router may route writes (see mayForwardWrites).
            Relay.Gate gate = port == Router.Port.READ_WRITE ? router::mayForwardWrites : Relay.OPEN;
            ctx.pipeline().replace(this, "relay", new Relay(session, router.metrics.bytesToServer, gate));
            server.config().setAutoRead(true);
            ctx.channel().config().setAutoRead(true);
        });
    }

    /** A CancelRequest goes to the node that issued the key; a key another router saw goes to every node. */
    private void cancel(ChannelHandlerContext ctx, PgWire.StartupPacket packet) {
        router.metrics.cancelRequested();
        long key = ((long) packet.intAt(8) << 32) | (packet.intAt(12) & 0xFFFFFFFFL);
        List<RouteTarget> targets = router.cancelTargets(key);
        cancelsInFlight = targets.size();
        if (targets.isEmpty()) {
            ctx.close();
        }
        // The client's connection closes once every node has had the request, as a direct connection would.
        ChannelFutureListener oneDone = done -> {
            if (--cancelsInFlight == 0) {
                ctx.close();
            }
        };
        for (RouteTarget target : targets) {
            router.connectToNode(ctx.channel().eventLoop(), target).addListener((ChannelFuture connected) -> {
                if (!connected.isSuccess()) {
                    LOG.debug("cancel to " + target + " failed: "
                            + connected.cause().getMessage());
                    oneDone.operationComplete(connected);
                    return;
                }
                Channel node = connected.channel();
                node.pipeline().addLast(DISCARD);
                node.closeFuture().addListener(oneDone);
                node.writeAndFlush(Unpooled.wrappedBuffer(packet.bytes()));
                node.config().setAutoRead(true);
                node.eventLoop().schedule(() -> node.close(), CANCEL_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            });
        }
    }

    /** Why no node was found, and what the user can do: held until {@code wait_for_node} ran out, or fenced. */
    private String unavailable(boolean held) {
        String what = port == Router.Port.READ_WRITE ? "no primary" : "no node for reads";
        if (!router.serving()) {
            return what + ": this router lost the DCS and stopped routing; connect through the other router";
        }
        if (held) {
            long waited = router.config().waitForNode().toMillis();
            return what + " became available within wait_for_node ("
                    + (waited % 1000 == 0 ? waited / 1000 + " s" : waited + " ms")
                    + "); a failover may be under way or the cluster paused: retry, and see `warden list`";
        }
        return what + " is available right now; see `warden list`";
    }

    /** Sends an ErrorResponse the client's driver shows as the reason, then closes. */
    private void refuse(ChannelHandlerContext ctx, String sqlState, String message) {
        decided = true;
        if (timeout != null) {
            timeout.cancel(false);
        }
        ctx.writeAndFlush(Unpooled.wrappedBuffer(PgWire.error(sqlState, message)))
                .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (pending != null) {
            pending.release();
            pending = null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A reset during the startup phase: nothing to tell anyone.
        ctx.close();
    }

    /** Reads whatever a node sends on a cancel connection (postgres sends nothing) and drops it. */
    @ChannelHandler.Sharable
    private static final class Discard extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }

    private static final Discard DISCARD = new Discard();
}
