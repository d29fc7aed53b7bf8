package io.warden.runtime;

import io.warden.common.Processes;
import io.warden.common.Processes.Result;
import io.warden.common.WardenException;
import java.time.Duration;
import java.util.List;

/**
 * A node's "host" in the local runtime: a network namespace joined to the root namespace by a veth pair.
 * Node {@code i} of network {@code n} gets 10.n.i.2 inside, 10.n.i.1 on the host side; the host forwards between
 * nodes. Cutting the host side of the pair isolates the node from etcd and its peers, as a lost switch port would.
 */
public final class NetworkNamespaces {
    private NetworkNamespaces() {}

    public static String namespace(int netId, int index) {
        return "wd" + netId + "n" + index;
    }

    /** Where iproute2 keeps a named namespace, for nsenter. */
    public static String path(String namespace) {
        return "/run/netns/" + namespace;
    }

    static String hostLink(int netId, int index) {
        return "wd" + netId + "h" + index;
    }

    public static String nodeAddress(int netId, int index) {
        return "10." + netId + "." + index + ".2";
    }

    public static String gatewayAddress(int netId, int index) {
        return "10." + netId + "." + index + ".1";
    }

    /** Creates the namespace and its link; replaces a leftover one of the same name. */
    public static void create(int netId, int index) {
        remove(netId, index);
        String ns = namespace(netId, index);
        String host = hostLink(netId, index);
        String inner = "wd" + netId + "i" + index;
        ip("netns", "add", ns);
        ip("link", "add", host, "type", "veth", "peer", "name", inner);
        ip("link", "set", inner, "netns", ns);
        ip("addr", "add", gatewayAddress(netId, index) + "/24", "dev", host);
        ip("link", "set", host, "up");
        ip("-n", ns, "addr", "add", nodeAddress(netId, index) + "/24", "dev", inner);
        ip("-n", ns, "link", "set", inner, "up");
        ip("-n", ns, "link", "set", "lo", "up");
        ip("-n", ns, "route", "add", "default", "via", gatewayAddress(netId, index));
        Result forward = Processes.run(List.of("sysctl", "-q", "-w", "net.ipv4.ip_forward=1"), Duration.ofSeconds(5));
        if (!forward.ok()) {
            throw new WardenException(
                    "cannot enable IP forwarding: " + forward.tail(), "run as root, or use --isolation process");
        }
    }

    /** Cuts (false) or restores (true) the node's link, as a network partition would. */
    public static void setLink(int netId, int index, boolean up) {
        ip("link", "set", hostLink(netId, index), up ? "up" : "down");
    }

    public static void remove(int netId, int index) {
        Processes.run(List.of("ip", "netns", "del", namespace(netId, index)), Duration.ofSeconds(10));
        Processes.run(List.of("ip", "link", "del", hostLink(netId, index)), Duration.ofSeconds(10));
    }

    private static void ip(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        Result result = Processes.run(command, Duration.ofSeconds(10));
        if (!result.ok()) {
            throw new WardenException(
                    String.join(" ", command) + " failed: " + result.tail(),
                    "network namespaces need root and iproute2; use --isolation process otherwise");
        }
    }
}
