package io.warden.security;

import io.warden.security.CertificateAuthority.Issued;
import io.warden.security.CertificateAuthority.Purpose;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A node's TLS directory, kept outside its data directory (pg_basebackup and pg_rewind copy that to other nodes):
 * the CA's certificate, which every connection the node makes verifies its peer with, and the node's own key and
 * certificate, which postgres serves, and the client certificate its replica connections log in with as
 * replicator. Issued by the operator's side, which holds the CA key; a node never sees it.
 */
public final class NodeCertificates {
    public static final String CA = "ca.crt";
    public static final String SERVER_CERTIFICATE = "server.crt";
    public static final String SERVER_KEY = "server.key";
    /** The replication role's client certificate: postgres lets replicator in by it alone (cert in pg_hba.conf). */
    public static final String REPLICATOR_CERTIFICATE = "replicator.crt";

    public static final String REPLICATOR_KEY = "replicator.key";
    /**
     * The client certificate the node's agent logs in to the other nodes with, as warden_peer: the key as PEM for
     * libpq (pg_rewind) and as PKCS#8 DER for pgjdbc.
     */
    public static final String PEER_CERTIFICATE = "warden_peer.crt";

    public static final String PEER_KEY = "warden_peer.key";
    public static final String PEER_DER_KEY = "warden_peer.pk8";
    /**
     * The client certificate the node's agent logs in to its own postgres with, as the superuser, from the loopback
     * alone (cert in pg_hba.conf): its key stays the agent's, never the postgres OS user's. PKCS#8 DER for pgjdbc.
     */
    public static final String SUPERUSER_CERTIFICATE = "superuser.crt";

    public static final String SUPERUSER_KEY = "superuser.key";
    public static final String SUPERUSER_DER_KEY = "superuser.pk8";
    /**
     * The agent's own pair for its HTTPS API, apart from postgres's: its key stays the agent's (never the postgres
     * user's), so a process of the postgres user that takes the API's port cannot pose as the agent and collect the
     * operator's token.
     */
    public static final String API_CERTIFICATE = "api.crt";

    public static final String API_KEY = "api.key";

    /**
     * The common name of the operator's client certificate, the one certificate the agents' API lets change
     * anything. No other certificate of the deployment CA may carry it: a node of that name is refused
     * ({@link #ensure}), since its postgres key is readable by the postgres OS user.
     */
    public static final String OPERATOR_COMMON_NAME = "warden-operator";

    public static final String OPERATOR_CERTIFICATE = "operator.crt";
    public static final String OPERATOR_KEY = "operator.key";

    /** How the common name of a node's {@link #API_CERTIFICATE} begins; the node's name follows. */
    private static final String AGENT_PREFIX = "warden agent ";

    private NodeCertificates() {}

    /** The common name of {@code node}'s API certificate, which its agent also presents when it calls the others. */
    public static String agentCommonName(String node) {
        return AGENT_PREFIX + node;
    }

    /** The node whose API certificate carries {@code commonName}; empty when it is no agent's. */
    public static Optional<String> agentNode(String commonName) {
        return commonName.startsWith(AGENT_PREFIX) && commonName.length() > AGENT_PREFIX.length()
                ? Optional.of(commonName.substring(AGENT_PREFIX.length()))
                : Optional.empty();
    }

