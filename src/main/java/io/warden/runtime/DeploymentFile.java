package io.warden.runtime;

import java.nio.file.Path;

/**
 * The files and directories a local deployment keeps in its directory for the operator (docs/security.md, "Secrets"):
 * one table of what lies where, whose it is and what it is for.
 */
public enum DeploymentFile {
    /**
     * The operator's API token (made by ./warden up, owner-only); each agent's config points at it, and the CLI sends
     * it with every request that changes something.
     */
    API_TOKEN("api-token"),
    /** The deployment CA's certificate, which clients verify the nodes with ({@code sslrootcert}); readable by all. */
    CA_CERTIFICATE("ca.crt"),
    /** The deployment CA's key: the operator's alone, never on a node. */
    CA_KEY("ca/ca.key"),
    /** The etcd CA's key, which signs every certificate etcd lets in: the operator's alone. */
    ETCD_CA_KEY("ca/etcd-ca.key"),
    /** The etcd CA's certificate; each etcd client's and member's directory gets a copy. */
    ETCD_CA_CERTIFICATE("ca/etcd-ca.crt"),
    /** The operator's etcd client certificate, with which the CLI reaches etcd (the key owner-only). */
    OPERATOR_ETCD_CLIENT("etcd-client"),
    /** The admin role's password (made by ./warden up, owner-only; warden credentials shows it). */
    ADMIN_PASSWORD("admin-password"),
    /**
     * The postgres superuser's password (owner-only): each node's config, owner-only and the agent's, gets a copy for
     * the agent's own connection; nobody else is given it.
     */
    SUPERUSER_PASSWORD("superuser-password"),
    /** The replicator role's password (owner-only); with TLS it logs in by its certificate instead. */
    REPLICATION_PASSWORD("replication-password"),
    /** The controller's directory: its log, and its lock (one controller per deployment). */
    CONTROLLER("controller"),
    /** The controller's lock: held while it runs, holding its pid once it does. */
    CONTROLLER_LOCK("controller/lock");

    private final String relative;

    DeploymentFile(String relative) {
        this.relative = relative;
    }

    /** Where it is in the deployment directory {@code dir}. */
    public Path in(Path dir) {
        return dir.toAbsolutePath().resolve(relative);
    }
}
