package io.warden.security;

import io.warden.common.PemTls;
import io.warden.common.WardenException;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.util.IPAddress;

/**
 * The deployment's certificate authority: one key that signs every node's certificate, so a client that trusts
 * the one CA file Warden gives out can verify whichever node a router hands it to ({@code sslmode=verify-full}).
 * The key stays with the operator (owner-only, in the deployment directory, never on a node); nodes get only
 * their own keys and the CA's certificate.
 *
 * <p>Keys are ECDSA P-256: quick to make (a node's key in milliseconds, where RSA takes a second) and understood by
 * libpq, pgjdbc, etcd and the JDK alike.
 */
public final class CertificateAuthority {
    /** The CA outlives every certificate it signs many times over; replacing it means re-issuing all of them. */
    static final Duration CA_LIFETIME = Duration.ofDays(3650);

    /** As CloudNativePG does: a node's certificate lives 90 days and is renewed in its last 7. */
    public static final Duration LIFETIME = Duration.ofDays(90);

    public static final Duration RENEW_BEFORE = Duration.ofDays(7);

    /** Clocks of the machines involved may disagree by a little; a certificate is valid from an hour before. */
    private static final Duration BACKDATE = Duration.ofHours(1);

    private static final Pattern DNS_NAME = Pattern.compile(
            "(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");

    private final PrivateKey key;
    private final X509Certificate certificate;

    private CertificateAuthority(PrivateKey key, X509Certificate certificate) {
        this.key = key;
        this.certificate = certificate;
    }

    /** What a certificate is for: the key usages a verifier checks. */
    public enum Purpose {
        /**
         * A postgres server (and the etcd member or API a node serves); for client authentication as well, so an
         * agent presents its API pair when it calls the other agents, and an etcd member its own to its peers.
         */
        SERVER,
        /** A client that authenticates with its certificate: its common name is the role it logs in as. */
        CLIENT
    }

    /** A key and the certificate this CA issued for it. */
    public record Issued(PrivateKey key, X509Certificate certificate) {
        /** The private key as PKCS#8 PEM ({@code BEGIN PRIVATE KEY}), as postgres and libpq read it. */
        public String keyPem() {
            return pem("PRIVATE KEY", key.getEncoded());
        }

        /** The private key as PKCS#8 DER, as pgjdbc reads a client key. */
        public byte[] keyDer() {
            return key.getEncoded();
        }

        public String certificatePem() {
            return CertificateAuthority.certificatePem(certificate);
        }
    }

    /**
     * The CA kept in {@code keyFile} and {@code certificateFile}, made first when neither exists (the key created
     * owner-only). One without the other is refused: a new CA would leave every issued certificate unverifiable.
     */
    public static CertificateAuthority ensure(Path keyFile, Path certificateFile, String deployment, Instant now) {
        boolean hasKey = Files.exists(keyFile);
        boolean hasCertificate = Files.exists(certificateFile);
        if (hasKey && hasCertificate) {
            return load(keyFile, certificateFile);
        }
        if (hasKey || hasCertificate) {
            throw new WardenException(
                    "the deployment's certificate authority is half there: " + (hasKey ? certificateFile : keyFile)
                            + " is missing",
                    "restore it from a backup; or, to start over with a new CA (every node's certificate is then"
                            + " re-issued and clients need the new CA file), remove "
                            + (hasKey ? keyFile : certificateFile));
        }
        KeyPair pair = newKeyPair();
        X500Name subject = name("Warden CA " + deployment);
        try {
            X509v3CertificateBuilder builder = builder(subject, subject, pair, now, CA_LIFETIME);
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            builder.addExtension(
                    Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(pair.getPublic()));
            X509Certificate certificate = sign(builder, pair.getPrivate());
            SecretFile.writeNew(
                    keyFile,
                    "the certificate authority's key",
                    pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
            SecretFile.replace(certificateFile, certificatePem(certificate), false);
            return new CertificateAuthority(pair.getPrivate(), certificate);
        } catch (GeneralSecurityException | IOException e) {
            throw new WardenException(
                    "cannot make the deployment's certificate authority: " + e.getMessage(),
                    "check the JDK's security providers; nothing was written",
                    e);
        }
    }

    /** The CA in the two files; the key file must be owner-only. */
    public static CertificateAuthority load(Path keyFile, Path certificateFile) {
        try {
            return new CertificateAuthority(PemTls.ownerOnlyKey(keyFile), readCertificate(certificateFile));
        } catch (WardenException e) {
            throw new WardenException(
                    "cannot read the certificate authority: " + e.getMessage(),
                    "restore the files from a backup (the key an ECDSA P-256 key as PKCS#8 PEM, owner-only)",
                    e);
        }
    }

    public X509Certificate certificate() {
        return certificate;
    }

    /**
     * A new key and a certificate for it, valid for {@link #LIFETIME} from {@code now}. {@code names} become the
     * subject alternative names (IP addresses as such, others as DNS names; no wildcards): what a client checks
     * against the host it connected to. A client certificate's {@code commonName} is the role it logs in as.
     */
    public Issued issue(String commonName, List<String> names, Purpose purpose, Instant now) {
        KeyPair pair = newKeyPair();
        try {
            X509v3CertificateBuilder builder = builder(
                    X500Name.getInstance(certificate.getSubjectX500Principal().getEncoded()),
                    name(commonName),
                    pair,
                    now,
                    LIFETIME);
            JcaX509ExtensionUtils extensions = new JcaX509ExtensionUtils();
            builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            builder.addExtension(
                    Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
            builder.addExtension(
                    Extension.extendedKeyUsage,
                    false,
                    new ExtendedKeyUsage(
                            purpose == Purpose.SERVER
                                    ? new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}
                                    : new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth}));
            builder.addExtension(
                    Extension.subjectKeyIdentifier, false, extensions.createSubjectKeyIdentifier(pair.getPublic()));
            builder.addExtension(
                    Extension.authorityKeyIdentifier, false, extensions.createAuthorityKeyIdentifier(certificate));
            if (!names.isEmpty()) {
                builder.addExtension(Extension.subjectAlternativeName, false, alternativeNames(names));
            }
            return new Issued(pair.getPrivate(), sign(builder, key));
        } catch (GeneralSecurityException | IOException e) {
            throw new WardenException(
                    "cannot issue a certificate for " + commonName + ": " + e.getMessage(),
                    "check the JDK's security providers",
                    e);
        }
    }

