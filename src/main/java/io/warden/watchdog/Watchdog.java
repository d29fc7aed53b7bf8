package io.warden.watchdog;

import io.warden.postgres.Fence;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A per-node process that fences postgres when the agent stops checking in: the software counterpart of the
 * kernel watchdog Patroni relies on. It exists because an agent frozen by SIGSTOP (or a stalled JVM) cannot fence
 * its own postgres, while its lease runs out and another node is promoted.
 *
 * <p>Protocol (docs/agent.md "The watchdog protocol"), one line per message on a Unix socket, each answered with
 * one line: {@code arm <deadline>} (a CLOCK_MONOTONIC time in nanoseconds; {@link System#nanoTime()} on Linux reads
 * that clock, so it is comparable across processes on one host) is answered {@code armed <deadline>} with the
 * deadline it now holds; {@code disarm} is answered {@code disarmed}; anything else {@code error <reason>}, changing
 * nothing. The answer proves the watchdog is alive: an agent whose watchdog does not answer may not lead. While
 * armed and past the deadline, any postgres running on the data directory is killed, again and again, until the
 * agent re-arms or disarms. A closed connection changes nothing: an agent that died holding the lease must be
 * fenced just the same.
 */
public final class Watchdog {
    private static final Logger LOG = LoggerFactory.getLogger(Watchdog.class);

    /** How often the deadline is checked; the agent arms with this much to spare. */
    public static final long CHECK_INTERVAL_MILLIS = 20;

    private final Path socket;
    private final Path dataDir;
    private volatile long deadlineNanos;
    private volatile boolean armed;

    public Watchdog(Path socket, Path dataDir) {
        this.socket = socket;
        this.dataDir = dataDir;
    }

    public void run() throws IOException {
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        // Whoever can connect can disarm it (no fencing) or arm it with a past deadline (postgres killed): only
        // its own user, the agent's, may.
        Files.setPosixFilePermissions(socket, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Thread.ofPlatform().daemon().name("watchdog-accept").start(() -> accept(server));
        log("watching " + dataDir + " on " + socket);
        boolean fencedLogged = false;
        while (true) {
            if (armed && System.nanoTime() - deadlineNanos > 0) {
                var killed = Fence.kill(dataDir);
                if (killed.isPresent() || !fencedLogged) {
                    log("agent missed its deadline: " + killed.orElse("no postgres running"));
                    fencedLogged = true;
                }
            } else {
                fencedLogged = false;
            }
            try {
                Thread.sleep(CHECK_INTERVAL_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void accept(ServerSocketChannel server) {
        while (server.isOpen()) {
            try {
                SocketChannel channel = server.accept();
                Thread.ofPlatform().daemon().name("watchdog-client").start(() -> serve(channel));
            } catch (IOException e) {
                log("accept failed: " + e.getMessage());
            }
        }
    }

    private void serve(SocketChannel channel) {
        try (channel;
                BufferedReader in = new BufferedReader(
                        new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.US_ASCII))) {
            OutputStream out = Channels.newOutputStream(channel);
            String line;
            while ((line = in.readLine()) != null) {
                out.write((handle(line.strip()) + "\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
        } catch (IOException e) {
            log("agent connection lost: " + e.getMessage());
        }
    }

    /** Carries out one message; returns the answer line. */
    synchronized String handle(String line) {
        if (line.equals("disarm")) {
            if (armed) {
                log("disarmed");
            }
            armed = false;
            return "disarmed";
        }
        if (line.startsWith("arm ")) {
            long deadline;
            try {
                deadline = Long.parseLong(line.substring(4).strip());
            } catch (NumberFormatException e) {
                return "error not a deadline: " + line.substring(4).strip();
            }
            deadlineNanos = deadline;
            if (!armed) {
                log("armed");
            }
            armed = true;
            return "armed " + deadlineNanos;
        }
        log("ignoring unknown message: " + line);
        return "error unknown message";
    }

    private static void log(String message) {
        LOG.info(message);
    }
}
