package io.warden.dcs;

import io.etcd.jetcd.ClientBuilder;
import io.warden.common.PemTls;
import io.warden.common.WardenException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.net.ssl.SSLException;

/**
 * How a process proves itself to etcd and checks that it reached etcd: the CA that signed the members' certificates,
 * and the process's own client certificate and key (PEM; the key PKCS#8), which etcd demands from every client
 * ({@code --client-cert-auth}). Whoever can write the cluster's keys controls the database, so a Warden process talks
 * to etcd over {@code https://} with its certificate, or, for a DCS a person set up without TLS, over {@code http://}
 * with none; never a mix.
 */
public record EtcdTls(Path ca, Path certificate, Path key) {
    /** The config keys that name the three files, as the agent's and the router's config files spell them. */
    public static final String CA_KEY = "etcd_ca_file";

    public static final String CERTIFICATE_KEY = "etcd_cert_file";
    public static final String KEY_KEY = "etcd_key_file";

    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.complementOf(EnumSet.of(
            PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_EXECUTE));

    /** A configuration that cannot work, with what to write instead. */
    public static final class Invalid extends IllegalArgumentException {
        private final String fix;

        Invalid(String problem, String fix) {
            super(problem);
            this.fix = fix;
        }

        /** What to change; never empty. */
        public String fix() {
            return fix;
        }
    }

    /**
     * The TLS a config file asks for with {@code endpoints} and the three file keys (each null when absent): empty
     * for {@code http://} endpoints and no files; the files, checked, for {@code https://} endpoints.
     *
     * @throws Invalid when the endpoints mix schemes or use another, when https endpoints lack one of the files (or
     *     http ones name any: they would be silently unused), when a file is missing, or when the key can be read by
     *     others
     */
    public static Optional<EtcdTls> configured(List<String> endpoints, String ca, String certificate, String key) {
        if (endpoints.isEmpty()) {
            throw new Invalid("no etcd endpoints", "list the etcd members, e.g. [https://127.0.0.1:2379]");
        }
        List<String> schemes = new ArrayList<>();
        for (String endpoint : endpoints) {
            String scheme = scheme(endpoint);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                throw new Invalid(
                        "etcd endpoint '" + endpoint + "' is not an http:// or https:// URL",
                        "write each endpoint as https://host:port");
            }
            if (!schemes.isEmpty() && !schemes.getFirst().equals(scheme)) {
                throw new Invalid(
                        "the etcd endpoints " + endpoints + " mix http:// and https://",
                        "use https:// for every member (etcd serves one or the other on a port)");
            }
            schemes.add(scheme);
        }
        boolean anyFile = ca != null || certificate != null || key != null;
        if (schemes.getFirst().equals("http")) {
            if (anyFile) {
                throw new Invalid(
                        "the etcd endpoints " + endpoints + " are http://, yet " + named(ca, certificate, key)
                                + " is set: the certificate would never be used",
                        "use https:// endpoints (etcd with TLS), or remove " + CA_KEY + ", " + CERTIFICATE_KEY + " and "
                                + KEY_KEY);
            }
            return Optional.empty();
        }
        List<String> missing = new ArrayList<>();
        if (ca == null) {
            missing.add(CA_KEY);
        }
        if (certificate == null) {
            missing.add(CERTIFICATE_KEY);
        }
        if (key == null) {
            missing.add(KEY_KEY);
        }
        if (!missing.isEmpty()) {
            throw new Invalid(
                    "the etcd endpoints are https:// but " + String.join(", ", missing) + " is not set: etcd accepts"
                            + " only clients with a certificate from its CA",
                    "set " + CA_KEY + " (the CA that signed etcd's certificates), " + CERTIFICATE_KEY + " and "
                            + KEY_KEY + " (this process's client certificate and its key, PEM); ./warden up writes"
                            + " them");
        }
        EtcdTls tls = new EtcdTls(Path.of(ca), Path.of(certificate), Path.of(key));
        requireFile(tls.ca(), CA_KEY);
        requireFile(tls.certificate(), CERTIFICATE_KEY);
        requireFile(tls.key(), KEY_KEY);
        requireOwnerOnly(tls.key());
        return Optional.of(tls);
    }

    private static String scheme(String endpoint) {
        try {
            String scheme = URI.create(endpoint.strip()).getScheme();
            return scheme == null ? "" : scheme;
        } catch (IllegalArgumentException e) {
            return "";
        }
    }

    private static String named(String ca, String certificate, String key) {
        List<String> keys = new ArrayList<>();
        if (ca != null) {
            keys.add(CA_KEY);
        }
        if (certificate != null) {
            keys.add(CERTIFICATE_KEY);
        }
        if (key != null) {
            keys.add(KEY_KEY);
        }
        return String.join(", ", keys);
    }

    private static void requireFile(Path file, String key) {
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new Invalid(
                    key + " " + file + " is not a readable file",
                    "correct the path, or run ./warden up to issue the etcd certificates again");
        }
    }

    private static void requireOwnerOnly(Path key) {
        try {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(key);
            if (permissions.stream().anyMatch(GROUP_OR_OTHERS::contains)) {
                throw new Invalid(
                        KEY_KEY + " " + key + " can be read or written by others ("
                                + PosixFilePermissions.toString(permissions) + "): with it anyone can write the"
                                + " cluster's keys in etcd",
                        "chmod 600 " + key + ", and have ./warden up issue a new one if others may have read it");
            }
        } catch (IOException e) {
            throw new Invalid(
                    "cannot read the permissions of " + KEY_KEY + " " + key + ": " + e.getMessage(), "check the path");
        }
    }

    /**
     * Makes {@code builder}'s connections TLS, verifying each member against {@link #ca} and presenting the
     * certificate. The pair is read again when its files change, so a certificate renewed while the process runs is
     * presented on the next connection (jetcd reconnects to a member that restarted or went away); without that, a
     * process that outlived its certificate would be shut out of etcd at its next reconnect.
     */
    void applyTo(ClientBuilder builder) {
        try {
            builder.sslContext(ssl -> ssl.trustManager(ca.toFile()).keyManager(PemTls.keyManager(certificate, key)));
        } catch (SSLException | IllegalArgumentException | WardenException e) {
            throw new DcsException(
                    "cannot use the etcd client certificate " + certificate + " with key " + key + " and CA " + ca
                            + ": " + e.getMessage(),
                    e);
        }
    }

    /**
     * A jetcd client builder for {@code endpoints} with this TLS applied: for tests and tools that write raw values;
     * Warden's own processes go through {@link EtcdDcs}.
     */
    public ClientBuilder clientBuilder(List<String> endpoints) {
        ClientBuilder builder = io.etcd.jetcd.Client.builder().endpoints(endpoints.toArray(String[]::new));
        applyTo(builder);
        return builder;
    }
}
