package io.warden.router;

import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.NodeTags;
import io.warden.cluster.Role;
import io.warden.dcs.FakeDcs;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;

/**
 * A node that speaks just enough of the PostgreSQL protocol for a router test: it accepts one connection, reads the
 * StartupMessage, answers AuthenticationOk, BackendKeyData and ReadyForQuery, and from then on records every byte
 * the router forwards to it. Not a postgres: only for what the router does with bytes.
 */
final class FakeNode implements AutoCloseable {
    private final ServerSocket listener;
    private final ByteArrayOutputStream received = new ByteArrayOutputStream();
    private final Thread thread;
    private volatile Socket connection;

    FakeNode() throws IOException {
        listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        thread = Thread.ofPlatform().daemon().name("fake-node").start(this::serve);
    }

    int port() {
        return listener.getLocalPort();
    }

    /**
     * Makes this node the cluster's primary in {@code store}: node-1, running, holding the leader key, published on
     * this node's port, under a lease of 600 s that nobody renews (it outlasts any test).
     */
    void leadsIn(FakeDcs store) {
        long lease = store.grantLease(Duration.ofSeconds(600));
        store.acquireLeader("node-1", lease);
        store.publishMember(
                new Member(
                        "node-1",
                        Role.PRIMARY,
                        MemberState.RUNNING,
                        "127.0.0.1",
                        port(),
                        "http://127.0.0.1:1",
                        1,
                        "0/3000000",
                        0,
                        NodeTags.NONE,
                        1,
                        1,
                        "i-1",
                        "/data",
                        false),
                lease);
    }

    /** Whether the router has opened a connection to this node (it accepts one). */
    boolean connected() {
        return connection != null;
    }

    /** What arrived after the startup phase. */
    synchronized int bytesAfterStartup() {
        return received.size();
    }

    private void serve() {
        try (Socket socket = listener.accept()) {
            connection = socket;
            DataInputStream in = new DataInputStream(socket.getInputStream());
            int length = in.readInt();
            in.readFully(new byte[length - 4]);
            OutputStream out = socket.getOutputStream();
            out.write(message('R', ByteBuffer.allocate(4).putInt(0).array()));
            out.write(message(
                    'K', ByteBuffer.allocate(8).putInt(4242).putInt(0x5eed).array()));
            out.write(message('Z', new byte[] {'I'}));
            out.flush();
            InputStream rest = socket.getInputStream();
            byte[] buffer = new byte[4096];
            for (int n; (n = rest.read(buffer)) > 0; ) {
                synchronized (this) {
                    received.write(buffer, 0, n);
                }
            }
        } catch (IOException e) {
            // The router closed the connection, or the test ended.
        }
    }

    static byte[] message(char type, byte[] body) {
        return ByteBuffer.allocate(5 + body.length)
                .put((byte) type)
                .putInt(4 + body.length)
                .put(body)
                .array();
    }

    /** A protocol 3.0 StartupMessage for {@code user}. */
    static byte[] startup(String user) {
        byte[] params = ("user\0" + user + "\0\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(8 + params.length)
                .putInt(8 + params.length)
                .putInt(196608)
                .put(params)
                .array();
    }

    /** Reads messages from {@code in} until ReadyForQuery. */
    static void readUntilReady(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(in);
        while (true) {
            byte type = data.readByte();
            int length = data.readInt();
            data.readFully(new byte[length - 4]);
            if (type == 'Z') {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
        Socket socket = connection;
        if (socket != null) {
            socket.close();
        }
        thread.interrupt();
    }
}
