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
 * process left in them, and node namespaces (with their host-side links) of deployments that no longer run. A
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
        });
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
        return removed;
    }
}
