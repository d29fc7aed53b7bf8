package io.warden.security;

import java.nio.file.Path;
import java.util.Optional;

/**
 * A password Warden makes for itself and keeps in an owner-only file of its own, never in {@code deployment.json}, a
 * command line or the environment: the admin role's, the postgres superuser's, the replicator's.
 */
public final class PasswordFile {
    private static final int BYTES = 18;
    private static final int MIN_LENGTH = 20;

    private PasswordFile() {}

    /**
     * The password in {@code file}; when there is none yet, {@code carriedOver} (one an older Warden kept elsewhere,
     * which the cluster's roles already have) or else a new random one is written there first.
     */
    public static String ensure(Path file, String what, Optional<String> carriedOver) {
        if (!java.nio.file.Files.exists(file)) {
            SecretFile.writeNew(file, what, carriedOver.orElseGet(() -> SecretFile.random(BYTES)));
        }
        return read(file, what);
    }

    /** @throws io.warden.common.WardenException when the file is missing, readable by others, or holds no password */
    public static String read(Path file, String what) {
        return SecretFile.read(file, what, MIN_LENGTH);
    }
}
