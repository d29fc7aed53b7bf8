package io.warden.runtime;

import java.time.Instant;

/**
 * The volume of a removed node, kept detached with its key instead of deleted: a former primary that may hold
 * commits no other copy has (it led in asynchronous mode before it was failed over). It stays until {@link #until}
 * (the repair controller then deletes it) or until an operator removes it ({@code warden quarantine remove}).
 *
 * @param node the removed node's name (names are never reused, so it names the volume for good)
 * @param image where its volume's image is kept
 * @param bytes the image's size
 * @param encrypted its key is kept with it (wrapped by the deployment's master key)
 * @param since when it was quarantined (ISO-8601)
 * @param until when it may be deleted (ISO-8601)
 * @param reason why it was kept
 */
public record QuarantinedVolume(
        String node, String image, long bytes, boolean encrypted, String since, String until, String reason) {
    public QuarantinedVolume {
        reason = reason == null ? "" : reason;
    }

    /** Whether its time is over at {@code now}. */
    public boolean expired(Instant now) {
        return !now.isBefore(Instant.parse(until));
    }
}
