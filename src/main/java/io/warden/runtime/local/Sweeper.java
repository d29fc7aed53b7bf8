package io.warden.runtime.local;

import io.warden.common.CgroupSet;
import io.warden.common.Processes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Removes what a killed run of {@code warden up} or of the tests left on this machine: deployment cgroups with no
 * process left in them, node volumes still mounted for a deployment that no longer runs (the unmount frees their
 * loop devices), and node namespaces (with their host-side links) and etcd addresses of deployments that no longer
 * run. A
 * deployment that runs is never touched: while any part of one runs (its etcd members are in its group too), its
 * group holds a process, and a namespace is kept while its deployment's group does or a process is inside it.
 */
public final class Sweeper {
    private static final Pattern NODE_NAMESPACE = Pattern.compile("wd(\\d+)n(\\d+)");

    private Sweeper() {}

    /** Sweeps, and returns one line per thing removed, for the caller to print. */
    public static List<String> sweep() {
        List<String> removed = new ArrayList<>();
        if (!Processes.isRoot()) {
            return removed;
        }
        var cgroups = Cgroups.detect();
        List<String> running = new ArrayList<>();
        cgroups.ifPresent(c -> {
            for (String deployment : c.deployments()) {
                CgroupSet group = c.group(deployment);
                if (!group.pids().isEmpty()) {
                    running.add(deployment);
                    continue;
                }
                try {
                    group.remove();
                    removed.add("removed the leftover cgroup " + group);
                } catch (RuntimeException e) {
                    removed.add("could not remove the leftover cgroup " + group + ": " + e.getMessage());
                }
            }
            c.removeRootIfEmpty();
        });
        removed.addAll(unmountLeftoverVolumes(running));
        // Without cgroups, a deployment whose host was just killed (an empty namespace) cannot be told from a leftover.
        var list = Processes.run(List.of("ip", "netns", "list"), Duration.ofSeconds(10));
        if (cgroups.isEmpty() || !list.ok()) {
            return removed;
        }
        for (String line : list.output().split("\n")) {
            String name = line.strip().split("\\s+")[0];
            Matcher m = NODE_NAMESPACE.matcher(name);
            if (!m.matches() || running.contains("wd" + m.group(1))) {
                continue;
            }
            var pids = Processes.run(List.of("ip", "netns", "pids", name), Duration.ofSeconds(10));
            if (!pids.ok() || !pids.output().isBlank()) {
                continue;
            }
            Processes.run(List.of("ip", "netns", "del", name), Duration.ofSeconds(10));
            Processes.run(List.of("ip", "link", "del", "wd" + m.group(1) + "h" + m.group(2)), Duration.ofSeconds(10));
            removed.add("removed the leftover network namespace " + name);
        }
        removed.addAll(removeLeftoverDcsAddresses(running));
        return removed;
    }

    /** Only an address Warden labelled as its own (lo:wd<net>) is ever taken for a leftover. */
    private static final Pattern DCS_ADDRESS =
            Pattern.compile(" inet 10\\.(\\d+)\\.0\\.1/32 scope global lo:wd(\\d+)\\b");

    /** The etcd addresses (10.n.0.1 on the loopback) of networks whose deployment no longer runs. */
    private static List<String> removeLeftoverDcsAddresses(List<String> running) {
        List<String> removed = new ArrayList<>();
        var shown = Processes.run(List.of("ip", "-4", "-o", "addr", "show", "dev", "lo"), Duration.ofSeconds(10));
        if (!shown.ok()) {
            return removed;
        }
        Matcher m = DCS_ADDRESS.matcher(shown.output());
        while (m.find()) {
            int net = Integer.parseInt(m.group(1));
            if (!m.group(2).equals(m.group(1)) || running.contains("wd" + net)) {
                continue;
            }
            io.warden.runtime.NetworkNamespaces.removeDcsAddress(net);
            removed.add("removed the leftover etcd address " + io.warden.runtime.NetworkNamespaces.dcsAddress(net));
        }
        return removed;
    }

    /**
     * Node volumes ({@code <dir>/nodes/<node>/volume}) still mounted for a deployment that no longer runs: its
     * deployment.json names its group, and that group is not among the running ones (or it has none).
     */
    private static List<String> unmountLeftoverVolumes(List<String> running) {
        List<String> removed = new ArrayList<>();
        List<String> mounts;
        try {
            mounts = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/mounts"));
        } catch (java.io.IOException e) {
            return removed;
        }
        for (String line : mounts) {
            String[] fields = line.split(" ");
            if (fields.length < 2) {
                continue;
            }
            java.nio.file.Path target = java.nio.file.Path.of(fields[1]);
            if (target.getNameCount() < 4
                    || !target.getFileName().toString().equals("volume")
                    || !target.getParent().getParent().getFileName().toString().equals("nodes")) {
                continue;
            }
            java.nio.file.Path dir = target.getParent().getParent().getParent();
            java.nio.file.Path state = dir.resolve("deployment.json");
            if (java.nio.file.Files.exists(state)) {
                String group;
                try {
                    group = io.warden.common.Json.wire()
                            .readTree(state.toFile())
                            .path("cgroups")
                            .asText("");
                } catch (java.io.IOException e) {
                    continue;
                }
                // Without a group of its own a running deployment cannot be told from a leftover: left alone.
                if (group.isEmpty() || running.contains(group)) {
                    continue;
                }
            }
            var result = Processes.run(List.of("umount", target.toString()), Duration.ofSeconds(30));
            removed.add(
                    result.ok()
                            ? "unmounted the leftover volume " + target
                            : "could not unmount the leftover volume " + target + ": " + result.tail());
        }
        return removed;
    }
}