    /** A certificate for {@code pair}'s public key, valid from {@link #BACKDATE} before {@code now} for {@code lifetime}. */
    private static X509v3CertificateBuilder builder(
            X500Name issuer, X500Name subject, KeyPair pair, Instant now, Duration lifetime) {
        return new JcaX509v3CertificateBuilder(
                issuer,
                serial(),
                Date.from(now.minus(BACKDATE)),
                Date.from(now.plus(lifetime)),
                subject,
                pair.getPublic());
    }

    /** The subject alternative names for {@code names}; a name that is neither an address nor a host name is refused. */
    private static GeneralNames alternativeNames(List<String> names) throws IOException {
        GeneralName[] general = new GeneralName[names.size()];
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            if (IPAddress.isValid(name)) {
                // Checked as a literal first (999.1.1.1 is none), so no name here ever reaches DNS.
                general[i] = new GeneralName(GeneralName.iPAddress, name);
            } else if (DNS_NAME.matcher(name).matches() && !name.matches("[0-9.]+")) {
                general[i] = new GeneralName(GeneralName.dNSName, name);
            } else {
                throw new WardenException(
                        "'" + name + "' is neither an IP address nor a host name, so no certificate can name it",
                        "use the node's or router's address, or a host name of letters, digits, '-' and '.'"
                                + " (no wildcards)");
            }
        }
        return new GeneralNames(general);
    }

    /**
     * A name as the JDK reports it back from a certificate: an IP address in its full form ({@code ::1} as
     * {@code 0:0:0:0:0:0:0:1}), a host name as it is. Only a valid literal is parsed, so no name reaches DNS.
     */
    static String normalized(String name) {
        if (!IPAddress.isValid(name)) {
            return name;
        }
        try {
            return InetAddress.getByName(name).getHostAddress();
        } catch (java.net.UnknownHostException e) {
            return name;
        }
    }

    /** The private key in the owner-only PEM {@code keyFile} as PKCS#8 DER, the form pgjdbc reads. */
    static byte[] derOf(Path keyFile) {
        try {
            return PemTls.der("PRIVATE KEY", SecretFile.readOwnerOnly(keyFile, "a node's key"));
        } catch (IllegalArgumentException e) {
            throw new WardenException(keyFile + " holds " + e.getMessage(), "run ./warden certificates --renew");
        }
    }

    /** Whether the private key in {@code keyFile} belongs to {@code certificate}: it signs what the certificate's key verifies. */
    static boolean matches(Path keyFile, X509Certificate certificate) {
        try {
            return PemTls.belongsTo(PemTls.ownerOnlyKey(keyFile), certificate);
        } catch (WardenException e) {
            return false;
        }
    }

    public static String certificatePem(X509Certificate certificate) {
        try {
            return pem("CERTIFICATE", certificate.getEncoded());
        } catch (java.security.cert.CertificateEncodingException e) {
            throw new IllegalStateException("a certificate this JDK parsed cannot be encoded again", e);
        }
    }

    /** The first certificate in a PEM file. */
    public static X509Certificate readCertificate(Path file) {
        return PemTls.certificate(file);
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer)
            throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter()
                    .getCertificate(builder.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
            generator.initialize(new ECGenParameterSpec("secp256r1"));
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has ECDSA P-256", e);
        }
    }

    /** A random positive 127-bit serial, as RFC 5280 asks (unique per CA, at most 20 bytes). */
    private static BigInteger serial() {
        return new BigInteger(127, new SecureRandom());
    }

    /** A distinguished name with only a common name, built rather than parsed so that no character is special. */
    private static X500Name name(String commonName) {
        return new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.CN, commonName)
                .build();
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                        .encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
