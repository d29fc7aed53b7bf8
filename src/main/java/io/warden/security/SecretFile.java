package io.warden.security;

import io.warden.common.WardenException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Set;

/**
 * A secret kept in a file only its owner may read or write: made at once owner-only and written through the channel
 * that created it, read strictly (a file others can read is a leaked secret, refused rather than used). {@code what}
 * names the secret in every message ("the API token").
 */
final class SecretFile {
    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE,
            PosixFilePermission.OTHERS_EXECUTE);

    private SecretFile() {}

    /** {@code bytes} random bytes in URL-safe base64 without padding: letters, digits, '-' and '_'. */
    static String random(int bytes) {
        byte[] random = new byte[bytes];
        new SecureRandom().nextBytes(random);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    }

    /**
     * The secret in {@code file}, stripped, at least {@code minLength} characters of A-Z, a-z, 0-9, '-' and '_'.
     *
     * @throws WardenException when the file is missing, readable or writable by others, or holds no such secret
     */
    static String read(Path file, String what, int minLength) {
        String text = readOwnerOnly(file, what).strip();
        if (text.length() < minLength || !text.matches("[A-Za-z0-9_-]+")) {
            throw new WardenException(
                    what + " file " + file + " holds no secret (at least " + minLength
                            + " characters of A-Z, a-z, 0-9, '-' and '_')",
                    "write a new one with ./warden up (after removing this file), or put one there by hand");
        }
        return text;
    }

    /**
     * The text of {@code file}, which only its owner may read or write (a key in PEM form, say).
     *
     * @throws WardenException when the file is missing or readable or writable by others
     */
    static String readOwnerOnly(Path file, String what) {
        try {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
            if (permissions.stream().anyMatch(GROUP_OR_OTHERS::contains)) {
                throw new WardenException(
                        what + " file " + file + " can be read or written by others ("
                                + PosixFilePermissions.toString(permissions) + ")",
                        "chmod 600 " + file + ", and replace the secret if others may have read it");
            }
            return Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot read " + what + " file " + file + ": " + e.getMessage(),
                    "check the path, or run ./warden up to create it");
        }
    }

    /** Writes {@code secret} to a new owner-only {@code file}; fails if the file exists. */
    static void writeNew(Path file, String what, String secret) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            // Created owner-only and written through the one channel that created it: no moment in which others
            // could open it, and no second open by name that a swapped-in symlink could redirect.
            try (var channel = Files.newByteChannel(
                    file,
                    EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                channel.write(java.nio.ByteBuffer.wrap(secret.getBytes(StandardCharsets.US_ASCII)));
            } catch (IOException e) {
                // An empty file would stop every later start with "holds no secret".
                Files.deleteIfExists(file);
                throw e;
            }
        } catch (IOException e) {
            throw new WardenException(
                    "cannot write " + what + " file " + file + ": " + e.getMessage(),
                    "check that its directory is writable");
        }
    }

    /**
     * Replaces {@code file} atomically with {@code content}: owner-only when {@code secret}, readable by all
     * otherwise (a certificate). The new content is written to a sibling created with those permissions, then
     * moved over the old file, so a reader sees the old file or the new one, never half of either.
     */
    static void replace(Path file, String content, boolean secret) {
        replace(file, content.getBytes(StandardCharsets.US_ASCII), secret, java.util.Optional.empty());
    }

    /** As {@link #replace(Path, String, boolean)}, the new file owned by {@code owner} (an OS user) when given. */
    static void replace(Path file, byte[] content, boolean secret, java.util.Optional<String> owner) {
        // A name of its own per write: two writers of the same file (the controller and warden certificates
        // --renew) must never write into one temporary file.
        Path temporary = file.resolveSibling(file.getFileName() + "." + random(6) + ".new");
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            try (var channel = Files.newByteChannel(
                    temporary,
                    EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString(secret ? "rw-------" : "rw-r--r--")))) {
                channel.write(java.nio.ByteBuffer.wrap(content));
            }
            if (!secret) {
                // A umask of 077 would otherwise keep the postgres user from reading the CA's certificate.
                Files.setPosixFilePermissions(temporary, PosixFilePermissions.fromString("rw-r--r--"));
            }
            if (owner.isPresent()) {
                Files.setOwner(
                        temporary,
                        temporary
                                .getFileSystem()
                                .getUserPrincipalLookupService()
                                .lookupPrincipalByName(owner.get()));
            }
            Files.move(
                    temporary,
                    file,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                    java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException ignored) {
                // Left behind, unused: nothing reads a temporary file by its name.
            }
            throw new WardenException(
                    "cannot write " + file + ": " + e.getMessage(),
                    "check that its directory is writable and has space");
        }
    }
}
