package io.warden.cli;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.cluster.RouterStatus;
import io.warden.common.Poll;
import io.warden.common.Processes;
import io.warden.common.WardenException;
import io.warden.dcs.DcsException;
import io.warden.dcs.EtcdDcs;
import io.warden.dcs.EtcdTls;
import io.warden.postgres.Fence;
import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.EtcdIdentity;
import io.warden.runtime.LocalDeployment;
import io.warden.runtime.NodeIdentity;
import io.warden.runtime.TlsFiles;
import io.warden.security.AdminPassword;
import io.warden.security.ApiToken;
import io.warden.security.CertificateAuthority;
import io.warden.security.EtcdCertificates;
import io.warden.security.NodeCertificates;
import io.warden.security.PasswordFile;
import io.warden.security.Scram;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A local deployment seen through its cluster: what the runtime started ({@link LocalDeployment}, which knows
 * processes) joined with what the DCS says about it (who leads, who streams, which routers follow). The commands
 * and the integration tests reach a deployment's cluster through here, so the runtime never reads etcd itself.
 */
public final class Deployments {

    /**
     * What ./warden up makes before any process starts, in the deployment directory it first checks: the operator's
     * API token and the passwords of admin, the superuser and the replicator, each in an owner-only file of its own.
     * Returns what every node's config (owner-only, the agent's) gets from them: the admin password only as its SCRAM
     * verifier; the superuser's for the agent's own connection.
     */
    public static Map<String, String> prepareSecrets(Path dir) {
        LocalDeployment.prepareDirectory(dir.toAbsolutePath());
        ApiToken.ensure(DeploymentFile.API_TOKEN.in(dir));
        String admin = AdminPassword.ensure(DeploymentFile.ADMIN_PASSWORD.in(dir));
        // An older deployment.json kept these two itself; its cluster's roles have them, so they move, not change.
        Map<String, String> kept = DeploymentState.legacyPasswords(dir);
        warnIfDifferent(kept.get("superuser_password"), DeploymentFile.SUPERUSER_PASSWORD.in(dir));
        warnIfDifferent(kept.get("replication_password"), DeploymentFile.REPLICATION_PASSWORD.in(dir));
        String superuser = PasswordFile.ensure(
                DeploymentFile.SUPERUSER_PASSWORD.in(dir),
                "the superuser's password",
                Optional.ofNullable(kept.get("superuser_password")));
        String replication = PasswordFile.ensure(
                DeploymentFile.REPLICATION_PASSWORD.in(dir),
                "the replicator's password",
                Optional.ofNullable(kept.get("replication_password")));
        return Map.of(
                "admin_password_verifier",
                Scram.verifier(admin),
                "superuser_password",
                superuser,
                "replication_password",
                replication);
    }

    /**
     * What {@code ./warden up} starts in {@code dir}: its secrets made first ({@link #prepareSecrets}), so every node's
     * config points at them, with {@code extraNodeConfig} added to each, and the deployment's CAs as the identities.
     * The one composition of up, for the CLI and the tests alike.
     */
    public static LocalDeployment.Options upOptions(
            Path dir,
            int nodes,
            int basePort,
            String isolation,
            String cluster,
            Map<String, String> extraNodeConfig,
            int readWritePort,
            int readOnlyPort) {
        return upOptions(
                dir,
                nodes,
                basePort,
                isolation,
                cluster,
                extraNodeConfig,
                readWritePort,
                readOnlyPort,
                isolation.equals("netns") ? "required" : "off");
    }

    /** As {@link #upOptions(Path, int, int, String, String, Map, int, int)} with an encryption mode of up's. */
    public static LocalDeployment.Options upOptions(
            Path dir,
            int nodes,
            int basePort,
            String isolation,
            String cluster,
            Map<String, String> extraNodeConfig,
            int readWritePort,
            int readOnlyPort,
            String encryption) {
        Map<String, String> nodeConfig = new java.util.HashMap<>(prepareSecrets(dir));
        nodeConfig.putAll(extraNodeConfig);
        return new LocalDeployment.Options(
                dir,
                nodes,
                basePort,
                isolation,
                200 + (basePort / 100) % 50,
                cluster,
                nodeConfig,
                readWritePort,
                readOnlyPort,
                nodeIdentity(dir),
                etcdIdentity(dir),
                encryption);
    }

