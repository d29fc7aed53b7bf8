package io.warden.runtime.local;

import io.warden.common.CgroupSet;
import io.warden.common.WardenException;
import io.warden.runtime.ResourceLimits;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * This machine's cgroup hierarchies, and the part of them Warden owns: {@code warden/<deployment>/<container>/...}
 * below each mount. On v1 (these machines) each controller Warden uses has its own mount; on v2 one unified tree
 * carries them all. A hybrid machine (v1 controllers and an empty v2 tree at {@code /sys/fs/cgroup/unified}) uses
 * v1.
 */
public final class Cgroups {
    /** The v1 controllers a container needs: CPU quota and accounting, memory, a pids limit, the freezer. */
    static final List<String> V1_CONTROLLERS = List.of("cpu", "cpuacct", "memory", "pids", "freezer");

    /** Warden's own subtree below each mount. */
    static final String ROOT = "warden";

    private final boolean v2;
    /** Controller name to the directory its hierarchy is mounted at; on v2 every name maps to the one tree. */
    private final Map<String, Path> mounts;

    private Cgroups(boolean v2, Map<String, Path> mounts) {
        this.v2 = v2;
        Map<String, Path> ordered = new LinkedHashMap<>();
        V1_CONTROLLERS.forEach(c -> ordered.put(c, mounts.get(c)));
        this.mounts = java.util.Collections.unmodifiableMap(ordered);
    }

