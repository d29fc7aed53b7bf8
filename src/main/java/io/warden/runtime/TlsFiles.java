package io.warden.runtime;

/**
 * A TLS identity on disk, PEM: the CA that the other side's certificate must come from, this side's certificate, and
 * its key (PKCS#8, owner-only). Paths are absolute strings, as {@code deployment.json} records them.
 */
public record TlsFiles(String ca, String certificate, String key) {}
