package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The router's two parsers, fed the way TCP may deliver bytes: whole, or split anywhere. */
class StartupParsingTest {

    /** What postgres sends after a password login: AuthenticationOk, a ParameterStatus, BackendKeyData, ReadyForQuery. */
    private static byte[] serverStartup() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(FakeNode.message('R', new byte[] {0, 0, 0, 0}));
        out.writeBytes(FakeNode.message(
                'S', "server_version\u000015.20\u0000".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        out.writeBytes(FakeNode.message('K', new byte[] {0, 0, 0x04, (byte) 0xD2, (byte) 0x80, 0, 0x16, 0x2E}));
        out.writeBytes(FakeNode.message('Z', new byte[] {'I'}));
        // The first bytes of a query's answer, already behind ReadyForQuery in the same read.
        out.writeBytes(new byte[] {'T', 0, 0});
        return out.toByteArray();
    }

    @Test
    void theBackendKeyIsFoundWhereverTheBytesAreSplitAndEveryByteIsPassedOn() {
        byte[] stream = serverStartup();
        for (int chunk = 1; chunk <= stream.length; chunk++) {
            EmbeddedChannel client = new EmbeddedChannel();
            EmbeddedChannel server = new EmbeddedChannel();
            Session session = new Session(
                    Router.Port.READ_WRITE, new RouteTarget("n1", "127.0.0.1", 5432), client, server, 0, s -> {});
            List<Long> keys = new ArrayList<>();
            ServerStartup watcher = new ServerStartup(session, (s, key) -> keys.add(key));
            server.pipeline().addLast(watcher);
            for (int at = 0; at < stream.length; at += chunk) {
                server.writeInbound(Unpooled.wrappedBuffer(stream, at, Math.min(chunk, stream.length - at)));
            }
            ByteBuf passed = Unpooled.buffer();
            for (ByteBuf b; (b = server.readInbound()) != null; b.release()) {
                passed.writeBytes(b);
            }
            assertThat(keys).as("chunk %d", chunk).containsExactly((1234L << 32) | 0x8000162EL);
            assertThat(server.pipeline().get(ServerStartup.class))
                    .as("chunk %d: gone after ReadyForQuery", chunk)
                    .isNull();
            byte[] out = new byte[passed.readableBytes()];
            passed.readBytes(out);
            assertThat(out).as("chunk %d", chunk).isEqualTo(stream);
        }
    }

    @Test
    void aServerMessageWithAnImpossibleLengthEndsTheSession() {
        EmbeddedChannel client = new EmbeddedChannel();
        EmbeddedChannel server = new EmbeddedChannel();
        Session session = new Session(
                Router.Port.READ_WRITE, new RouteTarget("n1", "127.0.0.1", 5432), client, server, 0, s -> {});
        server.pipeline().addLast(new ServerStartup(session, (s, key) -> {}));
        server.writeInbound(Unpooled.wrappedBuffer(new byte[] {'R', 0, 0, 0, 2}));
        assertThat(session.isClosed()).isTrue();
        assertThat(client.isOpen()).isFalse();
    }

    @Test
    void aStartupPacketIsTakenOnlyWhenComplete() throws Exception {
        byte[] ssl = {0, 0, 0, 8, 0x04, (byte) 0xD2, 0x16, 0x2F};
        ByteBuf in = Unpooled.buffer();
        in.writeBytes(ssl, 0, 5);
        assertThat(PgWire.readStartup(in)).isEmpty();
        assertThat(in.readableBytes()).as("nothing consumed").isEqualTo(5);
        in.writeBytes(ssl, 5, 3);
        PgWire.StartupPacket packet = PgWire.readStartup(in).orElseThrow();
        assertThat(packet.code()).isEqualTo(PgWire.SSL_REQUEST);
        assertThat(packet.bytes()).isEqualTo(ssl);
    }

    @Test
    void aLengthNoClientSendsIsRefusedBeforeTheRestArrives() {
        assertThatThrownBy(() -> PgWire.readStartup(
                        Unpooled.wrappedBuffer(new byte[] {0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff})))
                .isInstanceOf(PgWire.ProtocolException.class)
                .hasMessageContaining("length");
        assertThatThrownBy(() -> PgWire.readStartup(Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 4})))
                .isInstanceOf(PgWire.ProtocolException.class);
    }
}
