package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.common.FakeClock;
import io.warden.dcs.FakeDcs;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A router with allowed_clients refuses a client from any other address before it reads a byte from it or opens
 * anything to a node (SQLSTATE 28000, naming the address), serves the clients it lists, and logs each session with
 * the client's address (postgres sees only the router's).
 */
class AllowedClientsTest {
    private final FakeClock clock = new FakeClock();
    private final FakeDcs store = new FakeDcs(clock);
    private Router router;
    private FakeNode node;

    @AfterEach
    void close() throws Exception {
        if (router != null) {
            router.close();
        }
        if (node != null) {
            node.close();
        }
    }

    private void routerAllowing(String... ranges) throws Exception {
        node = new FakeNode();
        node.leadsIn(store);
        List<ClientRange> allowed =
                java.util.Arrays.stream(ranges).map(ClientRange::parse).toList();
        router = new Router(RouterDriver.config("router-1", Duration.ofSeconds(6), allowed), store, clock);
        router.step(clock.nanoTime());
    }

    private Socket connectFrom127001() throws Exception {
        Socket client = new Socket();
        client.bind(new InetSocketAddress("127.0.0.1", 0));
        client.connect(new InetSocketAddress("127.0.0.1", router.boundPort(Router.Port.READ_WRITE)), 2000);
        client.setSoTimeout(5000);
        return client;
    }

    @Test
    void aClientFromAnAddressNotListedIsRefusedWithoutReachingANode() throws Exception {
        routerAllowing("127.0.0.2/32", "fd00::/8");

        try (Socket client = connectFrom127001()) {
            InputStream in = client.getInputStream();
            ByteArrayOutputStream reply = new ByteArrayOutputStream();
            for (int b; (b = in.read()) != -1; ) {
                reply.write(b);
            }
            String text = reply.toString(StandardCharsets.US_ASCII);
            assertThat(reply.toByteArray()[0]).as("an ErrorResponse").isEqualTo((byte) 'E');
            assertThat(text).contains("28000").contains("connections from 127.0.0.1 are not allowed");
        }
        assertThat(node.connected()).as("a connection to the node").isFalse();
    }

    @Test
    void aClientFromAListedRangeIsServed() throws Exception {
        routerAllowing("127.0.0.0/8");

        try (Socket client = connectFrom127001()) {
            client.getOutputStream().write(FakeNode.startup("app"));
            FakeNode.readUntilReady(client.getInputStream());
        }
        assertThat(node.connected()).isTrue();
    }

    @Test
    void aSessionIsLoggedWithTheClientsAddressTheNodeAndHowLongItLastedWhenItEnds() throws Exception {
        routerAllowing("127.0.0.0/8");
        java.util.logging.Logger access = java.util.logging.Logger.getLogger("io.warden.router.access");
        List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.logging.Handler capture = new java.util.logging.Handler() {
            @Override
            public void publish(java.util.logging.LogRecord record) {
                lines.add(record.getMessage());
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        access.addHandler(capture);
        try {
            int localPort;
            try (Socket client = connectFrom127001()) {
                localPort = client.getLocalPort();
                client.getOutputStream().write(FakeNode.startup("app"));
                FakeNode.readUntilReady(client.getInputStream());
                clock.advance(Duration.ofMillis(1500));
            }

            org.awaitility.Awaitility.await()
                    .atMost(Duration.ofSeconds(10))
                    .untilAsserted(() -> assertThat(lines)
                            .containsExactly("session from 127.0.0.1:" + localPort + " to node-1@127.0.0.1:"
                                    + node.port() + " (read-write) ended after 1500 ms"));
        } finally {
            access.removeHandler(capture);
        }
    }
}
