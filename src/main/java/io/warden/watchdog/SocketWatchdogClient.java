package io.warden.watchdog;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * {@link WatchdogClient} over the {@link Watchdog}'s unix socket. Thread-safe: the lease keeper pets it, the HA loop
 * arms and disarms.
 */
final class SocketWatchdogClient implements WatchdogClient {
    private final Path socket;
    private SocketChannel channel;

    SocketWatchdogClient(Path socket) {
        this.socket = socket;
    }

    /** Arms (or re-arms) with a CLOCK_MONOTONIC deadline in nanoseconds. */
    @Override
    public synchronized boolean arm(long deadlineNanos) {
        return send("arm " + deadlineNanos + "\n");
    }

    @Override
    public synchronized boolean disarm() {
        return send("disarm\n");
    }

    private boolean send(String message) {
        for (int attempt = 0; attempt < 2; attempt++) {
            try {
                if (channel == null || !channel.isOpen()) {
                    channel = SocketChannel.open(StandardProtocolFamily.UNIX);
                    channel.connect(UnixDomainSocketAddress.of(socket));
                }
                ByteBuffer buffer = ByteBuffer.wrap(message.getBytes(StandardCharsets.US_ASCII));
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                return true;
            } catch (IOException e) {
                closeQuietly();
            }
        }
        return false;
    }

    private void closeQuietly() {
        try {
            if (channel != null) {
                channel.close();
            }
        } catch (IOException ignored) {
            // Reconnected on the next message.
        }
        channel = null;
    }
}