    /** A password file and an older deployment.json that disagree: the file wins, and the operator hears of it. */
    private static void warnIfDifferent(String kept, Path file) {
        if (kept != null
                && java.nio.file.Files.exists(file)
                && !kept.equals(PasswordFile.read(file, file.getFileName().toString()))) {
            System.err.println("warning: deployment.json held another password than " + file
                    + "; the file's is used, and deployment.json no longer holds any (if logins fail, check which one"
                    + " the cluster's role has)");
        }
    }

    private Deployments() {}

    /**
     * A node's TLS directory: in the operator's tree, not the node's directory, which the postgres user owns and so
     * could fill with symbolic links for anything that writes or changes owners there as root.
     */
    public static Path tlsDir(Path dir, String node) {
        return dir.toAbsolutePath().resolve("tls").resolve(node);
    }

    /**
     * The operator's client certificate for the agents' API ({@link NodeCertificates#ensureOperator}), which
     * {@code ./warden} presents: in the operator's tree, owner-only, beside the nodes' TLS directories.
     */
    public static Path operatorTlsDir(Path dir) {
        return dir.toAbsolutePath().resolve("tls").resolve("operator");
    }

    /**
     * The runtime of the deployment in {@code dir}, with the deployment's certificate authorities for the nodes it
     * makes (reached only when it makes one: listing or a drill issues no certificate): the one way the CLI, the
     * controller and the tests make, start, stop, resize, remove and hurt containers.
     */
    public static io.warden.runtime.Runtime runtime(Path dir) {
        NodeIdentity nodes = (node, names, nodeDir) -> nodeIdentity(dir).issue(node, names, nodeDir);
        EtcdIdentity etcd = new EtcdIdentity() {
            @Override
            public TlsFiles member(String member, List<String> names, Path memberDir) {
                return etcdIdentity(dir).member(member, names, memberDir);
            }

            @Override
            public TlsFiles client(String client, Path clientDir) {
                return etcdIdentity(dir).client(client, clientDir);
            }
        };
        return new io.warden.runtime.local.LocalRuntime(
                dir, nodes, etcd, () -> prepareSecrets(dir), java.time.Clock.systemUTC());
    }

    /**
     * The deployment's certificate authority (made with its key owner-only on first use) as the runtime sees it:
     * each node's TLS directory gets the CA's certificate and the node's own key and certificate, issued or renewed
     * when due ({@link NodeCertificates#ensure}). When running as root the key belongs to the postgres user. Made
     * by {@code up} and {@code certificates --renew}, it issues (or renews when due) the operator's client
     * certificate in {@link #operatorTlsDir} first, with the same CA and policy.
     */
    public static NodeIdentity nodeIdentity(Path dir) {
        CertificateAuthority ca = CertificateAuthority.ensure(
                DeploymentFile.CA_KEY.in(dir),
                DeploymentFile.CA_CERTIFICATE.in(dir),
                dir.toAbsolutePath().getFileName().toString(),
                Instant.now());
        return nodeIdentity(ca, dir, renewed -> {});
    }

    /** Issues with {@code ca}, telling {@code renewed} which node's certificates it re-issued, and why. */
    private static NodeIdentity nodeIdentity(CertificateAuthority ca, Path dir, Consumer<String> renewed) {
        NodeCertificates.ensureOperator(ca, operatorTlsDir(dir), Instant.now())
                .ifPresent(why -> renewed.accept("the operator's API client certificate (" + why + ")"));
        Optional<String> keyOwner = Processes.isRoot() ? Optional.of("postgres") : Optional.empty();
        return (node, names, nodeDir) -> {
            Path tls = tlsDir(dir, node);
            NodeCertificates.ensure(ca, node, names, tls, keyOwner, Instant.now())
                    .ifPresent(why -> renewed.accept(node + "'s certificates (" + why + ")"));
            return Map.of("tls_dir", tls.toString());
        };
    }

