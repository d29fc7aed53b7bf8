package io.warden.common;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Replacing a file whole: the new content goes to a sibling, owner-only from the moment it exists, which is then
 * moved over the file, so a reader sees the old content or the new, never half of either, and nobody else can read
 * the new one on the way.
 */
public final class AtomicFile {
    private AtomicFile() {}

    /** What is done to the sibling before it replaces the file (its owner set, say). */
    @FunctionalInterface
    public interface Preparation {
        void prepare(Path sibling) throws IOException;
    }

    /** Replaces {@code file} with {@code text}, owner-only (rw-------). */
    public static void replaceOwnerOnly(Path file, String text) throws IOException {
        replaceOwnerOnly(file, text, sibling -> {});
    }

    /** As {@link #replaceOwnerOnly(Path, String)}, with {@code preparation} done to the sibling before the move. */
    public static void replaceOwnerOnly(Path file, String text, Preparation preparation) throws IOException {
        Path sibling = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(sibling);
        Files.createFile(sibling, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(sibling, text);
        preparation.prepare(sibling);
        Files.move(sibling, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
