package io.warden.router;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.regex.Pattern;

/**
 * A range of client addresses a router accepts, written as an operator writes it in {@code allowed_clients}: an
 * IPv4 or IPv6 address with a prefix length ({@code 10.0.0.0/8}, {@code fd00::/8}, {@code 192.0.2.7/32}). Postgres
 * sees every routed client as the router, so {@code pg_hba.conf} cannot restrict them; the router does. Strict:
 * only literal addresses (no host names to resolve), and no bits set past the prefix, so a typo cannot silently
 * widen or narrow the range.
 */
public record ClientRange(byte[] network, int prefix) {
    private static final Pattern LITERAL = Pattern.compile("[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    /** Everybody: what a router with no {@code allowed_clients} accepts. */
    public static final java.util.List<ClientRange> EVERYONE = java.util.List.of(parse("0.0.0.0/0"), parse("::/0"));

    public ClientRange {
        network = network.clone();
    }

    /** The network's bytes (a copy: the range stays as parsed). */
    @Override
    public byte[] network() {
        return network.clone();
    }

    /** @throws IllegalArgumentException with what is wrong and the fix */
    public static ClientRange parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("allowed_clients entry '" + text + "' has no prefix length: write e.g. "
                    + text + (text.contains(":") ? "/128" : "/32") + " for one address");
        }
        String address = text.substring(0, slash);
        if (!LITERAL.matcher(address).matches()) {
            throw new IllegalArgumentException(
                    "allowed_clients entry '" + text + "' is not an IP address: names are not resolved");
        }
        byte[] bytes;
        try {
            bytes = InetAddress.getByName(address).getAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("allowed_clients entry '" + text + "' is not an IP address");
        }
        int prefix;
        try {
            prefix = Integer.parseInt(text.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "allowed_clients entry '" + text + "' has a prefix length that is not" + " a number");
        }
        if (prefix < 0 || prefix > bytes.length * 8) {
            throw new IllegalArgumentException(
                    "allowed_clients entry '" + text + "' has a prefix length outside 0.." + bytes.length * 8);
        }
        byte[] masked = mask(bytes, prefix);
        if (!Arrays.equals(masked, bytes)) {
            throw new IllegalArgumentException("allowed_clients entry '" + text + "' has bits set past its prefix:"
                    + " did you mean " + format(masked) + "/" + prefix + "?");
        }
        return new ClientRange(bytes, prefix);
    }

    /** Whether {@code client} lies in this range (an IPv4 client never lies in an IPv6 range, nor the reverse). */
    boolean contains(InetAddress client) {
        byte[] bytes = client.getAddress();
        return bytes.length == network.length && Arrays.equals(mask(bytes, prefix), network);
    }

    /** Whether any of {@code ranges} contains {@code client}. */
    static boolean anyContains(java.util.List<ClientRange> ranges, InetAddress client) {
        for (ClientRange range : ranges) {
            if (range.contains(client)) {
                return true;
            }
        }
        return false;
    }

    private static byte[] mask(byte[] bytes, int prefix) {
        byte[] masked = bytes.clone();
        for (int i = 0; i < masked.length; i++) {
            int keep = Math.max(0, Math.min(8, prefix - i * 8));
            masked[i] = (byte) (masked[i] & (0xff << (8 - keep)));
        }
        return masked;
    }

    private static String format(byte[] bytes) {
        try {
            return InetAddress.getByAddress(bytes).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalStateException("4 or 16 bytes always make an address", e);
        }
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof ClientRange r && r.prefix == prefix && Arrays.equals(r.network, network);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(network) + prefix;
    }

    @Override
    public String toString() {
        return format(network) + "/" + prefix;
    }
}