    /**
     * The deployment's etcd CA (made with its key owner-only on first use, apart from the deployment CA: that one
     * also signs the keys the postgres OS user reads) as the runtime sees it: each etcd member's certificate and each
     * client's, issued or renewed when due ({@link EtcdCertificates}), the keys owner-only.
     */
    public static EtcdIdentity etcdIdentity(Path dir) {
        CertificateAuthority ca = CertificateAuthority.ensure(
                DeploymentFile.ETCD_CA_KEY.in(dir),
                DeploymentFile.ETCD_CA_CERTIFICATE.in(dir),
                "etcd " + dir.toAbsolutePath().getFileName(),
                Instant.now());
        return etcdIdentity(ca, renewed -> {});
    }

    /** Issues with the etcd CA {@code ca}, telling {@code renewed} which certificate it re-issued, and why. */
    private static EtcdIdentity etcdIdentity(CertificateAuthority ca, Consumer<String> renewed) {
        return new EtcdIdentity() {
            @Override
            public TlsFiles member(String member, List<String> names, Path memberDir) {
                EtcdCertificates.ensureMember(ca, EtcdIdentity.MEMBER_COMMON_NAME, names, memberDir, Instant.now())
                        .ifPresent(why -> renewed.accept("etcd member " + member + "'s certificate (" + why + ")"));
                return files(memberDir, EtcdCertificates.MEMBER_CERTIFICATE, EtcdCertificates.MEMBER_KEY);
            }

            @Override
            public TlsFiles client(String client, Path clientDir) {
                EtcdCertificates.ensureClient(ca, client, clientDir, Instant.now())
                        .ifPresent(why -> renewed.accept(client + "'s etcd client certificate (" + why + ")"));
                return files(clientDir, EtcdCertificates.CLIENT_CERTIFICATE, EtcdCertificates.CLIENT_KEY);
            }
        };
    }

    /**
     * Re-issues every certificate of the deployment in {@code dir} that is due (see
     * {@link LocalDeployment#renewCertificates}); one sentence per certificate re-issued. The controller's renewal,
     * and {@code warden certificates --renew}'s.
     */
    public static List<String> renewCertificates(Path dir) {
        // The deployment and both CAs must be there already: an unattended renewal never makes a CA (every client
        // would need the new one), nor renews for a deployment that was taken down.
        DeploymentState.read(dir);
        CertificateAuthority ca =
                CertificateAuthority.load(DeploymentFile.CA_KEY.in(dir), DeploymentFile.CA_CERTIFICATE.in(dir));
        CertificateAuthority etcdCa = CertificateAuthority.load(
                DeploymentFile.ETCD_CA_KEY.in(dir), DeploymentFile.ETCD_CA_CERTIFICATE.in(dir));
        Path lockFile = DeploymentFile.CA_KEY.in(dir).resolveSibling("renewal.lock");
        // One round at a time (the controller's, warden certificates --renew): two writers of one pair could leave
        // one's key beside the other's certificate.
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(
                        lockFile, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
                java.nio.channels.FileLock lock = channel.lock()) {
            List<String> renewed = new java.util.ArrayList<>();
            LocalDeployment.renewCertificates(
                    dir, nodeIdentity(ca, dir, renewed::add), etcdIdentity(etcdCa, renewed::add));
            return renewed;
        } catch (java.io.IOException e) {
            throw new WardenException(
                    "cannot take the renewal lock " + lockFile + ": " + e.getMessage(), "check the CA directory");
        }
    }

    private static TlsFiles files(Path dir, String certificate, String key) {
        Path abs = dir.toAbsolutePath();
        return new TlsFiles(
                abs.resolve(EtcdCertificates.CA).toString(),
                abs.resolve(certificate).toString(),
                abs.resolve(key).toString());
    }

    /**
     * A DCS client of the deployment's etcd, as the operator: with the operator's client certificate, which etcd
     * demands of every client. The one way the CLI and the tests reach a deployment's etcd.
     */
    public static EtcdDcs dcs(DeploymentState state, Duration requestTimeout) {
        return new EtcdDcs(state.etcdClientUrls(), state.cluster(), requestTimeout, etcdTls(state));
    }

