package io.warden.security;

import io.warden.common.WardenException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;

/**
 * The operator's credential for the control plane: a bearer token, 32 random bytes in URL-safe base64, kept in a
 * file only its owner can read. Whoever holds it can switch over, change the config or delete a replica's data, so
 * it is never logged, never in argv or the environment, and compared in constant time.
 */
public final class ApiToken {
    private static final int BYTES = 32;
    /** What {@link #generate} writes is 43 characters; anything much shorter was not made here. */
    private static final int MIN_LENGTH = 32;

    private final byte[] value;

    private ApiToken(String value) {
        this.value = value.getBytes(StandardCharsets.US_ASCII);
    }

    /** A new random token. */
    public static ApiToken generate() {
        return new ApiToken(SecretFile.random(BYTES));
    }

    /**
     * Reads the token from {@code file}, strictly: a person put it there, and a file others can read is a leaked
     * credential, so it is refused rather than used.
     *
     * @throws WardenException when the file is missing, readable by its group or others, or holds no token
     */
    public static ApiToken read(Path file) {
        return new ApiToken(SecretFile.read(file, "the API token", MIN_LENGTH));
    }

    /** Writes this token to a new {@code file} that only its owner can read or write; an existing file is kept. */
    public void writeNew(Path file) {
        SecretFile.writeNew(file, "the API token", new String(value, StandardCharsets.US_ASCII));
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
