package io.warden.security;

import io.warden.security.CertificateAuthority.Purpose;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The certificates etcd runs on, from the deployment's etcd CA: a member's (served to clients and peers, and
 * presented to its peers) and a client's (an agent's, a router's, the operator's). etcd lets in every client whose
 * certificate this CA signed, so it is a CA of its own: the deployment CA also signs the keys each node's postgres
 * holds, which the postgres OS user can read, and with one of those nobody may write the cluster's keys.
 *
 * <p>Each directory holds {@link #CA}, the certificate and its key (owner-only); both are issued again when
 * {@link NodeCertificates#renewal} says so (none yet, another CA, expiring, other names).
 */
public final class EtcdCertificates {
    public static final String CA = "ca.crt";
    public static final String MEMBER_CERTIFICATE = "member.crt";
    public static final String MEMBER_KEY = "member.key";
    public static final String CLIENT_CERTIFICATE = "client.crt";
    public static final String CLIENT_KEY = "client.key";

    private EtcdCertificates() {}

    /**
     * A member's certificate in {@code dir}, for the addresses it is reached at ({@code names}), with {@code
     * commonName} (the one every member shares, which members require of their peers); returns why it was issued, or
     * empty when the present one stays.
     */
    public static Optional<String> ensureMember(
            CertificateAuthority ca, String commonName, List<String> names, Path dir, Instant now) {
        return ensure(ca, commonName, names, Purpose.SERVER, dir, MEMBER_CERTIFICATE, MEMBER_KEY, now);
    }

    /** A client's certificate in {@code dir}, named {@code client} (no addresses: a client is not dialled). */
    public static Optional<String> ensureClient(CertificateAuthority ca, String client, Path dir, Instant now) {
        return ensure(ca, client, List.of(), Purpose.CLIENT, dir, CLIENT_CERTIFICATE, CLIENT_KEY, now);
    }

    private static Optional<String> ensure(
            CertificateAuthority ca,
            String commonName,
            List<String> names,
            Purpose purpose,
            Path dir,
            String certificateName,
            String keyName,
            Instant now) {
        NodeCertificates.writeCa(ca, dir);
        return NodeCertificates.ensurePair(
                ca,
                commonName,
                names,
                purpose,
                dir.resolve(certificateName),
                dir.resolve(keyName),
                Optional.empty(),
                now);
    }
}
