package io.warden.watchdog;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@link WatchdogClient} over the {@link Watchdog}'s unix socket (the protocol is in docs/agent.md "The watchdog
 * protocol"). Every message waits for its answer, at most {@link #ANSWER_TIMEOUT}; a watchdog that does not answer
 * in time, or answers something else, counts as unreachable, and the connection is dropped (a late answer must not
 * be read as the answer to the next message). The channel never blocks: a watchdog frozen with a full socket buffer
 * cannot stall the lease keeper behind a write. Thread-safe: the lease keeper re-arms, the HA loop arms and disarms.
 */
final class SocketWatchdogClient implements WatchdogClient {
    /** A live watchdog answers in microseconds; a frozen one never does. Short, since the lease keeper waits on it. */
    static final Duration ANSWER_TIMEOUT = Duration.ofMillis(200);

    private final Path socket;
    private final Duration timeout;
    private SocketChannel channel;
    private Selector selector;
    private final ByteBuffer answer = ByteBuffer.allocate(128);

    SocketWatchdogClient(Path socket) {
        this(socket, ANSWER_TIMEOUT);
    }

    SocketWatchdogClient(Path socket, Duration timeout) {
        this.socket = socket;
        this.timeout = timeout;
    }

    @Override
    public synchronized boolean arm(long deadlineNanos) {
        return exchange("arm " + deadlineNanos, "armed " + deadlineNanos);
    }

    @Override
    public synchronized boolean disarm() {
        return exchange("disarm", "disarmed");
    }

    /** Sends {@code message} and waits for exactly {@code expected}; reconnects once when the connection was gone. */
    private boolean exchange(String message, String expected) {
        for (int attempt = 0; attempt < 2; attempt++) {
            boolean fresh = channel == null;
            try {
                if (fresh) {
                    connect();
                }
                return expected.equals(send(message));
            } catch (IOException e) {
                closeQuietly();
                if (fresh) {
                    return false;
                }
            }
        }
        return false;
    }

    /**
     * Connects without blocking: a frozen watchdog's accept backlog fills up with the connections earlier timeouts
     * dropped, and a blocking connect to it then waits for ever (the HA loop with it).
     */
    private void connect() throws IOException {
        SocketChannel opened = SocketChannel.open(StandardProtocolFamily.UNIX);
        Selector opening = Selector.open();
        try {
            opened.configureBlocking(false);
            if (!opened.connect(UnixDomainSocketAddress.of(socket))) {
                opened.register(opening, SelectionKey.OP_CONNECT);
                if (opening.select(Math.max(1, timeout.toMillis())) == 0 || !opened.finishConnect()) {
                    throw new IOException(
                            "the watchdog did not accept the connection within " + timeout.toMillis() + " ms");
                }
                opening.selectedKeys().clear();
                opened.keyFor(opening).cancel();
                opening.selectNow();
            }
            selector = Selector.open();
            opened.register(selector, SelectionKey.OP_READ);
            channel = opened;
        } catch (IOException e) {
            opened.close();
            throw e;
        } finally {
            opening.close();
        }
    }

    /** One line out, one line back, within the timeout; anything else closes the connection and answers null. */
    private String send(String message) throws IOException {
        ByteBuffer out = ByteBuffer.wrap((message + "\n").getBytes(StandardCharsets.US_ASCII));
        channel.write(out);
        if (out.hasRemaining()) {
            // The socket buffer is full: the watchdog has not read for a long time.
            closeQuietly();
            return null;
        }
        answer.clear();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                closeQuietly();
                return null;
            }
            selector.select(Math.max(1, left / 1_000_000));
            selector.selectedKeys().clear();
            int read = channel.read(answer);
            if (read < 0) {
                throw new IOException("the watchdog closed the connection");
            }
            for (int i = 0; i < answer.position(); i++) {
                if (answer.get(i) == '\n') {
                    String line = new String(answer.array(), 0, i, StandardCharsets.US_ASCII);
                    if (i + 1 != answer.position()) {
                        // More than one answer to one message: the stream is out of step.
                        closeQuietly();
                        return null;
                    }
                    return line;
                }
            }
            if (!answer.hasRemaining()) {
                closeQuietly();
                return null;
            }
        }
    }

    private void closeQuietly() {
        try {
            if (selector != null) {
                selector.close();
            }
            if (channel != null) {
                channel.close();
            }
        } catch (IOException ignored) {
            // Reconnected on the next message.
        }
        selector = null;
        channel = null;
    }
}
