package io.warden.router;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * Watches the server's messages of a plain-text session's startup phase as they pass (it passes every buffer on
 * unchanged) to learn the BackendKeyData, then steps out of the pipeline at ReadyForQuery or ErrorResponse: after
 * that the session is a plain byte relay. Messages may be split across buffers anywhere, so it keeps a small
 * parse state instead of buffering them.
 */
final class ServerStartup extends ChannelInboundHandlerAdapter {
    /** The longest message postgres sends before ReadyForQuery is far shorter; a longer one means a confused peer. */
    private static final int MAX_MESSAGE_LENGTH = 1 << 24;

    private final Session session;
    private final KeyListener onKey;
    private final byte[] header = new byte[5];
    private int headerFilled;
    private int remaining;
    private final byte[] key = new byte[8];
    private int keyFilled;

    interface KeyListener {
        void key(Session session, long key);
    }

    ServerStartup(Session session, KeyListener onKey) {
        this.session = session;
        this.onKey = onKey;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        boolean done;
        try {
            done = scan(in);
        } catch (PgWire.ProtocolException e) {
            in.release();
            session.close();
            return;
        }
        if (done) {
            ctx.pipeline().remove(this);
        }
        ctx.fireChannelRead(in);
    }

    /** Advances the parse over {@code in} without consuming it; true once ReadyForQuery or an error went by. */
    private boolean scan(ByteBuf in) throws PgWire.ProtocolException {
        int index = in.readerIndex();
        int end = in.writerIndex();
        while (index < end) {
            if (headerFilled < header.length) {
                header[headerFilled++] = in.getByte(index++);
                if (headerFilled == header.length) {
                    int length = PgWire.intAt(header, 1);
                    if (length < 4 || length > MAX_MESSAGE_LENGTH) {
                        throw new PgWire.ProtocolException(
                                "server sent a message of length " + length + " during startup");
                    }
                    remaining = length - 4;
                    keyFilled = 0;
                } else {
                    continue;
                }
            } else {
                int n = Math.min(remaining, end - index);
                if (isKeyData()) {
                    in.getBytes(index, key, keyFilled, n);
                    keyFilled += n;
                }
                index += n;
                remaining -= n;
            }
            if (remaining == 0) {
                headerFilled = 0;
                byte type = header[0];
                if (isKeyData()) {
                    onKey.key(session, ((long) PgWire.intAt(key, 0) << 32) | (PgWire.intAt(key, 4) & 0xFFFFFFFFL));
                }
                if (type == 'Z' || type == 'E') {
                    return true;
                }
            }
        }
        return false;
    }

    private boolean isKeyData() {
        return header[0] == 'K' && PgWire.intAt(header, 1) == 12;
    }
}
