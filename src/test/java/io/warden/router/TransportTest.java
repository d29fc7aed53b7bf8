package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.WardenException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The router's {@code transport} setting: the values it takes and the error for one it does not. */
class TransportTest {

    @Test
    void autoOrNothingLeavesTheChoiceToWhatLoads() {
        assertThat(Transport.parse(null)).isNull();
        assertThat(Transport.parse("auto")).isNull();
        assertThat(Transport.parse("AUTO")).isNull();
    }

    @Test
    void namesTheTwoTransports() {
        assertThat(Transport.parse("io_uring")).isEqualTo(Transport.IO_URING);
        assertThat(Transport.parse("epoll")).isEqualTo(Transport.EPOLL);
        assertThat(Transport.parse("Epoll")).isEqualTo(Transport.EPOLL);
    }

    @Test
    void anUnknownTransportInTheConfigIsRefusedWithTheChoices(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("router.yml");
        Files.writeString(file, """
                id: router-1
                read_write_port: 5432
                read_only_port: 5433
                api_port: 8051
                etcd: [http://127.0.0.1:2379]
                transport: kqueue
                """);
        assertThatThrownBy(() -> RouterConfig.load(file))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("transport 'kqueue' is not one of auto, io_uring, epoll")
                .hasMessageContaining(file.toString());
    }

    @Test
    void autoPicksATransportThatLoadsHere() {
        // The router needs Linux; on it, at least epoll loads, and auto never picks one that does not.
        Transport chosen = Transport.choose("auto");
        assertThat(chosen.available()).isTrue();
        if (Transport.IO_URING.available()) {
            assertThat(chosen).isEqualTo(Transport.IO_URING);
        }
    }
}
