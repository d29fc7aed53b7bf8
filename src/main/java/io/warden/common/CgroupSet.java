package io.warden.common;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * One control group as it appears in every hierarchy it is in: on cgroup v1 a directory per controller (cpu,
 * cpuacct, memory, pids, freezer), on v2 the one directory of the unified tree. Listing, freezing and killing the
 * processes in it (and in the groups below it) work alike on both; the runtime sets limits file by file on top.
 *
 * <p>Why a group and not a pid list: a process forked a moment before a kill is in the group too, and a frozen
 * group forks nothing, so freeze-kill-thaw ends everything in it with no race (v1 has no {@code cgroup.kill}).
 *
 * @param dirs the group's directory in each hierarchy, the same relative path under each mount
 */
public record CgroupSet(List<Path> dirs) {
    private static final Duration FREEZE_TIMEOUT = Duration.ofSeconds(10);

    public CgroupSet {
        if (dirs.isEmpty()) {
            throw new IllegalArgumentException("a cgroup set needs at least one directory");
        }
        dirs = List.copyOf(dirs);
    }

    /** Reads the form {@link #toConfig} writes: the directories, comma-separated. */
    public static CgroupSet parse(String config) {
        List<Path> dirs = Stream.of(config.split(","))
                .map(String::strip)
                .filter(s -> !s.isEmpty())
                .map(Path::of)
                .toList();
        if (dirs.isEmpty() || dirs.stream().anyMatch(d -> !d.isAbsolute())) {
            throw new WardenException(
                    "'" + config + "' is not a cgroup list",
                    "give the group's absolute directories, comma-separated (./warden up writes them)");
        }
        return new CgroupSet(dirs);
    }

    public String toConfig() {
        return String.join(",", dirs.stream().map(Path::toString).toList());
    }

    /**
     * The memory limit of this group, read from whichever hierarchy carries it ({@code memory.max} on v2,
     * {@code memory.limit_in_bytes} on v1); empty when none is set or it cannot be read. Read by the agent, which
     * sizes postgres's memory parameters from the container it runs in.
     */
    public java.util.OptionalLong memoryLimit() {
        for (Path dir : dirs) {
            for (String file : List.of("memory.max", "memory.limit_in_bytes")) {
                try {
                    String text = Files.readString(dir.resolve(file)).strip();
                    if (text.equals("max")) {
                        return java.util.OptionalLong.empty();
                    }
                    long bytes = Long.parseLong(text);
                    // v1 says "no limit" with a huge page-rounded number.
                    return bytes <= 0 || bytes >= Long.MAX_VALUE / 2
                            ? java.util.OptionalLong.empty()
                            : java.util.OptionalLong.of(bytes);
                } catch (IOException | NumberFormatException e) {
                    // Not this hierarchy's file: the next one.
                }
            }
        }
        return java.util.OptionalLong.empty();
    }

    /** The files a process writes its pid to, one per hierarchy, to enter this group. */
    public List<Path> procsFiles() {
        return dirs.stream().map(d -> d.resolve("cgroup.procs")).toList();
    }

    public boolean exists() {
        return dirs.stream().allMatch(Files::isDirectory);
    }

    /** A child group: the same relative path below each of this group's directories. */
    public CgroupSet child(String name) {
        return new CgroupSet(dirs.stream().map(d -> d.resolve(name)).toList());
    }

    /** The processes in this group and every group below it. Empty when it does not exist. */
    public Set<Long> pids() {
        Set<Long> pids = new TreeSet<>();
        // Every process of ours enters all hierarchies at once; a process placed by someone else in one of them
        // only is still in this group, so all are read.
        for (Path dir : dirs) {
            for (Path group : subtree(dir)) {
                try {
                    for (String line : Files.readAllLines(group.resolve("cgroup.procs"))) {
                        if (!line.isBlank()) {
                            pids.add(Long.parseLong(line.strip()));
                        }
                    }
                } catch (IOException | NumberFormatException gone) {
                    // Removed while we read it: it holds nothing.
                }
            }
        }
        return pids;
    }

    /** Stops every process in the group where it stands, as a paused VM would be. */
    public void freeze() {
        setFrozen(true);
    }

    public void thaw() {
        setFrozen(false);
    }

    public boolean frozen() {
        Path dir = freezerDir();
        try {
            if (isV2(dir)) {
                return Files.readAllLines(dir.resolve("cgroup.events")).contains("frozen 1");
            }
            return Files.readString(dir.resolve("freezer.state")).strip().equals("FROZEN");
        } catch (IOException e) {
            return false;
        }
    }

