package io.warden.runtime.local;

import io.warden.common.Processes;
import io.warden.common.WardenException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

/**
 * The kernel's ext4 encryption with v2 policies, through {@code warden-fscrypt}: a small C program shipped as a
 * resource and built with {@code cc} on first use into the deployment's {@code bin/} (the JDK cannot make the ioctls,
 * and Debian's fscrypt tool would keep its wrapped keys on the volume). The key goes to the filesystem's own keyring,
 * so every process sees the files unlocked, postgres too (runuser gives it a session keyring of its own, where v1
 * policies' keys would not be found).
 */
public final class FsCrypt {
    private static final String SOURCE = "warden-fscrypt.c";
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Path helper;

    private FsCrypt(Path helper) {
        this.helper = helper;
    }

    /**
     * The driver behind the kernel's {@code xts(aes)}, which encrypts the volumes' contents, as /proc/crypto lists it
     * once a volume has used it; empty before that. The generic C one ({@code aes-generic}, {@code aes-fixed-time})
     * costs several times what an accelerated one ({@code aesni}, {@code vaes}) does.
     */
    public static java.util.Optional<String> contentsCipherDriver(List<String> procCrypto) {
        boolean inXts = false;
        for (String line : procCrypto) {
            if (line.startsWith("name")) {
                inXts = line.substring(line.indexOf(':') + 1).strip().equals("xts(aes)");
            } else if (inXts && line.startsWith("driver")) {
                return java.util.Optional.of(
                        line.substring(line.indexOf(':') + 1).strip());
            }
        }
        return java.util.Optional.empty();
    }

    /** Whether {@code driver} is the kernel's unaccelerated AES. */
    public static boolean unaccelerated(String driver) {
        return driver.contains("aes-generic") || driver.contains("aes-fixed-time");
    }

    /** The helper in {@code binDir}, built there from this jar's source if it is missing or older than the jar's. */
    public static synchronized FsCrypt in(Path binDir) {
        Path helper = binDir.resolve("warden-fscrypt");
        Path source = binDir.resolve(SOURCE);
        try (InputStream in = FsCrypt.class.getResourceAsStream(SOURCE)) {
            if (in == null) {
                throw new IllegalStateException(SOURCE + " is missing from the class path");
            }
            byte[] text = in.readAllBytes();
            Files.createDirectories(binDir);
            boolean changed = !Files.exists(source) || !java.util.Arrays.equals(Files.readAllBytes(source), text);
            if (changed || !Files.isExecutable(helper)) {
                Files.write(source, text);
                Path building = binDir.resolve("warden-fscrypt.new");
                var built = Processes.run(
                        List.of("cc", "-O2", "-o", building.toString(), source.toString()), Duration.ofMinutes(2));
                if (!built.ok()) {
                    throw new WardenException(
                            "cannot build the encryption helper from " + source + ": " + built.tail(),
                            "install a C compiler and the kernel headers: apt-get install gcc libc6-dev"
                                    + " (./warden does this as root)");
                }
                Files.setPosixFilePermissions(building, PosixFilePermissions.fromString("rwx------"));
                Files.move(building, helper, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            }
        } catch (IOException e) {
            throw new WardenException(
                    "cannot prepare the encryption helper in " + binDir + ": " + e.getMessage(),
                    "check that " + binDir + " is writable");
        }
        return new FsCrypt(helper);
    }

    /** Adds {@code key} (64 bytes) to the keyring of the filesystem mounted at {@code mount}; returns its identifier. */
    public String addKey(Path mount, byte[] key) {
        try {
            // Through a pipe, not an argument: arguments are readable by anyone in /proc.
            ProcessBuilder builder =
                    new ProcessBuilder(helper.toString(), "add-key", mount.toString()).redirectErrorStream(true);
            Process process = builder.start();
            try (var stdin = process.getOutputStream()) {
                stdin.write(key);
            }
            String output = new String(process.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                    .strip();
            if (!process.waitFor(TIMEOUT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS)
                    || process.exitValue() != 0) {
                throw new WardenException(
                        "cannot unlock the volume at " + mount + ": " + output,
                        "check that it is an ext4 filesystem made with -O encrypt and that this runs as root");
            }
            return output;
        } catch (IOException e) {
            throw new WardenException("cannot run " + helper + ": " + e.getMessage(), "check that it was built");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WardenException("interrupted unlocking " + mount, "try again");
        }
    }

    /** Encrypts the empty directory {@code dir} under the key {@code identifier}: all made in it inherits it. */
    public void setPolicy(Path dir, String identifier) {
        run("set-policy", dir.toString(), identifier);
    }

    /** The identifier of the key {@code dir} is encrypted with; empty when it is not encrypted. */
    public java.util.Optional<String> policy(Path dir) {
        String out = run("policy", dir.toString());
        return out.equals("none") ? java.util.Optional.empty() : java.util.Optional.of(out);
    }

    public boolean keyPresent(Path mount, String identifier) {
        return run("key-status", mount.toString(), identifier).equals("present");
    }

    private String run(String... args) {
        List<String> command = new java.util.ArrayList<>(List.of(helper.toString()));
        command.addAll(List.of(args));
        var result = Processes.run(command, TIMEOUT);
        if (!result.ok()) {
            throw new WardenException(
                    "warden-fscrypt " + String.join(" ", args) + " failed: " + result.tail(),
                    "check that the volume is mounted and was made with -O encrypt");
        }
        return result.output().strip();
    }
}
