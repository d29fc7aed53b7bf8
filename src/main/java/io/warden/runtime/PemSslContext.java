package io.warden.runtime;

import io.warden.common.WardenException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A JDK {@link SSLContext} from PEM files: trusting only one CA, presenting one client certificate. For the runtime's
 * own HTTPS calls to etcd (its health check), which go through the JDK's HTTP client rather than jetcd.
 */
final class PemSslContext {
    private PemSslContext() {}

    static SSLContext of(TlsFiles files) {
        try {
            CertificateFactory x509 = CertificateFactory.getInstance("X.509");
            Certificate ca =
                    x509.generateCertificate(new ByteArrayInputStream(Files.readAllBytes(Path.of(files.ca()))));
            Certificate own = x509.generateCertificate(
                    new ByteArrayInputStream(Files.readAllBytes(Path.of(files.certificate()))));
            PrivateKey key = privateKey(Files.readString(Path.of(files.key()), StandardCharsets.US_ASCII));
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            trusted.setCertificateEntry("ca", ca);
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trusted);
            // An in-memory store only: the password protects nothing that is not already in the key file.
            char[] password = new char[0];
            KeyStore identity = KeyStore.getInstance("PKCS12");
            identity.load(null, null);
            identity.setKeyEntry("client", key, password, new Certificate[] {own});
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(identity, password);
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
            return context;
        } catch (IOException | GeneralSecurityException | IllegalArgumentException e) {
            throw new WardenException(
                    "cannot use the etcd client certificate " + files.certificate() + " (key " + files.key() + ", CA "
                            + files.ca() + "): " + e.getMessage(),
                    "run ./warden up again to issue it anew",
                    e);
        }
    }

    /** A PKCS#8 key ({@code BEGIN PRIVATE KEY}), EC as Warden issues them, or RSA. */
    private static PrivateKey privateKey(String pem) throws GeneralSecurityException {
        String begin = "-----BEGIN PRIVATE KEY-----";
        String end = "-----END PRIVATE KEY-----";
        int from = pem.indexOf(begin);
        int to = pem.indexOf(end);
        if (from < 0 || to < from) {
            throw new GeneralSecurityException("no PKCS#8 private key (BEGIN PRIVATE KEY) in PEM form");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(from + begin.length(), to));
        try {
            return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException notEc) {
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
        }
    }
}