    /** The cgroups this machine offers, or empty (with the reason in the log line the caller prints) when none fit. */
    public static Optional<Cgroups> detect() {
        try {
            return fromMounts(Files.readString(Path.of("/proc/self/mounts")));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Reads {@code /proc/self/mounts}' format: the unified tree when it is mounted at the top and has the
     * controllers, else the v1 mounts of every controller in {@link #V1_CONTROLLERS} (a controller mounted with
     * another, as {@code cpu,cpuacct}, counts for both). Empty when a v1 controller is missing.
     */
    static Optional<Cgroups> fromMounts(String mountsText) {
        Map<String, Path> v1 = new LinkedHashMap<>();
        Path unified = null;
        for (String line : mountsText.split("\n")) {
            String[] fields = line.strip().split("\\s+");
            if (fields.length < 4) {
                continue;
            }
            Path target = Path.of(fields[1]);
            if (fields[2].equals("cgroup2")) {
                if (target.equals(Path.of("/sys/fs/cgroup"))) {
                    unified = target;
                }
            } else if (fields[2].equals("cgroup")) {
                for (String option : fields[3].split(",")) {
                    if (V1_CONTROLLERS.contains(option)) {
                        v1.putIfAbsent(option, target);
                    }
                }
            }
        }
        if (unified != null) {
            Map<String, Path> all = new LinkedHashMap<>();
            for (String controller : V1_CONTROLLERS) {
                all.put(controller, unified);
            }
            return Optional.of(new Cgroups(true, all));
        }
        if (v1.keySet().containsAll(V1_CONTROLLERS)) {
            return Optional.of(new Cgroups(false, v1));
        }
        return Optional.empty();
    }

    public boolean v2() {
        return v2;
    }

    /** The group at {@code relative} (below {@code warden/}), in every hierarchy. */
    public CgroupSet group(String relative) {
        return new CgroupSet(hierarchies().stream()
                .map(m -> m.resolve(ROOT).resolve(relative))
                .toList());
    }

    /** The distinct mount directories, in the order of {@link #V1_CONTROLLERS}. */
    List<Path> hierarchies() {
        return mounts.values().stream().distinct().toList();
    }

    /** The directory of {@code controller}'s hierarchy for a group. */
    Path dir(String controller, CgroupSet group) {
        Path mount = mounts.get(controller);
        return group.dirs().stream()
                .filter(d -> d.startsWith(mount))
                .findFirst()
                .orElseThrow(() -> new IllegalArgumentException(group + " is not in the " + controller + " hierarchy"));
    }

    /** The names of the deployments that have groups here (also those an earlier, killed run left). */
    public List<String> deployments() {
        List<String> names = new ArrayList<>();
        for (Path mount : hierarchies()) {
            Path root = mount.resolve(ROOT);
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (Stream<Path> children = Files.list(root)) {
                children.filter(Files::isDirectory)
                        .map(p -> p.getFileName().toString())
                        .filter(n -> !names.contains(n))
                        .forEach(names::add);
            } catch (IOException e) {
                // Removed while listed.
            }
        }
        return names;
    }

    /**
     * Removes {@code warden/} itself from every hierarchy where no deployment's group is left in it, so that nothing
     * of Warden stays on the machine once its last deployment is down.
     */
    public void removeRootIfEmpty() {
        for (Path mount : hierarchies()) {
            Path root = mount.resolve(ROOT);
            try (Stream<Path> children = Files.list(root)) {
                if (children.noneMatch(Files::isDirectory)) {
                    Files.deleteIfExists(root);
                }
            } catch (IOException e) {
                // Gone already, or a deployment made a group in it meanwhile: either way it stays as it is.
            }
        }
    }

    /**
     * Makes the groups from {@code warden/} down to {@code group}, so that limits can be set in it: on v2 each parent
     * passes the cpu, memory and pids controllers down ({@code cgroup.subtree_control}).
     */
    public void create(CgroupSet group) {
        for (Path dir : group.dirs()) {
            Path mount =
                    hierarchies().stream().filter(dir::startsWith).findFirst().orElseThrow();
            Path current = mount;
            for (Path part : mount.relativize(dir)) {
                if (v2) {
                    write(current.resolve("cgroup.subtree_control"), "+cpu +memory +pids");
                }
                current = current.resolve(part);
                try {
                    Files.createDirectories(current);
                } catch (IOException e) {
                    throw new WardenException(
                            "cannot make the cgroup " + current + ": " + e.getMessage(),
                            "cgroups need root; run as root or use --isolation process");
                }
            }
        }
    }

    /** Sets {@code limits} on {@code group}; they take effect at once on what runs in it. */
    public void apply(CgroupSet group, ResourceLimits limits) {
        if (v2) {
            Path dir = group.dirs().getFirst();
            write(dir.resolve("cpu.max"), limits.cpuMillis() > 0 ? limits.cpuMillis() * 100 + " 100000" : "max 100000");
            write(dir.resolve("memory.max"), limits.memoryBytes() > 0 ? Long.toString(limits.memoryBytes()) : "max");
            if (Files.exists(dir.resolve("memory.swap.max"))) {
                write(dir.resolve("memory.swap.max"), "0");
            }
            write(dir.resolve("pids.max"), limits.pids() > 0 ? Long.toString(limits.pids()) : "max");
            return;
        }
        Path cpu = dir("cpu", group);
        write(cpu.resolve("cpu.cfs_period_us"), "100000");
        write(cpu.resolve("cpu.cfs_quota_us"), limits.cpuMillis() > 0 ? Long.toString(limits.cpuMillis() * 100) : "-1");
        setMemoryV1(dir("memory", group), limits.memoryBytes() > 0 ? limits.memoryBytes() : -1);
        write(dir("pids", group).resolve("pids.max"), limits.pids() > 0 ? Long.toString(limits.pids()) : "max");
    }

    /**
     * v1 keeps memory + swap ({@code memsw}) at or above memory alone and refuses a write that would break that, so
     * the order depends on the direction; both are set equal, which leaves the group no swap.
     */
    private static void setMemoryV1(Path memory, long bytes) {
        Path limit = memory.resolve("memory.limit_in_bytes");
        Path memsw = memory.resolve("memory.memsw.limit_in_bytes");
        String value = Long.toString(bytes);
        if (!Files.exists(memsw)) {
            write(limit, value);
            return;
        }
        long current = readLong(memsw).orElse(Long.MAX_VALUE);
        if (bytes < 0 || bytes > current) {
            write(memsw, value);
            write(limit, value);
        } else {
            write(limit, value);
            write(memsw, value);
        }
    }

    /** The limits set on {@code group} (0 where there is none). */
    public ResourceLimits limits(CgroupSet group) {
        if (v2) {
            Path dir = group.dirs().getFirst();
            String cpu = read(dir.resolve("cpu.max")).split(" ")[0];
            return new ResourceLimits(
                    cpu.equals("max") ? 0 : Long.parseLong(cpu) / 100,
                    readLong(dir.resolve("memory.max")).orElse(0L),
                    readLong(dir.resolve("pids.max")).orElse(0L));
        }
        long quota = readLong(dir("cpu", group).resolve("cpu.cfs_quota_us")).orElse(-1L);
        long memory =
                readLong(dir("memory", group).resolve("memory.limit_in_bytes")).orElse(0L);
        return new ResourceLimits(
                quota > 0 ? quota / 100 : 0,
                // v1 reports "no limit" as a huge page-rounded number.
                memory >= Long.MAX_VALUE / 2 ? 0 : memory,
                readLong(dir("pids", group).resolve("pids.max")).orElse(0L));
    }

    /** What {@code group} has used so far, from its own counters. */
    public Usage usage(CgroupSet group) {
        if (v2) {
            Path dir = group.dirs().getFirst();
            Map<String, Long> cpu = keyed(read(dir.resolve("cpu.stat")));
            Map<String, Long> events = keyed(read(dir.resolve("memory.events")));
            return new Usage(
                    cpu.getOrDefault("usage_usec", 0L) * 1000,
                    cpu.getOrDefault("nr_periods", 0L),
                    cpu.getOrDefault("nr_throttled", 0L),
                    readLong(dir.resolve("memory.current")).orElse(0L),
                    events.getOrDefault("oom_kill", 0L));
        }
        Map<String, Long> cpu = keyed(read(dir("cpu", group).resolve("cpu.stat")));
        Path memory = dir("memory", group);
        return new Usage(
                readLong(dir("cpuacct", group).resolve("cpuacct.usage")).orElse(0L),
                cpu.getOrDefault("nr_periods", 0L),
                cpu.getOrDefault("nr_throttled", 0L),
                readLong(memory.resolve("memory.usage_in_bytes")).orElse(0L),
                keyed(read(memory.resolve("memory.oom_control"))).getOrDefault("oom_kill", 0L));
    }

    private static Map<String, Long> keyed(String text) {
        Map<String, Long> values = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            String[] kv = line.strip().split("\\s+");
            if (kv.length == 2) {
                try {
                    values.put(kv[0], Long.parseLong(kv[1]));
                } catch (NumberFormatException ignored) {
                    // Not a counter.
                }
            }
        }
        return values;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file).strip();
        } catch (IOException e) {
            return "";
        }
    }

    private static Optional<Long> readLong(Path file) {
        try {
            return Optional.of(Long.parseLong(read(file)));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static void write(Path file, String value) {
        CgroupSet.write(file, value);
    }

    /**
     * A group's counters: CPU time in nanoseconds; CFS periods and those in which it was throttled; memory in use
     * (page cache included); how many times the kernel's OOM killer ended a process in it.
     */
    public record Usage(long cpuNanos, long periods, long throttled, long memoryBytes, long oomKills) {}
}
