package io.warden.controller;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the deployment's certificates valid while it runs: every {@code interval} it asks {@link Renewal} to re-issue
 * whatever is due (the nodes' certificates, etcd's members' and clients'; due means in its last 7 days, other names,
 * another CA, or a key that does not match), and each process then presents the new pair from its next handshake on
 * (postgres after the agent's reload, etcd per connection, Warden's own processes when the files change). Without
 * it, a deployment left running for 90 days would lose every TLS connection at once, etcd's first.
 *
 * <p>A round that fails (a full disk, a file someone changed by hand) is logged with what to do and tried again after
 * {@link #RETRY}, never ending the controller: certificates still have days left when they come due.
 */
public final class CertificateUpkeep {
    private static final Logger LOG = LoggerFactory.getLogger(CertificateUpkeep.class);

    /** How soon a failed round is tried again: often enough to heal within the 7-day margin, rarely enough to read. */
    static final Duration RETRY = Duration.ofMinutes(1);

    /** What re-issues the certificates; implemented with the CA keys, which only the controller's host holds. */
    @FunctionalInterface
    public interface Renewal {
        /**
         * Re-issues every certificate due at {@code now}; one sentence per certificate re-issued, saying which and
         * why. Throws when a certificate could not be checked or written.
         */
        List<String> renewDue(Instant now);
    }

    /** What a round did: the sentences of what it renewed (or why it failed), and when the next one is. */
    public record Round(List<String> renewed, Duration nextIn, boolean failed) {}

    private final Renewal renewal;
    private final Duration interval;

    public CertificateUpkeep(Renewal renewal, Duration interval) {
        this.renewal = Objects.requireNonNull(renewal, "renewal is null");
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("the certificate check interval must be positive, not " + interval);
        }
        this.interval = interval;
    }

    /** One round at {@code now}: renews what is due, logs it, and says when to look again. */
    public Round step(Instant now) {
        try {
            List<String> renewed = List.copyOf(renewal.renewDue(now));
            renewed.forEach(sentence -> LOG.info("renewed {}", sentence));
            return new Round(renewed, interval, false);
        } catch (RuntimeException e) {
            Duration retry = interval.compareTo(RETRY) < 0 ? interval : RETRY;
            LOG.warn(
                    "could not check or renew the deployment's certificates: {}; trying again in {} (if it persists,"
                            + " run ./warden certificates --renew to see the error there)",
                    e.getMessage(),
                    retry,
                    e);
            return new Round(List.of(e.getMessage() == null ? e.toString() : e.getMessage()), retry, true);
        }
    }
}
