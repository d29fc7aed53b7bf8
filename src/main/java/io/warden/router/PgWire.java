package io.warden.router;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The few pieces of the PostgreSQL wire protocol the router reads: the first packet of a connection (which has no
 * type byte), message framing during the startup phase, and an ErrorResponse to refuse a client politely.
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
            return ((bytes[offset] & 0xFF) << 24) | ((bytes[offset + 1] & 0xFF) << 16) | ((bytes[offset + 2] & 0xFF) << 8)
                    | (bytes[offset + 3] & 0xFF);
        }
    }

    /** Reads a length-prefixed first packet; throws ProtocolException on a length no client sends. */
    static StartupPacket readStartup(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(in);
        int length = data.readInt();
        if (length < 8 || length > MAX_STARTUP_LENGTH) {
            throw new ProtocolException("invalid startup packet length " + length);
        }
        byte[] bytes = new byte[length];
        bytes[0] = (byte) (length >>> 24);
        bytes[1] = (byte) (length >>> 16);
        bytes[2] = (byte) (length >>> 8);
        bytes[3] = (byte) length;
        data.readFully(bytes, 4, length - 4);
        StartupPacket packet = new StartupPacket(0, bytes);
        return new StartupPacket(packet.intAt(4), bytes);
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

    /**
     * Copies server messages to the client one by one until ReadyForQuery, calling {@code onKey} with the
     * BackendKeyData it carries. After this the session is a plain byte relay.
     */
    static void relayStartupPhase(InputStream server, OutputStream client, KeyListener onKey) throws IOException {
        DataInputStream in = new DataInputStream(server);
        while (true) {
            int type = in.read();
            if (type < 0) {
                throw new java.io.EOFException("server closed during startup");
            }
            int length = in.readInt();
            if (length < 4 || length > 1 << 24) {
                throw new ProtocolException("server sent a message of length " + length + " during startup");
            }
            byte[] body = new byte[length - 4];
            in.readFully(body);
            client.write(type);
            client.write(length >>> 24);
            client.write(length >>> 16);
            client.write(length >>> 8);
            client.write(length);
            client.write(body);
            // Every message is flushed: an authentication request must reach the client before it can answer.
            client.flush();
            if (type == 'K' && body.length == 8) {
                StartupPacket key = new StartupPacket(0, new byte[] {0, 0, 0, 0, body[0], body[1], body[2], body[3], body[4], body[5], body[6], body[7]});
                onKey.key(key.intAt(4), key.intAt(8));
            }
            if (type == 'Z' || type == 'E') {
                return;
            }
        }
    }

    interface KeyListener {
        void key(int processId, int secret);
    }

    static final class ProtocolException extends IOException {
        ProtocolException(String message) {
            super(message);
        }
    }
}
