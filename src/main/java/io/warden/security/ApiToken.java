package io.warden.security;

import io.warden.common.WardenException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Set;

/**
 * The operator's credential for the control plane: a bearer token, 32 random bytes in URL-safe base64, kept in a
 * file only its owner can read. Whoever holds it can switch over, change the config or delete a replica's data, so
 * it is never logged, never in argv or the environment, and compared in constant time.
 */
public final class ApiToken {
    private static final int BYTES = 32;
    /** What {@link #generate} writes is 43 characters; anything much shorter was not made here. */
    private static final int MIN_LENGTH = 32;

    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ,
            PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE,
            PosixFilePermission.OTHERS_EXECUTE);

    private final byte[] value;

    private ApiToken(String value) {
        this.value = value.getBytes(StandardCharsets.US_ASCII);
    }

    /** A new random token. */
    public static ApiToken generate() {
        byte[] random = new byte[BYTES];
        new SecureRandom().nextBytes(random);
        return new ApiToken(Base64.getUrlEncoder().withoutPadding().encodeToString(random));
    }

    /**
     * Reads the token from {@code file}, strictly: a person put it there, and a file others can read is a leaked
     * credential, so it is refused rather than used.
     *
     * @throws WardenException when the file is missing, readable by its group or others, or holds no token
     */
    public static ApiToken read(Path file) {
        try {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
            if (permissions.stream().anyMatch(GROUP_OR_OTHERS::contains)) {
                throw new WardenException(
                        "the API token file " + file + " can be read or written by others ("
                                + PosixFilePermissions.toString(permissions) + ")",
                        "chmod 600 " + file + ", and replace the token if others may have read it");
            }
            String text = Files.readString(file, StandardCharsets.US_ASCII).strip();
            if (text.length() < MIN_LENGTH || !text.matches("[A-Za-z0-9_-]+")) {
                throw new WardenException(
                        "the API token file " + file + " holds no token (at least " + MIN_LENGTH
                                + " characters of A-Z, a-z, 0-9, '-' and '_')",
                        "write a new one with ./warden up, or put one there by hand (e.g. 32 random bytes in"
                                + " URL-safe base64)");
            }
            return new ApiToken(text);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot read the API token file " + file + ": " + e.getMessage(),
                    "check api_token_file, or run ./warden up to create it");
        }
    }

    /** Writes this token to a new {@code file} that only its owner can read or write; an existing file is kept. */
    public void writeNew(Path file) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            // Created owner-only and written through the one channel that created it: no moment in which others
            // could open it, and no second open by name that a swapped-in symlink could redirect.
            try (var channel = Files.newByteChannel(
                    file,
                    EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
                channel.write(java.nio.ByteBuffer.wrap(value));
            } catch (IOException e) {
                // An empty token file would stop every later start with "holds no token".
                Files.deleteIfExists(file);
                throw e;
            }
        } catch (IOException e) {
            throw new WardenException(
                    "cannot write the API token file " + file + ": " + e.getMessage(),
                    "check that its directory is writable");
        }
    }

    /** The token in {@code file}, made (and written owner-only) first when there is none yet: what ./warden up does. */
    public static ApiToken ensure(Path file) {
        if (!Files.exists(file)) {
            generate().writeNew(file);
        }
        return read(file);
    }

    /** Whether {@code presented} is this token; in constant time, so timing tells an attacker nothing. */
    public boolean matches(String presented) {
        return MessageDigest.isEqual(value, presented.getBytes(StandardCharsets.US_ASCII));
    }

    /** The header value a client sends. */
    public String authorization() {
        return "Bearer " + new String(value, StandardCharsets.US_ASCII);
    }

    /** Never the token itself: it must not reach a log by accident. */
    @Override
    public String toString() {
        return "ApiToken[redacted]";
    }
}
