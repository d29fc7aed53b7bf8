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
import java.util.Optional;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
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
 * fenced just the same. Only the agent's own OS user is served: the socket is owner-only, and a connection from
 * any other user is answered {@code error refused: …} and closed, unread.
 */
public final class Watchdog {
    private static final Logger LOG = LoggerFactory.getLogger(Watchdog.class);

    /** How often the deadline is checked; the agent arms with this much to spare. */
    public static final long CHECK_INTERVAL_MILLIS = 20;

    /** The user this watchdog runs as, the agent's: the only one whose connections it serves. */
    private static final String OWN_USER = System.getProperty("user.name");

    private final Path socket;
    private final Path dataDir;
    private volatile long deadlineNanos;
    private volatile boolean armed;

    private final Optional<io.warden.common.CgroupSet> postgresCgroup;

    public Watchdog(Path socket, Path dataDir) {
        this(socket, dataDir, Optional.empty());
    }

    /** @param postgresCgroup postgres's group, killed whole when the deadline passes; empty to kill by data directory */
    public Watchdog(Path socket, Path dataDir, Optional<io.warden.common.CgroupSet> postgresCgroup) {
        this.postgresCgroup = postgresCgroup;
        this.socket = socket;
        this.dataDir = dataDir;
    }

    public void run() throws IOException {
        run(() -> {});
    }

    /** As {@link #run()}, calling {@code listening} once the socket takes connections (the supervisor starts then). */
    public void run(Runnable listening) throws IOException {
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        // Whoever can connect can disarm it (no fencing) or arm it with a past deadline (postgres killed): only
        // its own user, the agent's, may.
        Files.setPosixFilePermissions(socket, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Thread.ofPlatform().daemon().name("watchdog-accept").start(() -> accept(server));
        log("watching " + dataDir + " on " + socket);
        listening.run();
        boolean fencedLogged = false;
        while (true) {
            if (armed && System.nanoTime() - deadlineNanos > 0) {
                var killed = Fence.kill(dataDir, postgresCgroup);
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
                Optional<String> stranger = stranger(channel);
                if (stranger.isPresent()) {
                    refuse(channel, stranger.get());
                    continue;
                }
                Thread.ofPlatform().daemon().name("watchdog-client").start(() -> serve(channel));
            } catch (IOException e) {
                log("accept failed: " + e.getMessage());
            }
        }
    }

    /**
     * The user at the other end when it is not this process's own, as the kernel vouches for it (SO_PEERCRED); empty
     * for our own user. The socket's mode (0600) keeps others out, but only once it is set: a connection made between
     * bind and chmod, or through a mode someone loosened, is still refused here.
     */
    private static Optional<String> stranger(SocketChannel channel) {
        try {
            UnixDomainPrincipal peer = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
            String user = peer.user().getName();
            return user.equals(OWN_USER) ? Optional.empty() : Optional.of(user);
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.of("(unknown: " + e.getMessage() + ")");
        }
    }

    private static void refuse(SocketChannel channel, String user) {
        log("refused a connection from user " + user + ": only " + OWN_USER + " (the agent's user) may talk to it");
        try (channel) {
            channel.write(java.nio.ByteBuffer.wrap(
                    ("error refused: only the agent's user (" + OWN_USER + ") may arm or disarm this watchdog\n")
                            .getBytes(StandardCharsets.US_ASCII)));
        } catch (IOException e) {
            // It went away; nothing it sent was read.
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
