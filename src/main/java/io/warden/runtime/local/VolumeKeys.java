package io.warden.runtime.local;

import io.warden.common.AtomicFile;
import io.warden.common.WardenException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Each volume's own encryption key (64 bytes, what ext4's AES-256-XTS takes), stored only wrapped by the master key
 * (AES-256-GCM, the node's name bound in as associated data so that one node's wrapped key cannot be passed off as
 * another's) in {@code <keysDir>/<node>.wrapped}, outside every volume. The plain key exists only in this process's
 * memory and in the filesystem's keyring while the volume is mounted.
 *
 * <p>File format, one line: {@code v1:<master id>:<iv base64>:<wrapped base64>}; the master id is the first 8 bytes
 * of the master key's SHA-256, so that a refusal can say "wrapped under another master key" rather than guess.
 */
public final class VolumeKeys {
    private static final int KEY_BYTES = 64;
    private static final int IV_BYTES = 12;

    private final Path keysDir;
    private final MasterKeySource master;

    public VolumeKeys(Path keysDir, MasterKeySource master) {
        this.keysDir = keysDir;
        this.master = master;
    }

    private Path file(String node) {
        return keysDir.resolve(node + ".wrapped");
    }

    public boolean has(String node) {
        return Files.exists(file(node));
    }

    /**
     * Destroys {@code node}'s stored key, with its volume: what was on the volume can no longer be read by anyone who
     * kept a copy of the image.
     */
    public void remove(String node) {
        try {
            Files.deleteIfExists(file(node));
        } catch (java.io.IOException e) {
            throw new WardenException(
                    "cannot remove " + file(node) + ": " + e.getMessage(), "remove it by hand once the node is gone");
        }
    }

    /** A new random key for {@code node}'s volume, stored wrapped; refuses to replace one (its data would be lost). */
    public byte[] create(String node) {
        if (has(node)) {
            throw new WardenException(
                    "a volume key for " + node + " exists already (" + file(node) + ")",
                    "unwrap it instead; replacing it would make the volume unreadable");
        }
        byte[] key = new byte[KEY_BYTES];
        new SecureRandom().nextBytes(key);
        store(node, key, master.read());
        return key;
    }

    /** {@code node}'s volume key; a clear refusal when the master key cannot unwrap it. */
    public byte[] unwrap(String node) {
        Path pending = keysDir.resolve("rotating.key");
        if (Files.exists(pending)) {
            // A rotation was cut short: the node's key is under one of the two masters.
            try {
                return unwrap(node, master.read());
            } catch (WardenException underCurrent) {
                return unwrap(node, new FileMasterKey(pending).read());
            }
        }
        return unwrap(node, master.read());
    }

    private byte[] unwrap(String node, byte[] masterKey) {
        String[] parts;
        try {
            parts = Files.readString(file(node)).strip().split(":");
        } catch (IOException e) {
            throw new WardenException(
                    "the volume key of " + node + " (" + file(node) + ") cannot be read: " + e.getMessage(),
                    "restore it from your backup; without it " + node + "'s volume cannot be unlocked");
        }
        if (parts.length != 4 || !parts[0].equals("v1")) {
            throw new WardenException(
                    "the volume key file of " + node + " (" + file(node) + ") is not one Warden wrote",
                    "restore it from your backup");
        }
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(
                    Cipher.DECRYPT_MODE,
                    new SecretKeySpec(masterKey, "AES"),
                    new GCMParameterSpec(128, Base64.getDecoder().decode(parts[2])));
            cipher.updateAAD(node.getBytes(StandardCharsets.UTF_8));
            return cipher.doFinal(Base64.getDecoder().decode(parts[3]));
        } catch (GeneralSecurityException | IllegalArgumentException e) {
            boolean otherMaster = !parts[1].equals(masterId(masterKey));
            throw new WardenException(
                    "the volume key of " + node + " (" + file(node) + ") cannot be unwrapped with the master key "
                            + master.where()
                            + (otherMaster
                                    ? ": it was wrapped under another master key (id " + parts[1] + ", this one is "
                                            + masterId(masterKey) + ")"
                                    : ": the wrapped key is damaged"),
                    "put back the master key file it was wrapped with (from your backup); " + node
                            + " stays stopped and its data untouched until then");
        }
    }

    /**
     * Wraps every volume key under a new master key, then destroys the old one: from then on the old master key
     * unwraps nothing. The volumes stay mounted and the database keeps running; the volume keys themselves do not
     * change (that takes a new volume: the repair path).
     */
    public List<String> rotate() {
        if (nodes().isEmpty()) {
            return List.of();
        }
        byte[] old = master.read();
        byte[] next = new byte[32];
        new SecureRandom().nextBytes(next);
        List<String> nodes = nodes();
        List<byte[]> keys = new ArrayList<>();
        for (String node : nodes) {
            keys.add(unwrap(node, old));
        }
        // The next master key is kept aside before any key is wrapped under it, and unwrap tries it too: a crash part
        // way leaves every node unwrappable by one of the two, and the old one is destroyed only at the end.
        Path pending = keysDir.resolve("rotating.key");
        try {
            Files.createDirectories(keysDir);
            AtomicFile.replaceOwnerOnly(pending, Base64.getEncoder().encodeToString(next) + "\n");
        } catch (IOException e) {
            throw new WardenException(
                    "cannot write " + pending + ": " + e.getMessage(), "check free space; nothing was changed");
        }
        for (int i = 0; i < nodes.size(); i++) {
            store(nodes.get(i), keys.get(i), next);
        }
        master.replace(next);
        try {
            Files.write(pending, new byte[(int) Files.size(pending)]);
            Files.delete(pending);
        } catch (IOException e) {
            throw new WardenException(
                    "the master key was rotated but " + pending + " could not be removed: " + e.getMessage(),
                    "remove it by hand; it holds the new master key, which is also in " + master.where());
        }
        return nodes;
    }

    /** The nodes that have a wrapped key here. */
    public List<String> nodes() {
        if (!Files.isDirectory(keysDir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(keysDir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".wrapped"))
                    .map(n -> n.substring(0, n.length() - ".wrapped".length()))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private void store(String node, byte[] key, byte[] masterKey) {
        try {
            byte[] iv = new byte[IV_BYTES];
            new SecureRandom().nextBytes(iv);
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(masterKey, "AES"), new GCMParameterSpec(128, iv));
            cipher.updateAAD(node.getBytes(StandardCharsets.UTF_8));
            byte[] wrapped = cipher.doFinal(key);
            Files.createDirectories(keysDir);
            AtomicFile.replaceOwnerOnly(
                    file(node),
                    "v1:" + masterId(masterKey) + ":" + Base64.getEncoder().encodeToString(iv) + ":"
                            + Base64.getEncoder().encodeToString(wrapped) + "\n");
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM is missing from this JDK", e);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot write " + file(node) + ": " + e.getMessage(), "check free space and permissions");
        }
    }

    static String masterId(byte[] masterKey) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(masterKey);
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
