package io.warden.runtime.local;

import io.warden.common.Processes;
import io.warden.common.Processes.Result;
import io.warden.common.WardenException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A node's volume on the local runtime: an ext4 filesystem in an image file, attached to a loop device and mounted
 * at the node's {@code volume} directory, which holds its data directory (WAL included). Its size is the node's
 * disk: when it is full, that node's postgres stops writing, and no other node notices.
 *
 * <p>Made with {@code -m 0} (no blocks reserved for root: the agent runs as root, and a volume that looks full to
 * postgres but not to it would confuse the measurements) and with the {@code encrypt} feature, so that the data
 * directory can be encrypted on it. Mounted with {@code -o loop}: the loop device is released by the unmount.
 *
 * @param image the image file, outside the volume
 * @param mountPoint where it is mounted
 */
public record LoopVolume(Path image, Path mountPoint) {
    private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(2);

    /** Makes the image ({@code bytes} long, sparse) and its filesystem; refuses one that exists. */
    public void create(long bytes) {
        if (Files.exists(image)) {
            throw new WardenException(
                    "the volume image " + image + " exists already", "mount it, or remove it if it is a leftover");
        }
        try {
            Files.createDirectories(image.getParent());
            try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
                file.setLength(bytes);
            }
        } catch (IOException e) {
            throw new WardenException(
                    "cannot make the volume image " + image + ": " + e.getMessage(),
                    "check free space in its directory");
        }
        run("mkfs.ext4", "-q", "-F", "-m", "0", "-O", "encrypt", "-L", label(), image.toString());
    }

    private String label() {
        String name = mountPoint.getParent().getFileName().toString();
        return name.length() > 16 ? name.substring(0, 16) : name;
    }

    public boolean mounted() {
        try {
            String target = mountPoint.toAbsolutePath().toString();
            return Files.readAllLines(Path.of("/proc/self/mounts")).stream()
                    .map(l -> l.split(" "))
                    .anyMatch(f -> f.length > 1 && f[1].equals(target));
        } catch (IOException e) {
            return false;
        }
    }

    /** Mounts it (no-op when it is); the volume's root is left to root, the data directory in it to postgres. */
    public void mount() {
        if (mounted()) {
            return;
        }
        try {
            Files.createDirectories(mountPoint);
        } catch (IOException e) {
            throw new WardenException("cannot make " + mountPoint + ": " + e.getMessage(), "check permissions");
        }
        run("mount", "-o", "loop,noatime", image.toString(), mountPoint.toString());
    }

    /** Unmounts it (no-op when it is not); the loop device goes with it. Everything using it must have stopped. */
    public void unmount() {
        if (!mounted()) {
            return;
        }
        // A process of the stopped node may still be on its way out (a pg_ctl that was waiting for a start the
        // shutdown cut short): "target is busy" is tried again until it is gone, then refused naming who holds it.
        long deadline = System.nanoTime() + UNMOUNT_PATIENCE.toNanos();
        while (true) {
            Result result = Processes.run(List.of("umount", mountPoint.toString()), COMMAND_TIMEOUT);
            if (result.ok()) {
                return;
            }
            if (!result.output().contains("busy") || System.nanoTime() > deadline) {
                throw new WardenException(
                        "umount " + mountPoint + " failed: " + result.tail() + holders(),
                        "stop what still uses the volume (the pids above), then try again");
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new WardenException("interrupted while unmounting " + mountPoint, "try again");
            }
        }
    }

    private static final java.time.Duration UNMOUNT_PATIENCE = java.time.Duration.ofSeconds(15);

    /** The processes with a file, or their working directory, on the volume: what keeps it busy. */
    private String holders() {
        List<String> found = new java.util.ArrayList<>();
        try (var proc = Files.list(Path.of("/proc"))) {
            for (Path p : proc.toList()) {
                String pid = p.getFileName().toString();
                if (!pid.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try (var fds = Files.list(p.resolve("fd"))) {
                    boolean holds = Files.readSymbolicLink(p.resolve("cwd")).startsWith(mountPoint)
                            || fds.anyMatch(fd -> {
                                try {
                                    return Files.readSymbolicLink(fd).startsWith(mountPoint);
                                } catch (IOException e) {
                                    return false;
                                }
                            });
                    if (holds) {
                        String command = Files.readString(p.resolve("cmdline"))
                                .replace('\0', ' ')
                                .strip();
                        found.add(pid + " (" + command.substring(0, Math.min(80, command.length())) + ")");
                    }
                } catch (IOException | SecurityException gone) {
                    // exited meanwhile, or a kernel thread
                }
            }
        } catch (IOException e) {
            return "";
        }
        return found.isEmpty() ? "" : "; held by " + String.join(", ", found);
    }

    /** Size and use as the filesystem reports them inside ({@code df}). */
    public Usage usage() {
        try {
            var store = Files.getFileStore(mountPoint);
            // Used as df counts it: what a writer can no longer have (ext4 holds back a few blocks of its own).
            return new Usage(store.getTotalSpace(), store.getTotalSpace() - store.getUsableSpace());
        } catch (IOException e) {
            return new Usage(0, 0);
        }
    }

    /**
     * The size its filesystem has been grown to (block count times block size, from its superblock), which lags the
     * image while a growth is half done: the image extended, the filesystem not yet. 0 when it cannot be read.
     */
    public long filesystemBytes() {
        Result header = Processes.run(List.of("dumpe2fs", "-h", image.toString()), COMMAND_TIMEOUT);
        if (!header.ok()) {
            return 0;
        }
        long blocks = 0;
        long blockSize = 0;
        for (String line : header.output().split("\n")) {
            if (line.startsWith("Block count:")) {
                blocks = Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
            } else if (line.startsWith("Block size:")) {
                blockSize = Long.parseLong(line.substring(line.indexOf(':') + 1).strip());
            }
        }
        return blocks * blockSize;
    }

    /** The size of the image file: the volume's provisioned size. */
    public long imageBytes() {
        try {
            return Files.size(image);
        } catch (IOException e) {
            return 0;
        }
    }

    /**
     * Fills the volume to the last block with one file, {@code fill}, as a runaway writer would (the fault drill);
     * {@link #unfill} removes it.
     */
    public void fill() {
        Path fill = mountPoint.resolve("fill");
        // dd stops at "No space left on device", which is the point; its exit status says so and is not an error.
        Processes.run(List.of("dd", "if=/dev/zero", "of=" + fill, "bs=1M", "status=none"), Duration.ofMinutes(5));
        Processes.run(List.of("sync", "-f", fill.toString()), Duration.ofMinutes(1));
    }

    public void unfill() {
        try {
            Files.deleteIfExists(mountPoint.resolve("fill"));
        } catch (IOException e) {
            throw new WardenException(
                    "cannot remove " + mountPoint.resolve("fill") + ": " + e.getMessage(), "remove it by hand");
        }
    }

    /**
     * Grows the unmounted volume to {@code bytes}: the image file first (unless an online attempt extended it
     * already), then a forced check and the filesystem.
     */
    public void growOffline(long bytes) {
        if (mounted()) {
            throw new WardenException(
                    "cannot grow " + image + " while it is mounted at " + mountPoint, "unmount it first");
        }
        extend(bytes);
        Result check = Processes.run(List.of("e2fsck", "-f", "-p", image.toString()), COMMAND_TIMEOUT);
        // 0: clean, 1: errors corrected; anything else needs a person.
        if (check.exitCode() > 1) {
            throw new WardenException(
                    "e2fsck found errors on " + image + " it could not correct: " + check.tail(),
                    "run e2fsck -f " + image + " by hand before growing it");
        }
        run("resize2fs", image.toString());
    }

    /**
     * Grows the mounted volume to {@code bytes} where the kernel lets it: the image, then the loop device's size
     * ({@code losetup -c}), then the filesystem ({@code resize2fs} while mounted). Empty when it grew; otherwise
     * why not (these machines refuse an online resize2fs: "Permission denied to resize filesystem", the sandbox
     * withholds CAP_SYS_RESOURCE), and the caller takes the offline path, which finishes from where this stopped.
     */
    public java.util.Optional<String> tryGrowOnline(long bytes) {
        extend(bytes);
        var found = Processes.run(List.of("losetup", "-j", image.toString()), COMMAND_TIMEOUT);
        String device = found.output().strip().split(":", 2)[0];
        if (!found.ok() || !device.startsWith("/dev/loop")) {
            return java.util.Optional.of("no loop device found for " + image + ": " + found.tail());
        }
        Result refresh = Processes.run(List.of("losetup", "-c", device), COMMAND_TIMEOUT);
        if (!refresh.ok()) {
            return java.util.Optional.of("losetup -c " + device + " failed: " + refresh.tail());
        }
        Result resize = Processes.run(List.of("resize2fs", device), COMMAND_TIMEOUT);
        return resize.ok()
                ? java.util.Optional.empty()
                : java.util.Optional.of("resize2fs " + device + " while mounted failed: " + resize.tail());
    }

    /** The image file extended to {@code bytes} (no-op when it has them); refuses to shrink. */
    private void extend(long bytes) {
        if (bytes < imageBytes()) {
            throw new WardenException(
                    "cannot grow " + image + " to " + bytes + " bytes: it has " + imageBytes(),
                    "volumes only grow; give a larger size");
        }
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(bytes);
        } catch (IOException e) {
            throw new WardenException("cannot extend " + image + ": " + e.getMessage(), "check free space");
        }
    }

    private static void run(String... command) {
        Result result = Processes.run(List.of(command), COMMAND_TIMEOUT);
        if (!result.ok()) {
            throw new WardenException(
                    String.join(" ", command) + " failed: " + result.tail(),
                    "volumes need root, util-linux and e2fsprogs; check free space for the image");
        }
    }

    /** The filesystem's size and the bytes no writer can have any more, as df's Use% counts them. */
    public record Usage(long totalBytes, long usedBytes) {
        public int percent() {
            return totalBytes == 0 ? 0 : (int) Math.round(100.0 * usedBytes / totalBytes);
        }
    }
}