    /** The operator's etcd TLS files, checked; empty for a deployment made before etcd ran with TLS. */
    public static Optional<EtcdTls> etcdTls(DeploymentState state) {
        try {
            return state.etcdClientTls()
                    .map(files -> EtcdTls.configured(
                                    state.etcdClientUrls(), files.ca(), files.certificate(), files.key())
                            .orElseThrow());
        } catch (EtcdTls.Invalid e) {
            throw new WardenException(e.getMessage() + " (the operator's, from deployment.json)", e.fix());
        }
    }

    /** Stops the deployment in {@code dir} (see {@link LocalDeployment#down}), the leader's agent last. */
    public static void down(Path dir, boolean purge) {
        LocalDeployment.down(dir, purge, Deployments::leaderToStopLast, Fence::kill);
    }

    /**
     * The node whose agent {@code down} stops last. A primary's agent releases the leader key as it stops; a replica
     * whose agent still runs then takes the key and promotes, and the next {@code up} finds two nodes with the same
     * timeline number on different histories. Empty when etcd does not answer (then nobody can take the key
     * either) or no node holds the key.
     */
    static Optional<String> leaderToStopLast(DeploymentState state) {
        if (state.etcd().stream().noneMatch(e -> Processes.alive(e.pid()))) {
            return Optional.empty();
        }
        try (EtcdDcs dcs = dcs(state, Duration.ofSeconds(3))) {
            return dcs.read().leader().map(l -> l.name());
        } catch (DcsException e) {
            // No quorum: no agent can take the key now, so the order no longer matters.
            return Optional.empty();
        } catch (WardenException e) {
            // The operator's etcd certificate is gone or unusable: down must stop the processes all the same.
            System.err.println(
                    "note: cannot ask etcd which node leads (" + e.getMessage() + "); stopping in any order");
            return Optional.empty();
        }
    }

    /** The cluster as the DCS has it now. */
    public static ClusterSnapshot snapshot(DeploymentState state) {
        try (EtcdDcs dcs = dcs(state, Duration.ofSeconds(10))) {
            return dcs.read();
        }
    }

    /** Healthy: one running primary holding the leader key and every other node streaming from it. */
    public static boolean healthy(ClusterSnapshot cluster, int nodes) {
        Optional<Member> leader = cluster.leaderMember();
        if (leader.isEmpty()
                || leader.get().role() != Role.PRIMARY
                || leader.get().state() != MemberState.RUNNING) {
            return false;
        }
        long streaming = cluster.members().values().stream()
                .filter(m -> m.role() == Role.REPLICA && m.state() == MemberState.STREAMING)
                .count();
        return streaming == nodes - 1;
    }

    public static void awaitHealthy(DeploymentState state, Duration timeout) {
        try (EtcdDcs dcs = dcs(state, Duration.ofSeconds(3))) {
            Poll.every(Duration.ofMillis(200))
                    .require(
                            timeout,
                            "a primary, " + (state.nodes().size() - 1) + " streaming replicas and "
                                    + state.routers().size() + " routers routing to it",
                            "see the agent.log and router.log files; ./warden down stops whatever is still running",
                            () -> {
                                try {
                                    ClusterSnapshot cluster = dcs.read();
                                    return healthy(cluster, state.nodes().size()) && routersFollow(state, cluster, dcs);
                                } catch (RuntimeException e) {
                                    return false;
                                }
                            });
        }
    }

    /** Every router of the deployment is publishing and routes writes to the current leader. */
    static boolean routersFollow(DeploymentState state, ClusterSnapshot cluster, EtcdDcs dcs) {
        if (state.routers().isEmpty()) {
            return true;
        }
        String leader = cluster.leader().map(l -> l.name()).orElse("");
        var published = dcs.readRouters();
        return state.routers().stream()
                .allMatch(r -> published.stream()
                        .anyMatch(p -> p.id().equals(r.id()) && p.primary().equals(leader)));
    }

    public static List<RouterStatus> routers(DeploymentState state) {
        try (EtcdDcs dcs = dcs(state, Duration.ofSeconds(3))) {
            return dcs.readRouters();
        }
    }
}
