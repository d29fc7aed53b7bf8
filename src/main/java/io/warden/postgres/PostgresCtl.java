package io.warden.postgres;

import io.warden.cluster.ExtensionAllowlist;
import io.warden.common.AtomicFile;
import io.warden.common.CgroupSet;
import io.warden.common.Poll;
import io.warden.common.Processes;
import io.warden.common.Processes.Result;
import io.warden.common.WardenException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Process and file control of one postgres data directory: initdb, start, stop, promote, clone, rewind, and the
 * configuration file the agent owns ({@code warden.conf}). When the agent runs as root every postgres program runs
 * as the unprivileged OS user, because postgres refuses to run as root.
 */
public final class PostgresCtl {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresCtl.class);

    /** The file the agent rewrites before every start and on every change of upstream. */
    static final String NODE_CONF = "warden.conf";

    /**
     * What a node's tls_dir holds for postgres and its clients: the CA's certificate, the server's pair, the pairs
     * replicator and warden_peer log in to other nodes with (warden_peer's key also in PKCS#8, for pgjdbc), and the
     * superuser's, which the agent logs in to its own postgres with from the loopback.
     */
    public static final List<String> TLS_FILES = List.of(
            "ca.crt",
            "server.crt",
            "server.key",
            "replicator.crt",
            "replicator.key",
            "warden_peer.crt",
            "warden_peer.key",
            "warden_peer.pk8",
            "superuser.crt",
            "superuser.pk8");

    /**
     * The environment of every postgres program. The out-of-memory killer picks the process with the highest score:
     * the postmaster keeps 0 and every process it forks raises its own to 500 (PostgreSQL writes
     * {@code PG_OOM_ADJUST_VALUE} to {@code PG_OOM_ADJUST_FILE} after each fork), so when a node runs out of memory the
     * backend that ran over goes, not the postmaster (whose death would take every session). Lowering the
     * postmaster's score instead needs CAP_SYS_RESOURCE, which these machines withhold.
     */
    private static final java.util.function.Function<Path, Map<String, String>> ENVIRONMENT = passFile -> Map.of(
            "LC_ALL",
            "C.UTF-8",
            "PGPASSFILE",
            passFile.toString(),
            "PG_OOM_ADJUST_FILE",
            "/proc/self/oom_score_adj",
            "PG_OOM_ADJUST_VALUE",
            "500");

    private final Path binDir;
    private final Path dataDir;
    private final Path workDir;
    private final Path logDir;
    private final String osUser;
    private final Optional<Path> tlsDir;
    private final Optional<CgroupSet> cgroup;
    /** The server certificate postgres was last configured with, to reload when the operator renews it. */
    private String servedCertificate = "";

    /**
     * @param osUser the OS user to run postgres as, or null to run as the current user
     * @param tlsDir the node's TLS directory (the CA's certificate, the node's key and certificate), or empty for a
     *     postgres without TLS
     */
    public PostgresCtl(Path binDir, Path dataDir, Path workDir, String osUser, Optional<Path> tlsDir) {
        this(binDir, dataDir, workDir, osUser, tlsDir, Optional.empty());
    }

    /**
     * @param cgroup the group every postgres program runs in (the node's CPU and memory limits), or empty to run them
     *     where the agent runs
     */
    public PostgresCtl(
            Path binDir, Path dataDir, Path workDir, String osUser, Optional<Path> tlsDir, Optional<CgroupSet> cgroup) {
        this(binDir, dataDir, workDir, workDir, osUser, tlsDir, cgroup);
    }

    /** @param logDir where postgres's log ({@code postgres.log}) goes */
    public PostgresCtl(
            Path binDir,
            Path dataDir,
            Path workDir,
            Path logDir,
            String osUser,
            Optional<Path> tlsDir,
            Optional<CgroupSet> cgroup) {
        this.logDir = logDir;
        this.cgroup = cgroup;
        this.binDir = binDir;
        this.dataDir = dataDir;
        this.workDir = workDir;
        this.osUser = osUser;
        this.tlsDir = tlsDir;
    }

    /** The client certificate this node's agent logs in to other nodes with (as warden_peer), when it has TLS. */
    public Optional<Sql.ClientCertificate> peerCertificate() {
        return tlsDir.map(d -> new Sql.ClientCertificate(d.resolve("warden_peer.crt"), d.resolve("warden_peer.pk8")));
    }

    /**
     * The client certificate this node's agent logs in to its own postgres with, as the superuser from the loopback,
     * when it has TLS (no password then: pg_hba.conf takes the superuser there by certificate alone).
     */
    public Optional<Sql.ClientCertificate> superuserCertificate() {
        return tlsDir.map(d -> new Sql.ClientCertificate(d.resolve("superuser.crt"), d.resolve("superuser.pk8")));
    }

    /** The CA certificate this node verifies every peer with, when it has TLS. */
    public Optional<Path> caFile() {
        return tlsDir.map(d -> d.resolve("ca.crt"));
    }

    public Path dataDir() {
        return dataDir;
    }

    public Optional<CgroupSet> cgroup() {
        return cgroup;
    }

    public Path logFile() {
        return logDir.resolve("postgres.log");
    }

    public Path passFile() {
        return workDir.resolve("pgpass");
    }

    public Path socketDir() {
        return workDir.resolve("run");
    }

    private List<String> command(String program, String... args) {
        List<String> command = new ArrayList<>();
        if (osUser != null) {
            command.addAll(List.of("runuser", "-u", osUser, "--"));
        }
        command.add(binDir.resolve(program).toString());
        command.addAll(List.of(args));
        // The group is entered before runuser drops root: the postgres user may not write a cgroup's files.
        return cgroup.map(g -> Processes.inCgroups(g.procsFiles(), command)).orElse(command);
    }

    private Result run(Duration timeout, String program, String... args) {
        return run(timeout, command(program, args));
    }

    private Result run(Duration timeout, List<String> command) {
        return Processes.run(command, ENVIRONMENT.apply(passFile()), timeout);
    }

    public boolean hasData() {
        return Files.exists(dataDir.resolve("PG_VERSION"));
    }

    public boolean isStandby() {
        return Files.exists(dataDir.resolve("standby.signal"));
    }

    /** The postmaster's pid if postgres runs on this data directory. */
    public Optional<Long> postmasterPid() {
        return Fence.postmasterPid(dataDir).filter(Processes::alive);
    }

    /**
     * Creates the working directories and the password file. The work directory itself stays the agent's, readable
     * by all but writable only by the agent: it holds what the agent (root, when it runs as root) reads and writes,
     * and a postgres user who could rename or link things there could steer that. The postgres user owns only what
     * it writes: the data directory, the socket directory, the password file and the log.
     */
    public void prepare(String superuserPassword, String replicationPassword) {
        try {
            Files.createDirectories(workDir);
            if (osUser != null) {
                // A work directory an earlier version handed to the postgres user is taken back.
                Files.setOwner(
                        workDir,
                        workDir.getFileSystem()
                                .getUserPrincipalLookupService()
                                .lookupPrincipalByName(System.getProperty("user.name")));
            }
            Files.setPosixFilePermissions(workDir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.createDirectories(socketDir());
            Files.writeString(
                    passFile(),
                    "*:*:*:postgres:" + escapePass(superuserPassword) + "\n*:*:*:replicator:"
                            + escapePass(replicationPassword) + "\n");
            Files.setPosixFilePermissions(passFile(), PosixFilePermissions.fromString("rw-------"));
            chown(socketDir());
            chown(passFile());
            Files.createDirectories(logDir);
            if (!Files.exists(logFile())) {
                // pg_ctl opens it as the postgres user, who cannot create files in the work directory.
                Files.createFile(logFile());
            }
            chown(logFile());
        } catch (IOException e) {
            throw new WardenException(
                    "cannot prepare the node's work directory " + workDir + ": " + e.getMessage(),
                    "check that it is writable and the disk is not full",
                    e);
        }
    }

    private static String escapePass(String value) {
        return value.replace("\\", "\\\\").replace(":", "\\:");
    }

    private void chown(Path path) throws IOException {
        if (osUser == null) {
            return;
        }
        UserPrincipal owner =
                path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(osUser);
        Files.setOwner(path, owner);
    }

    /** Runs initdb with data checksums; the superuser gets the password, local connections use peer auth. */
    public void initdb(String superuserPassword) {
        try {
            Files.createDirectories(dataDir);
            Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx------"));
            chown(dataDir);
            Path pwFile = workDir.resolve("initdb.pw");
            Files.writeString(pwFile, superuserPassword + "\n");
            chown(pwFile);
            Result result = run(
                    Duration.ofMinutes(2),
                    "initdb",
                    "-D",
                    dataDir.toString(),
                    "-U",
                    "postgres",
                    "--pwfile=" + pwFile,
                    "--data-checksums",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--auth-local=peer",
                    "--auth-host=scram-sha-256");
            Files.deleteIfExists(pwFile);
            check(result, "initdb", "check the disk has space and " + dataDir + " is writable by the postgres user");
            Files.writeString(dataDir.resolve("pg_hba.conf"), """
                    # Written by the Warden agent at bootstrap; replaced by the managed one before postgres starts.
                    local   all          all                       peer
                    host    replication  replicator  0.0.0.0/0     scram-sha-256
                    host    all          all         0.0.0.0/0     scram-sha-256
                    """);
            Files.writeString(
                    dataDir.resolve("postgresql.conf"),
                    "\n# Node-specific settings owned by the Warden agent.\ninclude_if_exists = '" + NODE_CONF + "'\n",
                    java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot write the new cluster's configuration in " + dataDir + ": " + e.getMessage(),
                    "check free space and permissions; the half-made data directory is removed and the bootstrap tried again",
                    e);
        }
    }

    /**
     * Writes warden.conf: node identity, replication settings, the cluster's parameters, and the upstream when
     * this node is to follow one; creates or removes standby.signal to match. Returns whether the file changed
     * (a running postgres then needs a reload to see it).
     */
    public boolean writeConfig(
            LocalServer node, Map<String, String> parameters, Optional<Upstream> upstream, Set<String> memberHosts) {
        Map<String, String> settings = new TreeMap<>();
        // Room for a thousand sessions through the routers (postgres's own default of 100 is a toy for a managed
        // service); the cluster's parameters override it.
        settings.put("max_connections", "1100");
        // Replication defaults an operator may raise (or, for wal_level, set to logical) through the cluster config.
        settings.put("wal_level", "replica");
        settings.put("max_wal_senders", "10");
        settings.put("max_replication_slots", "10");
        settings.put("hot_standby_feedback", "on");
        // A follower whose upstream just changed retries every second instead of the default five.
        settings.put("wal_retrieve_retry_interval", "1s");
        // Every member has a slot on the primary, and a slot keeps WAL for as long as its replica does not confirm
        // it: a replica whose postgres is stuck would, with postgres's default (-1, no limit), fill the primary's
        // disk and stop it for everyone. 10GB on top of max_wal_size (1GB by default) is a tenth of a 100 GB
        // volume, and covers a replica away for hours at an ordinary write rate (over ten minutes at a sustained
        // 16 MB/s). One that falls further behind loses its slot's WAL; it then finds the WAL it resumes from gone
        // and is re-cloned (RECLONE in HaDecider), and on postgres 15 the re-cloned replica streaming through the
        // lost slot makes it reserve WAL again. Smaller volumes (or larger ones) set it in the cluster's parameters.
        settings.put("max_slot_wal_keep_size", "10GB");
        // Postgres 15's own default; an operator may raise it to TLSv1.3.
        settings.put("ssl_min_protocol_version", "TLSv1.2");
        settings.putAll(parameters);
        // From here on: what Warden needs and manages (ParameterValidator refuses these names).
        settings.put("listen_addresses", node.host().equals("127.0.0.1") ? "127.0.0.1" : "127.0.0.1," + node.host());
        settings.put("port", Integer.toString(node.port()));
        settings.put("unix_socket_directories", socketDir().toString());
        settings.put("cluster_name", node.name());
        settings.put("hot_standby", "on");
        settings.put("wal_log_hints", "on");
        settings.put("recovery_target_timeline", "latest");
        // Managed: a role given an md5 hash could not log in under the scram-sha-256 rules of pg_hba.conf anyway.
        settings.put("password_encryption", "scram-sha-256");
        tlsDir.ifPresent(tls -> {
            // Served from the node's TLS directory, outside the data directory that pg_basebackup and pg_rewind
            // copy to other nodes; ssl_ca_file lets postgres verify the client certificates the same CA issues.
            settings.put("ssl", "on");
            settings.put("ssl_cert_file", tls.resolve("server.crt").toString());
            settings.put("ssl_key_file", tls.resolve("server.key").toString());
            settings.put("ssl_ca_file", tls.resolve("ca.crt").toString());
        });
        Optional<List<String>> allowlist = extensionAllowlist(settings);
        upstream.ifPresentOrElse(
                u -> {
                    settings.put("primary_conninfo", conninfo(u, "replicator", node.name()));
                    settings.put("primary_slot_name", slotName(node.name()));
                },
                () -> {
                    settings.put("primary_conninfo", "");
                    settings.put("primary_slot_name", "");
                });
        StringBuilder text = new StringBuilder("# Written by the Warden agent; changes here are overwritten.\n");
        settings.forEach((k, v) ->
                text.append(k).append(" = '").append(v.replace("'", "''")).append("'\n"));
        try {
            // Replaced atomically: a postmaster starting or reloading must never read a half-written file (it
            // would fall back to port 5432 and no upstream).
            if (allowlist.isPresent()) {
                writeExtensionScripts(allowlist.get());
            }
            boolean changed = replaceIfChanged(dataDir.resolve(NODE_CONF), text.toString());
            changed |= replaceIfChanged(dataDir.resolve("pg_hba.conf"), hba(memberHosts, tlsDir.isPresent()));
            changed |= takeRenewedCertificate();
            Path signal = dataDir.resolve("standby.signal");
            if (upstream.isPresent() || node.standby()) {
                if (!Files.exists(signal)) {
                    Files.writeString(signal, "");
                    chown(signal);
                }
            } else {
                Files.deleteIfExists(signal);
            }
            return changed;
        } catch (IOException e) {
            throw new WardenException(
                    "cannot write postgres's settings in " + dataDir + ": " + e.getMessage(),
                    "check free space and permissions of the data directory",
                    e);
        }
    }

    /** The directory of the custom scripts pgextwlist runs around an allowlisted extension's (extwlist.custom_path). */
    public Path extensionScriptsDir() {
        return workDir.resolve("extensions");
    }

    /** pgextwlist's library, as Debian's postgresql-15-pgextwlist installs it beside the server's binaries. */
    private boolean pgextwlistInstalled() {
        return Files.exists(binDir.resolveSibling("lib").resolve("pgextwlist.so"));
    }

    private boolean warnedNoPgextwlist;

    /**
     * Turns the allowlist the agent passes as {@code extwlist.extensions} into pgextwlist's settings and returns its
     * names; empty, with the setting removed, when pgextwlist is not installed (admin then installs trusted
     * extensions only). pgextwlist is loaded from shared_preload_libraries, before the operator's libraries, rather
     * than per session: its settings then exist before a client's startup packet is read, so an admin asking for
     * {@code options=-c extwlist.extensions=...} is refused like a {@code SET} (42501), instead of resetting them.
     */
    private Optional<List<String>> extensionAllowlist(Map<String, String> settings) {
        String allowlist = settings.remove("extwlist.extensions");
        if (!pgextwlistInstalled()) {
            if (!warnedNoPgextwlist) {
                warnedNoPgextwlist = true;
                LOG.warn("postgresql-15-pgextwlist is not installed: admin can install only the extensions postgres"
                        + " marks trusted, none of the cluster's allowed_extensions (install the package on every"
                        + " node, as ./warden does as root)");
            }
            return Optional.empty();
        }
        List<String> libraries = new ArrayList<>(List.of("pgextwlist"));
        for (String library :
                settings.getOrDefault("shared_preload_libraries", "").split(",")) {
            if (!library.isBlank() && !libraries.contains(library.strip())) {
                libraries.add(library.strip());
            }
        }
        settings.put("shared_preload_libraries", String.join(",", libraries));
        settings.put("extwlist.extensions", allowlist == null ? "" : allowlist);
        settings.put("extwlist.custom_path", extensionScriptsDir().toString());
        return Optional.of(allowlist == null ? List.of() : ExtensionAllowlist.parse(allowlist));
    }

    /** The scripts of {@link ExtensionScripts} for {@code allowlist}, and none for an extension no longer on it. */
    private void writeExtensionScripts(List<String> allowlist) throws IOException {
        Path root = extensionScriptsDir();
        Files.createDirectories(root);
        chown(root);
        Map<String, String> files = ExtensionScripts.files(allowlist);
        for (Map.Entry<String, String> file : files.entrySet()) {
            Path target = root.resolve(file.getKey());
            if (!Files.isDirectory(target.getParent())) {
                Files.createDirectories(target.getParent());
                chown(target.getParent());
            }
            replaceIfChanged(target, file.getValue());
        }
        try (var extensions = Files.list(root)) {
            for (Path stale : extensions
                    .filter(d -> !allowlist.contains(d.getFileName().toString()))
                    .toList()) {
                try (var scripts = Files.list(stale)) {
                    for (Path script : scripts.toList()) {
                        Files.delete(script);
                    }
                }
                Files.delete(stale);
            }
        }
    }

    /**
     * Whether the node's certificate changed since postgres was last configured with it (the operator renewed it):
     * the caller's reload then makes postgres serve the new pair to new connections. The agent changes nothing in
     * the TLS directory: its files are the operator's, the keys already the postgres user's.
     */
    private boolean takeRenewedCertificate() throws IOException {
        if (tlsDir.isEmpty()) {
            return false;
        }
        Path certificate = tlsDir.get().resolve("server.crt");
        if (!Files.exists(certificate) || !Files.exists(tlsDir.get().resolve("server.key"))) {
            throw new WardenException(
                    "the node's certificate or key is missing in " + tlsDir.get(),
                    "run ./warden certificates --renew to issue it; postgres keeps serving the pair it has");
        }
        String current = Files.readString(certificate);
        if (current.equals(servedCertificate)) {
            return false;
        }
        servedCertificate = current;
        return true;
    }

    /**
     * pg_hba.conf as the agent manages it (rewritten with warden.conf, so a change of members reaches a running
     * postgres with the same reload): the local socket by peer, replication only from the cluster's members, every
     * other connection by scram-sha-256; no trust, no md5. With TLS ({@code tls}) every network connection must
     * use it: the rules are {@code hostssl}, and one without TLS is rejected by name. {@code memberHosts} are the
     * members' addresses (or names, which postgres resolves).
     */
    static String hba(Set<String> memberHosts, boolean tls) {
        String host = tls ? "hostssl" : "host   ";
        StringBuilder text = new StringBuilder("""
                # Written by the Warden agent; changes here are overwritten. Replication only from the members.
                local     all          all                            peer
                """);
        if (tls) {
            text.append("hostnossl all          all         0.0.0.0/0          reject\n");
            text.append("hostnossl all          all         ::/0               reject\n");
            text.append("hostnossl replication  all         0.0.0.0/0          reject\n");
            text.append("hostnossl replication  all         ::/0               reject\n");
            // The agent's own connection: the superuser by the agent's certificate, from the loopback only.
            text.append("hostssl   all          postgres    127.0.0.1/32       cert\n");
            text.append("hostssl   all          postgres    ::1/128            cert\n");
        }
        for (String member : new java.util.TreeSet<>(memberHosts)) {
            String address = LITERAL_IPV4.matcher(member).matches()
                    ? member + "/32"
                    : member.contains(":") ? member + "/128" : member;
            text.append(host)
                    .append("   replication  replicator  ")
                    .append(String.format("%-18s", address))
                    .append(tls ? " cert\n" : " scram-sha-256\n");
            if (tls) {
                // The agents of the other members, for a checkpoint, the WAL directory and pg_rewind's reads.
                text.append(host)
                        .append("   postgres     warden_peer ")
                        .append(String.format("%-18s", address))
                        .append(" cert\n");
            }
        }
        text.append(host).append("   all          warden_peer 0.0.0.0/0          reject\n");
        text.append(host).append("   all          warden_peer ::/0               reject\n");
        // replicator may replicate and nothing else.
        text.append(host).append("   all          replicator  0.0.0.0/0          reject\n");
        text.append(host).append("   all          replicator  ::/0               reject\n");
        text.append(host).append("   all          all         0.0.0.0/0          scram-sha-256\n");
        text.append(host).append("   all          all         ::/0               scram-sha-256\n");
        return text.toString();
    }

    /**
     * A libpq connection string to {@code upstream} as {@code user}, with the passwords file; with TLS the
     * connection verifies the upstream's certificate against the deployment's CA and its address
     * ({@code verify-full}), so a replica streams only from a node the CA vouches for, and replicator presents
     * its client certificate.
     */
    String conninfo(Upstream upstream, String user, String applicationName) {
        String tls =
                caFile().map(ca -> " sslmode=verify-full sslrootcert=" + ca).orElse("");
        if (!user.equals("postgres") && tlsDir.isPresent()) {
            // Warden's roles log in by their certificates (cert in pg_hba.conf): no password for them anywhere.
            tls += " sslcert=" + tlsDir.get().resolve(user + ".crt") + " sslkey="
                    + tlsDir.get().resolve(user + ".key");
        }
        return "host=" + upstream.host() + " port=" + upstream.port() + " user=" + user + " application_name="
                + applicationName + " connect_timeout=3 passfile=" + passFile() + tls;
    }

    private static final java.util.regex.Pattern LITERAL_IPV4 =
            java.util.regex.Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    /** Replaces {@code target} atomically with {@code text}, owned by the postgres user, unless it holds it already. */
    private boolean replaceIfChanged(Path target, String text) throws IOException {
        if (Files.exists(target) && Files.readString(target).contentEquals(text)) {
            return false;
        }
        AtomicFile.replaceOwnerOnly(target, text, this::chown);
        return true;
    }

    /** The physical replication slot name for a member: postgres allows only [a-z0-9_]. */
    public static String slotName(String member) {
        return member.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
    }

    /**
     * A postmaster killed a moment ago (by the watchdog, or a fence) may still be a zombie; postgres and pg_rewind
     * refuse the data directory while its pid exists. Waits up to 5 s; if it is still there, the command runs anyway
     * and fails with postgres's own message, and the next cycle tries again.
     */
    private void awaitOldPostmasterReaped() {
        try {
            Fence.awaitReaped(dataDir, Duration.ofSeconds(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Starts postgres and waits until it accepts connections (a primary). */
    public Result start(Duration timeout) {
        awaitOldPostmasterReaped();
        return run(
                timeout.plusSeconds(5),
                "pg_ctl",
                "start",
                "-w",
                "-t",
                Long.toString(Math.max(1, timeout.toSeconds())),
                "-D",
                dataDir.toString(),
                "-l",
                logFile().toString());
    }

    /**
     * Starts postgres without waiting for it to accept connections. A replica may need WAL from its upstream
     * (through a slot the leader creates only once it sees this member) before it is consistent, so waiting here
     * would hold up the very cycle that publishes the member.
     *
     * <p>Interrupted while it waits for the pid file, it returns pg_ctl's result at once with the interrupt flag
     * set: postgres was started either way, and the caller's loop ends on the flag.
     */
    public Result startNoWait() {
        awaitOldPostmasterReaped();
        Result result = run(
                Duration.ofSeconds(30),
                "pg_ctl",
                "start",
                "-W",
                "-D",
                dataDir.toString(),
                "-l",
                logFile().toString());
        if (!result.ok()) {
            return result;
        }
        // Return once the postmaster has written its pid file, so the next cycle sees it running rather than
        // stopped (and does not start it a second time).
        try {
            Poll.every(Duration.ofMillis(20))
                    .until(Duration.ofSeconds(10), () -> postmasterPid().isPresent());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return result;
    }

    public Result stop(String mode, Duration timeout) {
        return run(
                timeout.plusSeconds(5),
                "pg_ctl",
                "stop",
                "-w",
                "-m",
                mode,
                "-t",
                Long.toString(Math.max(1, timeout.toSeconds())),
                "-D",
                dataDir.toString());
    }

    public Result promote(Duration timeout) {
        return run(
                timeout.plusSeconds(5),
                "pg_ctl",
                "promote",
                "-w",
                "-t",
                Long.toString(Math.max(1, timeout.toSeconds())),
                "-D",
                dataDir.toString());
    }

    public Result reload() {
        return run(Duration.ofSeconds(10), "pg_ctl", "reload", "-D", dataDir.toString());
    }

    /** Clones the upstream into an empty data directory. */
    public Result baseBackup(Upstream upstream, String name, Duration timeout) {
        try {
            Files.createDirectories(dataDir.getParent());
            if (Files.exists(dataDir)) {
                removeData();
            }
            // Made here, empty and the postgres user's: pg_basebackup fills an empty directory, and cannot create
            // one in the work directory, which is the agent's.
            Files.createDirectories(dataDir);
            Files.setPosixFilePermissions(dataDir, PosixFilePermissions.fromString("rwx------"));
            chown(dataDir);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot make room for a copy at " + dataDir + ": " + e.getMessage(),
                    "check free space and permissions of its parent directory",
                    e);
        }
        return run(timeout, baseBackupCommand(upstream, name));
    }

    /** The pg_basebackup command that clones {@code upstream} into this data directory for member {@code name}. */
    List<String> baseBackupCommand(Upstream upstream, String name) {
        // Not the member's own name: synchronous_standby_names lists members, and a copy in progress must never
        // count as one of them (its walsender would satisfy 'FIRST 1 ("node-2")' before node-2 exists).
        return command(
                "pg_basebackup",
                "-D",
                dataDir.toString(),
                "-X",
                "stream",
                "-c",
                "fast",
                "-d",
                conninfo(upstream, "replicator", "warden_clone_" + slotName(name)));
    }

    /** Rewinds this (stopped) data directory onto the new primary's timeline. */
    public Result rewind(Upstream upstream, Duration timeout) {
        // With TLS as warden_peer, which has pg_rewind's documented grants and no more; the superuser only without.
        String source = conninfo(upstream, tlsDir.isPresent() ? "warden_peer" : "postgres", "warden_rewind")
                + " dbname=postgres";
        awaitOldPostmasterReaped();
        return run(timeout, "pg_rewind", "-D", dataDir.toString(), "--source-server=" + source);
    }

    /** Deletes the data directory; only called before a re-clone of a node that is not the leader. */
    public void removeData() {
        if (!Files.exists(dataDir)) {
            return;
        }
        Result result =
                Processes.run(List.of("rm", "-rf", "--one-file-system", dataDir.toString()), Duration.ofMinutes(2));
        check(result, "removing " + dataDir, "remove it by hand and restart the agent");
    }

    /**
     * "Latest checkpoint location" and its "REDO location" from one run of pg_controldata: where the last checkpoint
     * or restartpoint is (of a stopped cluster, its shutdown checkpoint) and where recovery starts over after a
     * restart (after a rewind, the redo point of the checkpoint recovery began from). Readable while postgres runs,
     * even before it accepts queries.
     */
    public Postgres.Checkpoint latestCheckpoint() {
        String control = controlData();
        return new Postgres.Checkpoint(
                io.warden.cluster.Lsn.parse(controlField(control, "Latest checkpoint location", "0/0")),
                io.warden.cluster.Lsn.parse(controlField(control, "Latest checkpoint's REDO location", "0/0")));
    }

    /** The database system identifier from pg_controldata. */
    public String systemIdentifier() {
        return controlField(controlData(), "Database system identifier", "unknown");
    }

    /** See {@link Postgres#dataProblem}. */
    public Optional<String> dataProblem() {
        Result control = run(Duration.ofSeconds(20), "pg_controldata", "-D", dataDir.toString());
        if (!control.ok()) {
            return Optional.of("its control file cannot be read: "
                    + control.tail().strip().lines().reduce((a, b) -> b).orElse("pg_controldata failed"));
        }
        if (control.output().contains("Calculated CRC checksum does not match")) {
            // pg_controldata still prints the fields (and exits 0); postgres refuses to start on them.
            return Optional.of("its control file global/pg_control is corrupt: its checksum does not match");
        }
        // As root, permissions do not stop the probe; what it finds is a file system that takes no writes (remounted
        // read-only after I/O errors, out of inodes). A probe left by an agent that died here goes at the next one.
        Path probe = dataDir.resolve("warden_write_check");
        try {
            Files.deleteIfExists(probe);
            Files.writeString(probe, "");
            Files.delete(probe);
        } catch (IOException e) {
            return Optional.of("its data directory cannot be written: " + e.getMessage());
        }
        return Optional.empty();
    }

    private String controlData() {
        Result result = run(Duration.ofSeconds(20), "pg_controldata", "-D", dataDir.toString());
        check(result, "pg_controldata", "check " + dataDir);
        return result.output();
    }

    private static String controlField(String control, String label, String absent) {
        return control.lines()
                .filter(l -> l.startsWith(label + ":"))
                .map(l -> l.substring(l.indexOf(':') + 1).strip())
                .findFirst()
                .orElse(absent);
    }

    private static void check(Result result, String what, String nextStep) {
        if (!result.ok()) {
            throw new WardenException(what + " failed (exit " + result.exitCode() + "):\n" + result.tail(), nextStep);
        }
    }

    /** This node's own postgres, as its configuration names it: its name (the application_name it streams under), the address it listens on, and whether it runs as a standby. */
    public record LocalServer(String name, String host, int port, boolean standby) {}

    /** The primary a replica streams from. */
    public record Upstream(String host, int port) {
        @Override
        public String toString() {
            return host + ":" + port;
        }
    }
}
