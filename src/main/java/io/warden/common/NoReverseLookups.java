package io.warden.common;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.stream.Stream;

/**
 * The JDK's name resolution, without reverse lookups. Warden never needs an address's host name, but the JDK's
 * HTTPS server asks for the client's in every handshake; in a network namespace with no DNS server that waits for
 * the resolver's timeout (seconds), and the API looked dead (a CLI's connect timed out). Forward lookups go to the
 * built-in resolver unchanged; a reverse lookup answers at once that there is no name, so the address is used as
 * it is. Installed for every Warden JVM through {@code META-INF/services}.
 */
public final class NoReverseLookups extends InetAddressResolverProvider {
    @Override
    public InetAddressResolver get(Configuration configuration) {
        return over(configuration.builtinResolver());
    }

    /** {@code builtin} for forward lookups; no reverse lookups. */
    static InetAddressResolver over(InetAddressResolver builtin) {
        return new InetAddressResolver() {
            @Override
            public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
                return builtin.lookupByName(host, policy);
            }

            @Override
            public String lookupByAddress(byte[] address) throws UnknownHostException {
                throw new UnknownHostException("reverse lookups are not used by Warden");
            }
        };
    }

    @Override
    public String name() {
        return "warden-no-reverse-lookups";
    }
}
