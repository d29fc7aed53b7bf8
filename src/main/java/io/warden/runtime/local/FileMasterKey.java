package io.warden.runtime.local;

import io.warden.common.AtomicFile;
import io.warden.common.WardenException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The master key in an owner-only file outside every volume (base64, 32 bytes). Made by {@code up} before its first
 * volume ({@link #readOrCreate}); a missing one is refused, never made anew, since every key wrapped under it would
 * then be unreadable without saying why. Replaced
 * atomically, and the file it replaced is overwritten before it goes, so an old master key cannot be read back from
 * the directory.
 */
public record FileMasterKey(Path file) implements MasterKeySource {
    /** The key, made first when there is none yet (a new deployment). */
    public byte[] readOrCreate() {
        if (!Files.exists(file)) {
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            write(key);
            return key;
        }
        return read();
    }

    @Override
    public byte[] read() {
        if (!Files.exists(file)) {
            throw new WardenException(
                    "the master key file " + file + " is missing",
                    "restore it from your backup: without it no volume of this deployment can be unlocked");
        }
        try {
            byte[] key = Base64.getDecoder().decode(Files.readString(file).strip());
            if (key.length != 32) {
                throw new IllegalArgumentException(key.length + " bytes");
            }
            return key;
        } catch (IOException | IllegalArgumentException e) {
            throw new WardenException(
                    "the master key file " + file + " is unreadable (" + e.getMessage() + ")",
                    "restore it from your backup: without it no volume of this deployment can be unlocked");
        }
    }

    @Override
    public void replace(byte[] next) {
        try {
            if (Files.exists(file)) {
                // The old key's bytes overwritten in place before the file is replaced.
                Files.write(file, new byte[(int) Files.size(file)]);
            }
        } catch (IOException e) {
            throw new WardenException(
                    "cannot overwrite the old master key " + file + ": " + e.getMessage(),
                    "check permissions; the new key was not written");
        }
        write(next);
    }

    private void write(byte[] key) {
        try {
            Files.createDirectories(file.getParent());
            AtomicFile.replaceOwnerOnly(file, Base64.getEncoder().encodeToString(key) + "\n");
        } catch (IOException e) {
            throw new WardenException(
                    "cannot write the master key " + file + ": " + e.getMessage(), "check free space and permissions");
        }
    }

    @Override
    public String where() {
        return file.toString();
    }
}
