package io.warden.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.ServiceLoader;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class NoReverseLookupsTest {
    /** A built-in resolver that knows one name and answers every reverse lookup, as a working DNS would. */
    private static final InetAddressResolver BUILTIN = new InetAddressResolver() {
        @Override
        public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
            return Stream.of(InetAddress.getByAddress(host, new byte[] {10, 0, 0, 7}));
        }

        @Override
        public String lookupByAddress(byte[] address) {
            return "reverse.example";
        }
    };

    private final InetAddressResolver resolver = NoReverseLookups.over(BUILTIN);

    @Test
    void aReverseLookupAnswersAtOnceThatThereIsNoNameSoTheHttpsServerNeverWaitsForDns() {
        assertThatThrownBy(() -> resolver.lookupByAddress(new byte[] {10, (byte) 200, 2, 1}))
                .isInstanceOf(UnknownHostException.class);
    }

    @Test
    void forwardLookupsGoToTheBuiltInResolver() throws Exception {
        assertThat(resolver.lookupByName(
                                "db.example",
                                InetAddressResolver.LookupPolicy.of(InetAddressResolver.LookupPolicy.IPV4))
                        .findFirst()
                        .orElseThrow()
                        .getHostAddress())
                .isEqualTo("10.0.0.7");
    }

    @Test
    void everyWardenJvmLoadsItThroughServiceLoader() {
        assertThat(ServiceLoader.load(InetAddressResolverProvider.class).stream()
                        .map(p -> p.type().getName()))
                .contains(NoReverseLookups.class.getName());
    }
}
