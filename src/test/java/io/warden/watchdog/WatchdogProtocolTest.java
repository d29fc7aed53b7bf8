package io.warden.watchdog;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The watchdog protocol of docs/agent.md, tested against the socket: what any watchdog implementation must answer,
 * and that the agent's client counts a watchdog that does not answer (frozen, or speaking another protocol) as
 * unreachable, within a bounded time.
 */
@Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class WatchdogProtocolTest {
    @TempDir
    Path dir;

    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    /** The real watchdog on a socket in {@code dir}, watching an empty data directory. */
    private Path watchdog() throws IOException {
        Path socket = dir.resolve("watchdog.sock");
        Path data = Files.createDirectories(dir.resolve("data"));
        Watchdog watchdog = new Watchdog(socket, data);
        Thread thread = Thread.ofPlatform().daemon().start(() -> {
            try {
                watchdog.run();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        closing.add(thread::interrupt);
        org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(5))
                .until(() -> Files.exists(socket));
        return socket;
    }

    /**
     * A socket at {@code socket} that the kernel accepts connections on into a backlog of {@code backlog} (0: the
     * kernel's default), with nobody behind it unless the test accepts them; closed after the test.
     */
    private ServerSocketChannel listening(Path socket, int backlog) throws IOException {
        ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        closing.add(channel);
        channel.bind(UnixDomainSocketAddress.of(socket), backlog);
        return channel;
    }

    /**
     * A client of a frozen watchdog on the socket {@code name}: the kernel accepts its connections into a backlog of
     * {@code backlog} (0: the kernel's default), and nobody reads or answers them.
     */
    private WatchdogClient clientOfAFrozenWatchdog(String name, int backlog) throws IOException {
        Path socket = dir.resolve(name);
        listening(socket, backlog);
        return WatchdogClient.socket(socket);
    }

    /** A raw line exchange with a socket: what another watchdog implementation would be tested with. */
    private List<String> exchange(Path socket, String... lines) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            OutputStream out = Channels.newOutputStream(channel);
            BufferedReader in = new BufferedReader(
                    new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.US_ASCII));
            List<String> answers = new ArrayList<>();
            for (String line : lines) {
                out.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
                out.flush();
                answers.add(in.readLine());
            }
            return answers;
        }
    }

    @Test
    void everyMessageIsAnsweredWithTheStateTheWatchdogNowHolds() throws IOException {
        Path socket = watchdog();

        assertThat(exchange(socket, "arm 123456789", "arm 223456789", "disarm", "arm soon", "reboot"))
                .containsExactly(
                        "armed 123456789",
                        "armed 223456789",
                        "disarmed",
                        "error not a deadline: soon",
                        "error unknown message");
    }

    @Test
    void anotherOsUserIsRefusedEvenWhenTheSocketsModeWouldLetItConnect() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(
                io.warden.common.Processes.isRoot(), "connecting as another OS user needs root");
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path socket = watchdog();
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)))
                .isEqualTo("rw-------");
        // As if someone loosened the mode, or connected in the moment between bind and chmod.
        Files.setPosixFilePermissions(socket, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        String disarm = "import socket, sys\n"
                + "s = socket.socket(socket.AF_UNIX)\n"
                + "s.connect(sys.argv[1])\n"
                + "try:\n"
                + "    s.sendall(b'disarm\\n')\n"
                + "except BrokenPipeError:\n"
                + "    pass  # refused before it was read; the refusal is still there to read\n"
                + "print(s.makefile().readline().strip())\n";

        io.warden.common.Processes.Result asNobody = io.warden.common.Processes.run(
                List.of("runuser", "-u", "nobody", "--", "/usr/bin/python3", "-c", disarm, socket.toString()),
                java.time.Duration.ofSeconds(20));

        assertThat(asNobody.output()).as(asNobody.toString()).contains("error refused: only the agent's user");
        assertThat(exchange(socket, "disarm"))
                .as("its own user is still served")
                .containsExactly("disarmed");
    }

    @Test
    void theClientSaysReachableOnlyWhenTheWatchdogConfirmed() throws IOException {
        WatchdogClient client = WatchdogClient.socket(watchdog());

        assertThat(client.arm(System.nanoTime() + 5_000_000_000L)).isTrue();
        assertThat(client.disarm()).isTrue();
    }

    @Test
    void aWatchdogThatAcceptsButNeverAnswersIsUnreachableWithinTheAnswerTimeout() throws IOException {
        // The kernel accepts the connection (the backlog), nobody reads or answers.
        WatchdogClient client = clientOfAFrozenWatchdog("frozen.sock", 0);

        long started = System.nanoTime();
        boolean armed = client.arm(System.nanoTime() + 5_000_000_000L);

        assertThat(armed).isFalse();
        // Bounded: at most the answer timeout per attempt (the client reconnects once).
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - started)).isLessThan(java.time.Duration.ofSeconds(2));
    }

    @Test
    void aWatchdogThatAnswersSomethingElseIsUnreachable() throws IOException {
        Path socket = dir.resolve("other.sock");
        ServerSocketChannel other = listening(socket, 0);
        Thread.ofPlatform().daemon().start(() -> {
            try (SocketChannel channel = other.accept()) {
                BufferedReader in = new BufferedReader(
                        new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.US_ASCII));
                OutputStream out = Channels.newOutputStream(channel);
                while (in.readLine() != null) {
                    out.write("ok\n".getBytes(StandardCharsets.US_ASCII));
                }
            } catch (IOException e) {
                // The test ended.
            }
        });

        assertThat(WatchdogClient.socket(socket).arm(42)).isFalse();
    }

    @Test
    void aFrozenWatchdogWhoseBacklogIsFullNeverBlocksTheClient() throws IOException {
        // A backlog of one: the connections a timed-out client dropped fill it, as they fill a frozen watchdog's.
        WatchdogClient client = clientOfAFrozenWatchdog("full.sock", 1);

        long started = System.nanoTime();
        for (int attempt = 0; attempt < 10; attempt++) {
            assertThat(client.arm(42)).isFalse();
        }

        // Ten attempts of at most two answer timeouts each: never a connect that waits for ever.
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - started))
                .isLessThan(java.time.Duration.ofSeconds(10));
    }
}
