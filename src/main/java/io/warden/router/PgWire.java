package io.warden.router;

import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The few pieces of the PostgreSQL wire protocol the router reads: the first packet of a connection (which has no
 * type byte), message framing during the startup phase (see {@link ServerStartup}), and an ErrorResponse to
 * refuse a client politely.
 */
final class PgWire {
    static final int SSL_REQUEST = 80877103;
    static final int GSSENC_REQUEST = 80877104;
    static final int CANCEL_REQUEST = 80877102;
    static final int PROTOCOL_3 = 196608;
    /** Larger than any real startup packet (postgres itself allows 10,000 bytes). */
    static final int MAX_STARTUP_LENGTH = 10_000;

    private PgWire() {}

    /** A first packet: its code (protocol version or request code) and the whole packet as received. */
    record StartupPacket(int code, byte[] bytes) {
        int intAt(int offset) {
            return PgWire.intAt(bytes, offset);
        }
    }

    /** A big-endian int32, the protocol's only integer layout. */
    static int intAt(byte[] bytes, int offset) {
        return ((bytes[offset] & 0xFF) << 24)
                | ((bytes[offset + 1] & 0xFF) << 16)
                | ((bytes[offset + 2] & 0xFF) << 8)
                | (bytes[offset + 3] & 0xFF);
    }

    /**
     * Takes one length-prefixed first packet off {@code in} when all of it has arrived; empty (consuming nothing)
     * while it has not. Throws ProtocolException as soon as the length shows a packet no client sends, so a
     * client cannot make the router wait for or buffer 2 GB.
     */
    static Optional<StartupPacket> readStartup(ByteBuf in) throws ProtocolException {
        if (in.readableBytes() < 4) {
            return Optional.empty();
        }
        int length = in.getInt(in.readerIndex());
        if (length < 8 || length > MAX_STARTUP_LENGTH) {
            throw new ProtocolException("invalid startup packet length " + length);
        }
        if (in.readableBytes() < length) {
            return Optional.empty();
        }
        byte[] bytes = new byte[length];
        in.readBytes(bytes);
        return Optional.of(new StartupPacket(intAt(bytes, 4), bytes));
    }

    /** An ErrorResponse (severity FATAL) the client's driver shows as the reason the connection failed. */
    static byte[] error(String sqlState, String message) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        field(body, 'S', "FATAL");
        field(body, 'V', "FATAL");
        field(body, 'C', sqlState);
        field(body, 'M', message);
        body.write(0);
        byte[] fields = body.toByteArray();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write('E');
        int length = fields.length + 4;
        out.write(length >>> 24);
        out.write(length >>> 16);
        out.write(length >>> 8);
        out.write(length);
        out.writeBytes(fields);
        return out.toByteArray();
    }

    private static void field(ByteArrayOutputStream out, char type, String value) {
        out.write(type);
        out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
        out.write(0);
    }

    static final class ProtocolException extends IOException {
        ProtocolException(String message) {
            super(message);
        }
    }
}
