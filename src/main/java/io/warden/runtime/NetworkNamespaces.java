package io.warden.runtime;

import io.warden.common.Processes;
import io.warden.common.Processes.Result;
import io.warden.common.WardenException;
import java.time.Duration;
import java.util.List;

/**
 * A "host" of the local runtime: a network namespace joined to the root namespace by a veth pair. Host {@code i} of
 * network {@code n} gets 10.n.i.2 inside, 10.n.i.1 on the machine's side; the machine forwards between hosts. etcd
 * listens on the network's own address 10.n.0.1 (on the machine's loopback device), which every host reaches through
 * its link, hosts made later included. Cutting the machine's side of a pair isolates that host from etcd and its
 * peers, as a lost switch port would.
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

    /** Where the network's etcd members listen, reached from every host through its own link. */
    public static String dcsAddress(int netId) {
        return "10." + netId + ".0.1";
    }

    /** Gives the machine the network's etcd address (on its loopback device, so no link's state can take it away). */
    public static void addDcsAddress(int netId) {
        // Labelled as Warden's, so that a sweeper never takes an address of the machine's own for a leftover.
        ip("addr", "replace", dcsAddress(netId) + "/32", "dev", "lo", "label", dcsLabel(netId));
    }

    /** The label Warden gives the network's etcd address on the loopback device. */
    public static String dcsLabel(int netId) {
        return "lo:wd" + netId;
    }

    public static void removeDcsAddress(int netId) {
        Processes.run(List.of("ip", "addr", "del", dcsAddress(netId) + "/32", "dev", "lo"), Duration.ofSeconds(10));
    }

    /** Whether the machine has the network's etcd address (a deployment on it runs, or a killed one left it). */
    public static boolean hasDcsAddress(int netId) {
        Result shown = Processes.run(List.of("ip", "-4", "-o", "addr", "show", "dev", "lo"), Duration.ofSeconds(10));
        return shown.ok() && shown.output().contains(" " + dcsAddress(netId) + "/32 scope global " + dcsLabel(netId));
    }

    /** Whether host {@code index}'s namespace exists. */
    public static boolean exists(int netId, int index) {
        return java.nio.file.Files.exists(java.nio.file.Path.of(path(namespace(netId, index))));
    }

    /** Whether host {@code index}'s link is up (false once cut, or when it has none). */
    public static boolean linkUp(int netId, int index) {
        try {
            String flags = java.nio.file.Files.readString(
                            java.nio.file.Path.of("/sys/class/net/" + hostLink(netId, index) + "/flags"))
                    .strip();
            return (Integer.decode(flags) & 1) != 0;
        } catch (java.io.IOException | NumberFormatException e) {
            return false;
        }
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
