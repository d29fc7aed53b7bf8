package io.warden.router;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;

/**
 * One direction of a session: what this channel reads is written to the peer, untouched.
 *
 * <p>Writes are flushed once per read batch ({@code channelReadComplete}), not per buffer: a batch is what one
 * epoll wake-up read, so a query's messages leave in one write(2) as they arrived. Backpressure: when the peer's
 * outbound buffer passes its high-water mark this channel stops reading, and the peer's relay starts it again
 * when the buffer drains ({@code channelWritabilityChanged}), so a slow reader never makes the router buffer a
 * fast writer's stream.
 */
final class Relay extends ChannelInboundHandlerAdapter {
    /** Whether what this channel reads may be forwarded now; asked on every read. */
    interface Gate {
        boolean open();
    }

    static final Gate OPEN = () -> true;

    private final Session session;
    /** Every byte this channel reads: one of {@link RouterMetrics}' two relayed-bytes counters. */
    private final CounterDataPoint bytes;

    private final Gate gate;

    Relay(Session session, CounterDataPoint bytes, Gate gate) {
        this.session = session;
        this.bytes = bytes;
        this.gate = gate;
    }

    private Channel peer(ChannelHandlerContext ctx) {
        return ctx.channel() == session.client ? session.server : session.client;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!gate.open()) {
            // Dropped, not forwarded: the session ends as a fenced one does.
            ReferenceCountUtil.release(msg);
            session.close();
            return;
        }
        Channel peer = peer(ctx);
        bytes.inc(((ByteBuf) msg).readableBytes());
        peer.write(msg, peer.voidPromise());
        if (!peer.isWritable()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        peer(ctx).flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            // Our outbound buffer drained: the peer, which this channel writes for, may read again.
            peer(ctx).config().setAutoRead(true);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        session.drainAndClose(ctx.channel());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A reset by either side or a failed write: the session ends, as a plain TCP proxy's would.
        session.close();
    }
}
