package io.warden.security;

import java.nio.file.Path;

/**
 * The password of the cluster's {@code admin} role, the one the people who use the database log in with: made by
 * ./warden up, kept owner-only in the deployment directory, shown by {@code warden credentials}, and handed to the
 * agents only as its SCRAM verifier ({@link Scram}), so the plain password is in no config and no SQL text.
 */
public final class AdminPassword {
    private static final String WHAT = "the admin password";

    private AdminPassword() {}

    /** The password in {@code file}, made first when there is none yet. */
    public static String ensure(Path file) {
        return PasswordFile.ensure(file, WHAT, java.util.Optional.empty());
    }

    /**
     * The password a rotation is about to give admin, kept in {@code pendingFile} (owner-only) before postgres hears
     * of it: a rotation cut short after postgres took it can then still publish it, so it is never lost. Made when
     * there is none; the one a rotation left behind otherwise.
     */
    public static String pending(Path pendingFile) {
        return ensure(pendingFile);
    }

    /** Publishes {@code password} in {@code file}, replacing the one there at once (owner-only). */
    public static void publish(Path file, String password) {
        SecretFile.replace(file, password + "\n", true);
    }

    /** @throws io.warden.common.WardenException when the file is missing, readable by others, or holds no password */
    public static String read(Path file) {
        return PasswordFile.read(file, WHAT);
    }
}
