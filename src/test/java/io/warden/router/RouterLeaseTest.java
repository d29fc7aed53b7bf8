package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.common.FakeClock;
import io.warden.dcs.FakeDcs;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The router's lease is its right to route writes: lost or past its deadline, not one more byte reaches a primary,
 * whatever the router's threads were doing (a frozen process resumes by handling the I/O that waited, before any
 * timer or DCS read).
 */
class RouterLeaseTest {
    private static final Duration TTL = Duration.ofSeconds(6);

    private final FakeClock clock = new FakeClock();
    private final FakeDcs store = new FakeDcs(clock);
    /** What the router was doing each time it published its status: serving or not. */
    private final List<Boolean> servingWhenPublished = new ArrayList<>();

    private final Router router = router();
    private final List<AutoCloseable> closing = new ArrayList<>();

    private Router router() {
        Router made = new Router(RouterDriver.config("router-1", Duration.ofSeconds(6)), store, clock);
        store.beforeRouterPublish(status -> servingWhenPublished.add(made.serving()));
        return made;
    }

    @AfterEach
    void close() throws Exception {
        router.close();
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    /** node-1 leads, on the fake node's port. */
    private FakeNode primary() throws Exception {
        FakeNode node = new FakeNode();
        closing.add(node);
        node.leadsIn(store);
        return node;
    }

    private Socket sessionThroughTheRouter() throws Exception {
        Socket client = new Socket();
        closing.add(client);
        client.connect(new InetSocketAddress("127.0.0.1", router.boundPort(Router.Port.READ_WRITE)), 2000);
        client.setSoTimeout(5000);
        client.getOutputStream().write(FakeNode.startup("app"));
        FakeNode.readUntilReady(client.getInputStream());
        return client;
    }

    @Test
    void bytesAClientSentAfterTheLeaseDeadlineNeverReachThePrimary() throws Exception {
        FakeNode node = primary();
        router.step(clock.nanoTime());
        Socket client = sessionThroughTheRouter();
        // The whole router process was frozen past its lease deadline and resumes: the client's bytes are handled
        // before anything else of the router runs again.
        clock.advance(TTL);

        OutputStream out = client.getOutputStream();
        out.write(FakeNode.message(
                'Q', "insert into t values (1)\0".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        out.flush();

        InputStream in = client.getInputStream();
        await().atMost(Duration.ofSeconds(5)).until(() -> in.read() == -1);
        assertThat(node.bytesAfterStartup()).isZero();
    }

    @Test
    void aNewSessionIsNotRoutedPastTheLeaseDeadline() throws Exception {
        primary();
        router.step(clock.nanoTime());
        clock.advance(TTL);

        assertThat(router.route(Router.Port.READ_WRITE)).isEmpty();
    }

    @Test
    void aRenewalAnsweredNotFoundFencesTheRouterBeforeANewLeaseIsGranted() throws Exception {
        primary();
        router.step(clock.nanoTime());
        Socket client = sessionThroughTheRouter();
        store.revokeFromOutside(router.leaseTerm().id());
        clock.advanceMillis(1000);

        router.step(clock.nanoTime());

        InputStream in = client.getInputStream();
        await().atMost(Duration.ofSeconds(5)).until(() -> in.read() == -1);
        assertThat(router.metrics.dcsFenceCount()).isEqualTo(1);
    }

    @Test
    void itPublishesItsStatusBeforeItListens() {
        router.step(clock.nanoTime());

        assertThat(router.serving()).isTrue();
        assertThat(servingWhenPublished).first().isEqualTo(false);
    }

    @Test
    void itFencesFromATimerAtTheDeadlineWhileItsRoundIsBlocked() {
        router.step(clock.nanoTime());
        assertThat(router.serving()).isTrue();

        // No round runs (its DCS read hangs, say); only time passes.
        clock.advance(TTL);

        await().atMost(Duration.ofSeconds(10)).until(() -> !router.serving());
    }
}