    private void setFrozen(boolean frozen) {
        Path dir = freezerDir();
        boolean v2 = isV2(dir);
        Path file = dir.resolve(v2 ? "cgroup.freeze" : "freezer.state");
        write(file, v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED"));
        // v1 reports FREEZING until every task has stopped; a kill sent before then could race a fork.
        boolean done;
        try {
            done = Poll.every(Duration.ofMillis(5)).until(FREEZE_TIMEOUT, () -> frozen() == frozen);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            done = false;
        }
        if (!done) {
            throw new WardenException(
                    "the cgroup " + dir + " did not become " + (frozen ? "frozen" : "thawed") + " within "
                            + FREEZE_TIMEOUT.toSeconds() + " s",
                    "see its state in " + file + "; a task stuck in the kernel (D state) can delay it");
        }
    }

    /**
     * SIGKILLs every process in the group and below, and waits until none is left; returns how many it killed. A
     * group that does not exist holds nothing to kill.
     */
    public int kill() {
        if (!exists() || pids().isEmpty()) {
            // The watchdog kills again every few milliseconds once fenced: an empty group costs one read.
            return 0;
        }
        Path freezer = freezerDir();
        int killed = 0;
        if (isV2(freezer) && Files.exists(freezer.resolve("cgroup.kill"))) {
            killed = pids().size();
            write(freezer.resolve("cgroup.kill"), "1");
        } else {
            // Frozen, nothing forks; SIGKILL is delivered as the tasks thaw. A frozen host that is killed ends thawed:
            // a dead host, not a paused one.
            freeze();
            for (long pid : pids()) {
                if (ProcessHandle.of(pid).map(ProcessHandle::destroyForcibly).orElse(false)) {
                    killed++;
                }
            }
            // A group below that was frozen by itself (one host of a deployment) stays frozen when this one thaws,
            // and its tasks would hold their SIGKILL forever.
            for (Path group : subtree(freezer)) {
                if (!group.equals(freezer) && Files.exists(group.resolve("freezer.state"))) {
                    write(group.resolve("freezer.state"), "THAWED");
                }
            }
            thaw();
        }
        awaitEmpty(Duration.ofSeconds(10));
        return killed;
    }

    /** Waits until the group holds no process; fails naming what is left. */
    public void awaitEmpty(Duration timeout) {
        boolean empty;
        try {
            empty = Poll.every(Duration.ofMillis(10)).until(timeout, () -> pids().isEmpty());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            empty = false;
        }
        if (!empty) {
            throw new WardenException(
                    "processes " + pids() + " are still in " + dirs.getFirst() + " after " + timeout.toSeconds() + " s",
                    "look at them with ps -o pid,stat,cmd -p <pid>; a task in D state waits on the kernel");
        }
    }

    /** Removes the group and the groups below it (deepest first) in every hierarchy; it must hold no process. */
    public void remove() {
        for (Path dir : dirs) {
            List<Path> groups = new ArrayList<>(subtree(dir));
            groups.sort(Comparator.comparingInt(Path::getNameCount).reversed());
            for (Path group : groups) {
                try {
                    Files.deleteIfExists(group);
                } catch (IOException e) {
                    throw new WardenException(
                            "cannot remove the cgroup " + group + ": " + e.getMessage(),
                            "stop what still runs in it (cat " + group.resolve("cgroup.procs") + ")");
                }
            }
        }
    }

    /** The directory whose freezer this group uses: the v1 freezer hierarchy's, or the unified one. */
    private Path freezerDir() {
        return dirs.stream()
                .filter(d -> Files.exists(d.resolve("freezer.state")) || Files.exists(d.resolve("cgroup.freeze")))
                .findFirst()
                .orElseThrow(() -> new WardenException(
                        "the cgroup " + dirs.getFirst() + " has no freezer",
                        "mount the freezer controller (cgroup v1) or use cgroup v2"));
    }

    private static boolean isV2(Path dir) {
        return Files.exists(dir.resolve("cgroup.freeze"));
    }

    /** The group and every group below it; empty when it does not exist. */
    private static List<Path> subtree(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            return walk.filter(Files::isDirectory).toList();
        } catch (IOException | java.io.UncheckedIOException e) {
            return List.of(dir);
        }
    }

    /** Writes one value to a cgroup file; a refusal names the file and the value. */
    public static void write(Path file, String value) {
        try {
            Files.writeString(file, value);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot write '" + value + "' to " + file + ": " + e.getMessage(),
                    "cgroups need root; check that the controller is mounted and the value is allowed");
        }
    }

    /** The group's directory in the first hierarchy, for messages. */
    @Override
    public String toString() {
        return dirs.getFirst().toString();
    }

    /** Empty when no directory of the list names a group (a config without one). */
    public static Optional<CgroupSet> parseOptional(String config) {
        return config == null || config.isBlank() ? Optional.empty() : Optional.of(parse(config));
    }
}
