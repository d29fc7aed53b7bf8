package io.warden.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A TCP relay in front of each etcd member, for one process whose view of the DCS a test wants to cut off: while
 * {@link #hold held}, bytes stop flowing both ways and the connections stay open, as on a link that silently drops
 * everything (no reset, so the client learns nothing until its own timeouts run out). {@link #release} lets what
 * was held through, late.
 *
 * <p>Hazard: the relay lives in the test JVM. A process pointed at it loses etcd when the test ends, so whoever
 * points a process here points it back before {@link #close}.
 */
final class EtcdProxy implements AutoCloseable {
    private final List<ServerSocket> listeners = new ArrayList<>();
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final Object gate = new Object();
    private final String scheme;
    private boolean held;

    /** One listener on 127.0.0.1 per etcd client URL, each relaying to that member. */
    EtcdProxy(List<String> etcdClientUrls) {
        // TLS passes through the relay untouched: the client verifies etcd's certificate against 127.0.0.1, the
        // address it dials here, which every member's certificate names.
        scheme = URI.create(etcdClientUrls.getFirst()).getScheme();
        try {
            for (String url : etcdClientUrls) {
                URI target = URI.create(url);
                ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                listeners.add(listener);
                Thread.ofVirtual().name("etcd-proxy-" + listener.getLocalPort()).start(() -> accept(listener, target));
            }
        } catch (IOException e) {
            close();
            throw new UncheckedIOException(e);
        }
    }

    /** The client URLs to give the process instead of etcd's own. */
    List<String> endpoints() {
        return listeners.stream()
                .map(l -> scheme + "://127.0.0.1:" + l.getLocalPort())
                .toList();
    }

    void hold() {
        synchronized (gate) {
            held = true;
        }
    }

    void release() {
        synchronized (gate) {
            held = false;
            gate.notifyAll();
        }
    }

    private void accept(ServerSocket listener, URI target) {
        while (!listener.isClosed()) {
            try {
                Socket client = listener.accept();
                Socket server = new Socket();
                server.connect(new InetSocketAddress(target.getHost(), target.getPort()), 2000);
                sockets.add(client);
                sockets.add(server);
                Thread.ofVirtual().start(() -> pump(client, server));
                Thread.ofVirtual().start(() -> pump(server, client));
            } catch (IOException e) {
                // The listener closed, or etcd refused: the client sees a closed connection and retries.
            }
        }
    }

    /** Copies one direction; a chunk read while held waits at the gate, so nothing passes until release. */
    private void pump(Socket from, Socket to) {
        byte[] buffer = new byte[16384];
        try (InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream()) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                awaitOpen();
                out.write(buffer, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // Either side closed: the other goes too, below.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private void awaitOpen() throws InterruptedException {
        synchronized (gate) {
            while (held) {
                gate.wait();
            }
        }
    }

    private void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException ignored) {
            // Already closed.
        }
        if (c instanceof Socket s) {
            sockets.remove(s);
        }
    }

    @Override
    public void close() {
        release();
        listeners.forEach(this::closeQuietly);
        List.copyOf(sockets).forEach(this::closeQuietly);
    }
}