    /**
     * Issues the operator's client certificate ({@value #OPERATOR_COMMON_NAME}) into {@code operatorDir} when
     * {@link #renewal} says it is due, with the nodes' policy; returns why it issued one. The directory and the key
     * are the issuer's alone: with the certificate, whoever reads the key may change the cluster through any agent.
     */
    public static Optional<String> ensureOperator(CertificateAuthority ca, Path operatorDir, Instant now) {
        try {
            Files.createDirectories(operatorDir);
            Files.setPosixFilePermissions(
                    operatorDir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        } catch (java.io.IOException e) {
            throw new io.warden.common.WardenException(
                    "cannot make the operator's TLS directory " + operatorDir + ": " + e.getMessage(),
                    "check the deployment directory");
        }
        return ensurePair(
                ca,
                OPERATOR_COMMON_NAME,
                List.of(),
                Purpose.CLIENT,
                operatorDir.resolve(OPERATOR_CERTIFICATE),
                operatorDir.resolve(OPERATOR_KEY),
                Optional.empty(),
                now);
    }

    /**
     * Issues the node's certificate into {@code tlsDir} when {@link #renewal} says it is due, and writes the CA's
     * certificate there; returns why it issued one, or empty when the present one stays. {@code names} are what
     * clients may reach the node as: its own address and every router's (clients verify the node through them).
     * The key is owner-only, owned by {@code keyOwner} when given (the OS user that runs postgres, which refuses a
     * key others can read), so postgres can load it the moment it appears.
     */
    public static Optional<String> ensure(
            CertificateAuthority ca,
            String node,
            List<String> names,
            Path tlsDir,
            Optional<String> keyOwner,
            Instant now) {
        if (node.equals(OPERATOR_COMMON_NAME)) {
            // The node's postgres certificate carries its name, and the postgres OS user reads its key.
            throw new io.warden.common.WardenException(
                    "a node cannot be named '" + OPERATOR_COMMON_NAME + "': that is the operator's certificate's"
                            + " name, which may change the cluster through the agents' API",
                    "name the node otherwise");
        }
        try {
            // Readable by all (the postgres user reads the certificates), whatever the umask; owned by whoever
            // issues, so nobody else can swap files in it.
            Files.createDirectories(tlsDir);
            Files.setPosixFilePermissions(tlsDir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (java.io.IOException e) {
            throw new io.warden.common.WardenException(
                    "cannot make the TLS directory " + tlsDir + ": " + e.getMessage(),
                    "check the deployment directory");
        }
        writeCa(ca, tlsDir);
        Optional<String> reason = ensurePair(
                ca,
                node,
                names,
                Purpose.SERVER,
                tlsDir.resolve(SERVER_CERTIFICATE),
                tlsDir.resolve(SERVER_KEY),
                keyOwner,
                now);
        // The common name is the role: postgres's cert method checks it against the user logging in.
        ensurePair(
                ca,
                "replicator",
                List.of(),
                Purpose.CLIENT,
                tlsDir.resolve(REPLICATOR_CERTIFICATE),
                tlsDir.resolve(REPLICATOR_KEY),
                keyOwner,
                now);
        boolean peerIssued = ensurePair(
                        ca,
                        "warden_peer",
                        List.of(),
                        Purpose.CLIENT,
                        tlsDir.resolve(PEER_CERTIFICATE),
                        tlsDir.resolve(PEER_KEY),
                        keyOwner,
                        now)
                .isPresent();
        ensurePair(
                ca,
                agentCommonName(node),
                names,
                // SERVER carries clientAuth as well: the agent presents this pair when it calls the other agents.
                Purpose.SERVER,
                tlsDir.resolve(API_CERTIFICATE),
                tlsDir.resolve(API_KEY),
                Optional.empty(),
                now);
        boolean superuserIssued = ensurePair(
                        ca,
                        "postgres",
                        List.of(),
                        Purpose.CLIENT,
                        tlsDir.resolve(SUPERUSER_CERTIFICATE),
                        tlsDir.resolve(SUPERUSER_KEY),
                        Optional.empty(),
                        now)
                .isPresent();
        ensureDerCopy(tlsDir.resolve(PEER_KEY), tlsDir.resolve(PEER_DER_KEY), peerIssued, keyOwner);
        ensureDerCopy(
                tlsDir.resolve(SUPERUSER_KEY), tlsDir.resolve(SUPERUSER_DER_KEY), superuserIssued, Optional.empty());
        return reason;
    }

    /**
     * Writes the PKCS#8 DER copy of {@code pemKey} that pgjdbc reads, when its key was just issued or when an issue
     * cut short left the copy of an older key beside the new certificate.
     */
    private static void ensureDerCopy(Path pemKey, Path derKey, boolean issued, Optional<String> owner) {
        byte[] der = CertificateAuthority.derOf(pemKey);
        if (issued || !Files.exists(derKey) || !java.util.Arrays.equals(der, derOfFile(derKey))) {
            SecretFile.replace(derKey, der, true, owner);
        }
    }

    /** Writes the CA's certificate into {@code dir} as {@value #CA}, unless it holds it already. */
    static void writeCa(CertificateAuthority ca, Path dir) {
        String caPem = CertificateAuthority.certificatePem(ca.certificate());
        Path caFile = dir.resolve(CA);
        if (!caPem.equals(textOf(caFile))) {
            SecretFile.replace(caFile, caPem, false);
        }
    }

    /**
     * Issues a key and certificate into the two files when {@link #renewal} says so, or when the key there is not
     * the certificate's; returns why. Shared by the nodes' and etcd's certificates.
     */
    static Optional<String> ensurePair(
            CertificateAuthority ca,
            String commonName,
            List<String> names,
            Purpose purpose,
            Path certificateFile,
            Path keyFile,
            Optional<String> keyOwner,
            Instant now) {
        Optional<X509Certificate> current = Optional.empty();
        Optional<String> mismatch = Optional.empty();
        if (Files.exists(certificateFile) && Files.exists(keyFile)) {
            X509Certificate certificate = CertificateAuthority.readCertificate(certificateFile);
            if (CertificateAuthority.matches(keyFile, certificate)) {
                current = Optional.of(certificate);
            } else {
                // An issue cut short between the two writes: postgres would refuse the pair at its next start.
                mismatch = Optional.of("its key does not match it");
            }
        }
        Optional<String> reason = mismatch.or(() -> Optional.empty());
        if (reason.isEmpty()) {
            reason = renewal(current, names, ca.certificate(), now);
        }
        if (reason.isPresent()) {
            Issued issued = ca.issue(commonName, names, purpose, now);
            // The key first: postgres reloading between the two writes finds a key that does not match the old
            // certificate and keeps its previous pair, where the other order could leave it serving neither; a
            // pair left mismatched is found above the next time.
            SecretFile.replace(keyFile, issued.keyPem().getBytes(StandardCharsets.US_ASCII), true, keyOwner);
            SecretFile.replace(certificateFile, issued.certificatePem(), false);
        }
        return reason;
    }

    /**
     * Why the node needs a new certificate, or empty when {@code current} may stay: there is none, another CA
     * signed it, it expires within {@link CertificateAuthority#RENEW_BEFORE} (or is not valid yet), or it names
     * other hosts than {@code names} (a router or the node's address changed).
     */
    static Optional<String> renewal(
            Optional<X509Certificate> current, List<String> names, X509Certificate ca, Instant now) {
        if (current.isEmpty()) {
            return Optional.of("no certificate yet");
        }
        X509Certificate certificate = current.get();
        if (!certificate.getIssuerX500Principal().equals(ca.getSubjectX500Principal()) || !signedBy(certificate, ca)) {
            return Optional.of("signed by another certificate authority");
        }
        Instant notAfter = certificate.getNotAfter().toInstant();
        if (!now.isBefore(notAfter.minus(CertificateAuthority.RENEW_BEFORE))) {
            return Optional.of("expires " + notAfter);
        }
        if (now.isBefore(certificate.getNotBefore().toInstant())) {
            return Optional.of("not valid before " + certificate.getNotBefore().toInstant());
        }
        Set<String> wanted = new TreeSet<>();
        for (String name : names) {
            wanted.add(CertificateAuthority.normalized(name));
        }
        Set<String> present = alternativeNames(certificate);
        if (!present.equals(wanted)) {
            return Optional.of("names " + present + " are not " + wanted);
        }
        return Optional.empty();
    }

    /** The IP addresses and DNS names a certificate is for. */
    public static Set<String> alternativeNames(X509Certificate certificate) {
        Set<String> names = new TreeSet<>();
        try {
            Collection<List<?>> entries = certificate.getSubjectAlternativeNames();
            if (entries == null) {
                return names;
            }
            for (List<?> entry : new ArrayList<>(entries)) {
                names.add(String.valueOf(entry.get(1)));
            }
        } catch (CertificateParsingException e) {
            // An unreadable extension names nothing: the certificate is then re-issued.
        }
        return names;
    }

    private static byte[] derOfFile(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (java.io.IOException e) {
            return new byte[0];
        }
    }

    private static String textOf(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (java.io.IOException e) {
            return "";
        }
    }

    private static boolean signedBy(X509Certificate certificate, X509Certificate ca) {
        try {
            certificate.verify(ca.getPublicKey());
            return true;
        } catch (java.security.GeneralSecurityException e) {
            return false;
        }
    }
}
