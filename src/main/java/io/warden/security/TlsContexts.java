package io.warden.security;

import io.warden.common.WardenException;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * JDK TLS contexts from the deployment's PEM files: a server that presents a node's key and certificate (the
 * agent's HTTPS API), and a client that trusts only the deployment's CA (the CLI, the agents calling each other).
 * The JDK client checks the server's address against the certificate's names, as {@code verify-full} does.
 */
public final class TlsContexts {
    private TlsContexts() {}

    /**
     * A server context presenting the pair in {@code certificateFile} and {@code keyFile}, read again whenever the
     * certificate file changes: a certificate renewed while the agent runs is served from the next handshake on.
     */
    public static SSLContext server(Path certificateFile, Path keyFile) {
        try {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(new KeyManager[] {new RenewedPair(certificateFile, keyFile)}, null, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("every JDK has TLS", e);
        }
    }

    /** A client context that trusts the CA in {@code caFile} and nothing else. */
    public static SSLContext trusting(Path caFile) {
        try {
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            trusted.setCertificateEntry("warden-ca", CertificateAuthority.readCertificate(caFile));
            TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            factory.init(trusted);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, factory.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException | IOException e) {
            throw new WardenException(
                    "cannot trust the deployment's CA in " + caFile + ": " + e.getMessage(),
                    "check the file; ./warden up writes it");
        }
    }

    /** The node's key and certificate, loaded anew when the certificate file's time or size changes. */
    private static final class RenewedPair extends X509ExtendedKeyManager {
        private static final String ALIAS = "node";
        private final Path certificateFile;
        private final Path keyFile;
        private volatile Loaded loaded;

        private record Loaded(String stamp, PrivateKey key, X509Certificate certificate) {}

        RenewedPair(Path certificateFile, Path keyFile) {
            this.certificateFile = certificateFile;
            this.keyFile = keyFile;
            this.loaded = load();
        }

        private Loaded current() {
            Loaded now = loaded;
            String stamp = stamp();
            if (!stamp.equals(now.stamp())) {
                try {
                    now = load();
                    loaded = now;
                } catch (WardenException e) {
                    // Half renewed (the key written, the certificate not yet): keep serving the pair we have.
                }
            }
            return now;
        }

        private String stamp() {
            try {
                return Files.getLastModifiedTime(certificateFile) + "/" + Files.size(certificateFile) + "/"
                        + Files.getLastModifiedTime(keyFile);
            } catch (IOException e) {
                return "";
            }
        }

        private Loaded load() {
            String stamp = stamp();
            X509Certificate certificate = CertificateAuthority.readCertificate(certificateFile);
            if (!CertificateAuthority.matches(keyFile, certificate)) {
                throw new WardenException(
                        "the key in " + keyFile + " does not belong to the certificate in " + certificateFile,
                        "run ./warden certificates --renew to issue the pair again");
            }
            try {
                PrivateKey key = KeyFactory.getInstance("EC")
                        .generatePrivate(new PKCS8EncodedKeySpec(CertificateAuthority.derOf(keyFile)));
                return new Loaded(stamp, key, certificate);
            } catch (GeneralSecurityException e) {
                throw new WardenException(
                        "cannot read the key " + keyFile + ": " + e.getMessage(),
                        "run ./warden certificates --renew to issue the pair again");
            }
        }

        /** Only for the key type the node's key has (ECDSA): the JDK asks once per type it could use. */
        private static String aliasFor(String keyType) {
            return keyType != null && keyType.startsWith("EC") ? ALIAS : null;
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
        public X509Certificate[] getCertificateChain(String alias) {
            return new X509Certificate[] {current().certificate()};
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return current().key();
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return aliasFor(keyType) == null ? new String[0] : new String[] {ALIAS};
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[0];
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }
    }
}
