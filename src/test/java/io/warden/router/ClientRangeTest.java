package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** allowed_clients entries: parsed strictly as an operator writes them, matched bit by bit. */
class ClientRangeTest {
    private static InetAddress ip(String literal) throws Exception {
        return InetAddress.getByName(literal);
    }

    @Test
    void anIpv4RangeContainsExactlyTheAddressesUnderItsPrefix() throws Exception {
        ClientRange range = ClientRange.parse("10.1.0.0/16");

        assertThat(range.contains(ip("10.1.0.1"))).isTrue();
        assertThat(range.contains(ip("10.1.255.254"))).isTrue();
        assertThat(range.contains(ip("10.2.0.1"))).isFalse();
        assertThat(range.contains(ip("::ffff:10.1.0.1")))
                .as("an IPv4-mapped literal is an IPv4 address")
                .isTrue();
        assertThat(range.contains(ip("fd00::1"))).isFalse();
    }

    @Test
    void prefixesThatDoNotEndOnAByteAndSingleAddressesMatchBitByBit() throws Exception {
        assertThat(ClientRange.parse("192.0.2.64/27").contains(ip("192.0.2.95")))
                .isTrue();
        assertThat(ClientRange.parse("192.0.2.64/27").contains(ip("192.0.2.96")))
                .isFalse();
        assertThat(ClientRange.parse("192.0.2.7/32").contains(ip("192.0.2.7"))).isTrue();
        assertThat(ClientRange.parse("192.0.2.7/32").contains(ip("192.0.2.8"))).isFalse();
        assertThat(ClientRange.parse("fd00::/8").contains(ip("fdff::1"))).isTrue();
        assertThat(ClientRange.parse("fd00::/8").contains(ip("fe80::1"))).isFalse();
    }

    @Test
    void everyoneContainsAnyAddressOfEitherFamily() throws Exception {
        assertThat(ClientRange.anyContains(ClientRange.EVERYONE, ip("203.0.113.9")))
                .isTrue();
        assertThat(ClientRange.anyContains(ClientRange.EVERYONE, ip("2001:db8::9")))
                .isTrue();
    }

    @Test
    void whatAnOperatorGetsWrongIsRefusedWithTheFix() {
        assertThatThrownBy(() -> ClientRange.parse("10.0.0.1"))
                .hasMessageContaining("no prefix length")
                .hasMessageContaining("10.0.0.1/32");
        assertThatThrownBy(() -> ClientRange.parse("10.0.0.1/8")).hasMessageContaining("did you mean 10.0.0.0/8?");
        assertThatThrownBy(() -> ClientRange.parse("db.example.com/32")).hasMessageContaining("names are not resolved");
        assertThatThrownBy(() -> ClientRange.parse("10.0.0.0/33")).hasMessageContaining("outside 0..32");
        assertThatThrownBy(() -> ClientRange.parse("10.0.0.0/x")).hasMessageContaining("not a number");
        assertThatThrownBy(() -> ClientRange.parse("10.0.0.300/32")).hasMessageContaining("not an IP address");
    }
}
