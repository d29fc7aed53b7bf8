package io.warden.common;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.Optional;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * JDK TLS from the PEM files Warden issues: a key pair that is read again whenever its files change, so a
 * certificate renewed while a process runs is presented from the next handshake on (the agent's HTTPS API as a
 * server; the agents, routers and the runtime as etcd's clients), and trust in one CA and nothing else. One place for
 * every process's TLS, so that renewal without a restart holds for all of them.
 */
public final class PemTls {
    private PemTls() {}

    /**
     * A server context presenting the pair in {@code certificateFile} and {@code keyFile}, read again whenever
     * either changes.
     */
    public static SSLContext server(Path certificateFile, Path keyFile) {
        return context(Optional.of(keyManager(certificateFile, keyFile)), Optional.empty());
    }

    /** A client context that trusts the CA in {@code caFile} and nothing else, and presents no certificate. */
    public static SSLContext trusting(Path caFile) {
        return context(Optional.empty(), Optional.of(caFile));
    }

    /**
     * A client context that trusts only the CA in {@code caFile} and presents the pair in {@code certificateFile} and
     * {@code keyFile}, read again whenever either changes.
     */
    public static SSLContext client(Path caFile, Path certificateFile, Path keyFile) {
        return context(Optional.of(keyManager(certificateFile, keyFile)), Optional.of(caFile));
    }

    /**
     * The pair in {@code certificateFile} and {@code keyFile} as a key manager that re-reads the files when their
     * time or size changes; for TLS stacks that take a key manager rather than a context (Netty, under jetcd).
     *
     * @throws WardenException when the files cannot be read now, or the key does not belong to the certificate
     */
    public static X509ExtendedKeyManager keyManager(Path certificateFile, Path keyFile) {
        return new RenewedPair(certificateFile, keyFile);
    }

    /** The X.509 certificate (the first one) in the PEM or DER {@code file}. */
    public static X509Certificate certificate(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            return (X509Certificate)
                    CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(bytes));
        } catch (IOException | GeneralSecurityException e) {
            throw new WardenException(
                    "cannot read the certificate " + file + ": " + e.getMessage(),
                    "run ./warden certificates --renew (or ./warden up) to issue it anew");
        }
    }

    /** The PKCS#8 private key ({@code BEGIN PRIVATE KEY}) in {@code keyFile}: EC, as Warden issues them, or RSA. */
    public static PrivateKey privateKey(Path keyFile) {
        byte[] der;
        try {
            der = der("PRIVATE KEY", Files.readString(keyFile, StandardCharsets.US_ASCII));
        } catch (IOException | IllegalArgumentException e) {
            throw new WardenException(
                    "cannot read the key " + keyFile + ": " + e.getMessage(),
                    "run ./warden certificates --renew (or ./warden up) to issue the pair again");
        }
        for (String algorithm : new String[] {"EC", "RSA"}) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException tryTheNext) {
                // Not this algorithm's key.
            }
        }
        throw new WardenException(
                keyFile + " holds a private key that is neither EC nor RSA",
                "run ./warden certificates --renew (or ./warden up) to issue the pair again");
    }

    /**
     * The private key in {@code keyFile}, which only its owner may read or write: a key others can read is refused
     * rather than presented, as postgres and etcd refuse theirs.
     */
    public static PrivateKey ownerOnlyKey(Path keyFile) {
        try {
            var permissions = Files.getPosixFilePermissions(keyFile);
            var others = java.util.EnumSet.complementOf(java.util.EnumSet.of(
                    java.nio.file.attribute.PosixFilePermission.OWNER_READ,
                    java.nio.file.attribute.PosixFilePermission.OWNER_WRITE));
            if (permissions.stream().anyMatch(others::contains)) {
                throw new WardenException(
                        "the key " + keyFile + " can be read or written by others ("
                                + java.nio.file.attribute.PosixFilePermissions.toString(permissions) + ")",
                        "chmod 600 " + keyFile + ", and run ./warden certificates --renew if others may have read it");
            }
        } catch (IOException e) {
            throw new WardenException("cannot read the key " + keyFile + ": " + e.getMessage(), "check the path");
        }
        return privateKey(keyFile);
    }

    /** Whether {@code key} belongs to {@code certificate}: it signs what the certificate's public key verifies. */
    public static boolean belongsTo(PrivateKey key, X509Certificate certificate) {
        String algorithm = key.getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        try {
            byte[] challenge = new byte[32];
            new SecureRandom().nextBytes(challenge);
            Signature signer = Signature.getInstance(algorithm);
            signer.initSign(key);
            signer.update(challenge);
            byte[] signature = signer.sign();
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(certificate.getPublicKey());
            verifier.update(challenge);
            return verifier.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    /** The body of the first PEM block of {@code type} in {@code text}, decoded. */
    public static byte[] der(String type, String text) {
        String begin = "-----BEGIN " + type + "-----";
        int from = text.indexOf(begin);
        int to = text.indexOf("-----END " + type + "-----");
        if (from < 0 || to < from) {
            throw new IllegalArgumentException("no " + type + " in PEM form");
        }
        return Base64.getMimeDecoder().decode(text.substring(from + begin.length(), to));
    }

    private static SSLContext context(Optional<X509ExtendedKeyManager> keys, Optional<Path> caFile) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(
                    keys.map(k -> new KeyManager[] {k}).orElse(null),
                    caFile.isPresent() ? trustOnly(caFile.get()).getTrustManagers() : null,
                    null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has TLS", e);
        }
    }

    private static TrustManagerFactory trustOnly(Path caFile) {
        try {
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            trusted.setCertificateEntry("warden-ca", certificate(caFile));
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(trusted);
            return factory;
        } catch (GeneralSecurityException | IOException e) {
            throw new WardenException(
                    "cannot trust the CA in " + caFile + ": " + e.getMessage(),
                    "check the file; ./warden up writes it");
        }
    }

    /**
     * A key and its certificate, loaded anew when either file's time or size changes. Serves as a server's and as a
     * client's pair: it offers its one alias for whichever side asks, when the key's type is among those asked for.
     * The alias names the generation of the pair it was chosen from, and the key and the chain are answered from that
     * same generation: the JDK asks for them one after the other, and a renewal landing in between must not pair the
     * new certificate with the old key (the peer would see a signature that does not verify).
     */
    private static final class RenewedPair extends X509ExtendedKeyManager {
        private static final String ALIAS = "warden-";
        private final Path certificateFile;
        private final Path keyFile;
        private volatile Loaded loaded;
        /** The generation before the current one, for a handshake that chose its alias just before a reload. */
        private volatile Loaded previous;

        private record Loaded(long generation, String stamp, PrivateKey key, X509Certificate certificate) {}

        RenewedPair(Path certificateFile, Path keyFile) {
            this.certificateFile = certificateFile;
            this.keyFile = keyFile;
            this.loaded = load(0);
            this.previous = loaded;
        }

        private synchronized Loaded current() {
            Loaded now = loaded;
            if (!stamp().equals(now.stamp())) {
                try {
                    Loaded next = load(now.generation() + 1);
                    previous = now;
                    loaded = next;
                    now = next;
                } catch (WardenException e) {
                    // Half renewed (the key written, the certificate not yet): keep presenting the pair we have.
                }
            }
            return now;
        }

        /** The generation {@code alias} names; the current one for an alias this manager did not hand out. */
        private Loaded generation(String alias) {
            Loaded now = loaded;
            Loaded before = previous;
            if (alias != null && alias.equals(ALIAS + before.generation())) {
                return before;
            }
            return alias != null && alias.equals(ALIAS + now.generation()) ? now : current();
        }

        private String stamp() {
            try {
                return Files.getLastModifiedTime(certificateFile) + "/" + Files.size(certificateFile) + "/"
                        + Files.getLastModifiedTime(keyFile) + "/" + Files.size(keyFile);
            } catch (IOException e) {
                return "";
            }
        }

        private Loaded load(long generation) {
            String stamp = stamp();
            X509Certificate certificate = certificate(certificateFile);
            PrivateKey key = ownerOnlyKey(keyFile);
            if (!belongsTo(key, certificate)) {
                throw new WardenException(
                        "the key in " + keyFile + " does not belong to the certificate in " + certificateFile,
                        "run ./warden certificates --renew (or ./warden up) to issue the pair again");
            }
            return new Loaded(generation, stamp, key, certificate);
        }

        /**
         * The alias of the current generation when its key's type is one the handshake can use (the JDK asks once
         * per type, or with a list: "EC" for ECDSA, "RSA" for RSA).
         */
        private String aliasFor(String... keyTypes) {
            Loaded now = current();
            String type = now.key().getAlgorithm();
            return keyTypes != null && Arrays.asList(keyTypes).contains(type) ? ALIAS + now.generation() : null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return aliasFor(keyType);
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return aliasFor(keyType);
        }

        @Override
        public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
            return aliasFor(keyTypes);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
            return aliasFor(keyTypes);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return new X509Certificate[] {generation(alias).certificate()};
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return generation(alias).key();
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            String alias = aliasFor(keyType);
            return alias == null ? new String[0] : new String[] {alias};
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return getServerAliases(keyType, issuers);
        }
    }
}
