package io.warden.runtime.local;

import io.warden.common.WardenException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * A node's volume as the node uses it: mounted, and when encrypted, unlocked with the node's own key. Postgres's
 * data directory lives in {@code pgdata/} on it, the directory that carries the encryption policy: whatever postgres
 * or the agent makes below it (a data directory set aside, a fresh clone after a re-clone) is encrypted too, which it
 * would not be if the data directory itself carried the policy and was removed and made again.
 *
 * @param keys the deployment's volume keys; empty for a volume without encryption
 */
public record NodeVolume(String node, LoopVolume volume, Optional<VolumeKeys> keys, Path binDir) {
    /** The directory on the volume that holds the data directory (and carries the encryption policy). */
    public Path pgdata() {
        return volume.mountPoint().resolve("pgdata");
    }

    /**
     * Mounts it and, when encrypted, adds its key to the filesystem's keyring and makes sure {@code pgdata/} is
     * encrypted under it; refuses (leaving the data untouched) when the key cannot be unwrapped or {@code pgdata/} is
     * under another key.
     */
    public void open() {
        volume.mount();
        try {
            if (keys.isEmpty()) {
                Files.createDirectories(pgdata());
                return;
            }
            FsCrypt fscrypt = FsCrypt.in(binDir);
            boolean fresh = !Files.exists(pgdata());
            byte[] key =
                    keys.get().has(node) ? keys.get().unwrap(node) : keys.get().create(node);
            String identifier;
            try {
                identifier = fscrypt.addKey(volume.mountPoint(), key);
            } finally {
                Arrays.fill(key, (byte) 0);
            }
            if (fresh) {
                Files.createDirectory(pgdata());
                fscrypt.setPolicy(pgdata(), identifier);
                return;
            }
            Optional<String> policy = fscrypt.policy(pgdata());
            if (!policy.equals(Optional.of(identifier))) {
                throw new WardenException(
                        pgdata() + " is "
                                + policy.map(p -> "encrypted under another key (" + p + ")")
                                        .orElse("not encrypted")
                                + " but " + node + "'s volume key is " + identifier,
                        "check that " + node + "'s key file is the one this volume was made with; nothing was"
                                + " changed");
            }
        } catch (IOException e) {
            throw new WardenException(
                    "cannot prepare " + pgdata() + ": " + e.getMessage(), "check that the volume is mounted");
        }
    }

    /** Whether the data directory's files are encrypted (the policy is set and its key is in the keyring). */
    public boolean encrypted() {
        if (keys.isEmpty() || !volume.mounted() || !Files.isDirectory(pgdata())) {
            return false;
        }
        FsCrypt fscrypt = FsCrypt.in(binDir);
        return fscrypt.policy(pgdata())
                .map(id -> fscrypt.keyPresent(volume.mountPoint(), id))
                .orElse(false);
    }
}
