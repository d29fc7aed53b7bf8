package io.warden.agent;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.warden.cluster.NodeTags;
import io.warden.common.Json;
import io.warden.common.Units;
import io.warden.common.WardenException;
import io.warden.dcs.EtcdTls;
import io.warden.postgres.PostgresCtl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * An agent's configuration file (YAML), validated as it is read: a wrong or unknown key stops the agent before
 * it touches anything, with the file, the key and the fix in the message. See docs/configuration.md.
 */
public record AgentConfig(
        String name,
        String cluster,
        String host,
        Integer port,
        String apiHost,
        Integer apiPort,
        List<String> etcd,
        String etcdCaFile,
        String etcdCertFile,
        String etcdKeyFile,
        String dataDir,
        String workDir,
        String binDir,
        String superuserPassword,
        String replicationPassword,
        String ttl,
        String loopWait,
        String primaryStartTimeout,
        String watchdog,
        String postgresUser,
        NodeTags tags,
        Map<String, String> parameters,
        String apiTokenFile,
        String adminPasswordVerifier,
        String tlsDir,
        String postgresCgroup,
        String logDir) {

    public static final Duration DEFAULT_TTL = Duration.ofSeconds(3);

    /** Reads and validates; every problem is a {@link WardenException} naming the file. */
    public static AgentConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot read config file " + file + ": " + e.getMessage(), "check the path given with --config");
        }
        AgentConfig raw;
        try (JsonParser parser = Json.yaml().createParser(text)) {
            // A file with no document at all (empty, or only comments) is empty, not malformed: readValue(String)
            // would fail on it with "No content to map", so look at the first token first.
            raw = parser.nextToken() == null ? null : Json.yaml().readValue(parser, AgentConfig.class);
        } catch (UnrecognizedPropertyException e) {
            String known = e.getKnownPropertyIds().stream()
                    .map(Object::toString)
                    .sorted()
                    .collect(Collectors.joining(", "));
            throw new WardenException(
                    "unknown key '" + e.getPropertyName() + "' in " + file + " at line "
                            + lineOf(text, e.getPropertyName(), e.getLocation().getLineNr()),
                    "remove it or correct its spelling; known keys: " + known);
        } catch (JsonProcessingException e) {
            throw new WardenException(
                    "malformed config file " + file + " at line "
                            + e.getLocation().getLineNr() + ": " + e.getOriginalMessage(),
                    "fix the YAML syntax at that line");
        } catch (IOException e) {
            throw new WardenException("cannot parse config file " + file + ": " + e.getMessage(), "check the file");
        }
        if (raw == null) {
            throw new WardenException(
                    "config file " + file + " is empty", "give at least name, port, etcd and data_dir");
        }
        return raw.validated(file);
    }

    private AgentConfig validated(Path file) {
        require(name, "name", file);
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")) {
            throw new WardenException(
                    "invalid name '" + name + "' in " + file,
                    "use letters, digits, '.', '_' or '-', at most 63 characters");
        }
        require(port, "port", file);
        require(apiPort, "api_port", file);
        if (postgresCgroup != null) {
            try {
                io.warden.common.CgroupSet.parse(postgresCgroup);
            } catch (WardenException e) {
                throw new WardenException("postgres_cgroup in " + file + ": " + e.getMessage(), e.nextStep());
            }
        }
        require(dataDir, "data_dir", file);
        if (etcd == null || etcd.isEmpty()) {
            throw new WardenException(
                    "missing key 'etcd' in " + file, "list the etcd endpoints, e.g. [https://127.0.0.1:2379]");
        }
        try {
            EtcdTls.configured(etcd, etcdCaFile, etcdCertFile, etcdKeyFile);
        } catch (EtcdTls.Invalid e) {
            throw new WardenException(e.getMessage() + " (in " + file + ")", e.fix());
        }
        for (Integer p : new Integer[] {port, apiPort}) {
            if (p < 1 || p > 65535) {
                throw new WardenException(
                        "port " + p + " in " + file + " is out of range", "use a port between 1 and 65535");
            }
        }
        Duration ttlValue = duration(ttl, "ttl", file, DEFAULT_TTL);
        Duration loopValue = duration(loopWait, "loop_wait", file, Duration.ofSeconds(1));
        duration(primaryStartTimeout, "primary_start_timeout", file, Duration.ofSeconds(30));
        if (ttlValue.toMillis() % 1000 != 0 || ttlValue.toSeconds() < 2) {
            throw new WardenException(
                    "ttl " + ttl + " in " + file + " must be a whole number of seconds, at least 2s",
                    "etcd leases have a resolution of one second and a minimum of about two");
        }
        if (loopValue.multipliedBy(2).compareTo(ttlValue) > 0) {
            throw new WardenException(
                    "loop_wait " + loopWait + " is more than half of ttl " + ttlValue.toSeconds() + "s in " + file,
                    "a leader must be able to renew at least twice per ttl; lower loop_wait or raise ttl");
        }
        if (adminPasswordVerifier != null && !adminPasswordVerifier.startsWith("SCRAM-SHA-256$")) {
            throw new WardenException(
                    "admin_password_verifier in " + file + " is not a SCRAM-SHA-256 verifier",
                    "let ./warden up write it, or copy rolpassword of a role whose password is stored as"
                            + " scram-sha-256 (never the plain password)");
        }
        if (tlsDir != null) {
            // Postgres's, and the pair the agent's REST API serves with.
            for (String needed : Stream.concat(PostgresCtl.TLS_FILES.stream(), Stream.of("api.crt", "api.key"))
                    .toList()) {
                if (!Files.isRegularFile(Path.of(tlsDir, needed))) {
                    throw new WardenException(
                            "tls_dir " + tlsDir + " in " + file + " has no " + needed,
                            "let ./warden up issue the node's certificates there, or remove tls_dir to run"
                                    + " postgres without TLS");
                }
            }
        }
        String watchdogMode = watchdog == null ? "required" : watchdog;
        if (!watchdogMode.equals("required") && !watchdogMode.equals("off")) {
            throw new WardenException(
                    "watchdog '" + watchdog + "' in " + file + " is not a mode", "use 'required' or 'off'");
        }
        return new AgentConfig(
                name,
                cluster == null ? "main" : cluster,
                host == null ? "127.0.0.1" : host,
                port,
                apiHost == null ? (host == null ? "127.0.0.1" : host) : apiHost,
                apiPort,
                List.copyOf(etcd),
                etcdCaFile,
                etcdCertFile,
                etcdKeyFile,
                dataDir,
                workDir == null ? Path.of(dataDir).toAbsolutePath().getParent().toString() : workDir,
                binDir == null ? "/usr/lib/postgresql/15/bin" : binDir,
                superuserPassword == null ? "postgres" : superuserPassword,
                replicationPassword == null ? "replicator" : replicationPassword,
                ttl == null ? DEFAULT_TTL.toSeconds() + "s" : ttl,
                loopWait == null ? "1s" : loopWait,
                primaryStartTimeout == null ? "30s" : primaryStartTimeout,
                watchdogMode,
                postgresUser,
                tags == null ? NodeTags.NONE : tags,
                parameters == null ? Map.of() : Map.copyOf(parameters),
                apiTokenFile,
                adminPasswordVerifier,
                tlsDir,
                postgresCgroup,
                logDir == null
                        ? (workDir == null
                                ? Path.of(dataDir).toAbsolutePath().getParent().toString()
                                : workDir)
                        : logDir);
    }

    /**
     * The line where {@code key} is written. Jackson reports an unknown key where it finished buffering the
     * enclosing mapping, which can be lines later; the key's own line is what a person needs.
     */
    private static int lineOf(String text, String key, int fallback) {
        String[] lines = text.split("\n", -1);
        java.util.regex.Pattern pattern = java.util.regex.Pattern.compile(
                "^\\s*(-\\s+)?[\"']?" + java.util.regex.Pattern.quote(key) + "[\"']?\\s*:.*");
        for (int i = 0; i < lines.length; i++) {
            if (pattern.matcher(lines[i]).matches()) {
                return i + 1;
            }
        }
        return fallback;
    }

    private static void require(Object value, String key, Path file) {
        if (value == null) {
            throw new WardenException("missing key '" + key + "' in " + file, "add it; see docs/configuration.md");
        }
    }

    private static Duration duration(String value, String key, Path file, Duration fallback) {
        if (value == null) {
            return fallback;
        }
        try {
            return Units.duration(value);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new WardenException(
                    "bad value for '" + key + "' in " + file + ": " + e.getMessage(), "use e.g. 3s or 500ms");
        }
    }

    public Duration ttlDuration() {
        return Units.duration(ttl);
    }

    public Duration loopWaitDuration() {
        return Units.duration(loopWait);
    }

    public Duration primaryStartTimeoutDuration() {
        return Units.duration(primaryStartTimeout);
    }

    public boolean watchdogRequired() {
        return "required".equals(watchdog);
    }

    public Path dataPath() {
        return Path.of(dataDir);
    }

    public Path workPath() {
        return Path.of(workDir);
    }

    /** Where postgres's log goes, and the agent's and the watchdog's beside it: the node's volume when it has one. */
    public Path logPath() {
        return Path.of(logDir);
    }

    public Path watchdogSocket() {
        return workPath().resolve("watchdog.sock");
    }

    /**
     * The file holding the operator's token, which every request to this agent's API that is not a read must
     * carry; empty when not configured, and then the API accepts no such request from anybody.
     */
    public java.util.Optional<Path> apiTokenPath() {
        return java.util.Optional.ofNullable(apiTokenFile).map(Path::of);
    }

    /**
     * The SCRAM verifier of the {@code admin} role's password, with which a bootstrap creates the role and its
     * database; empty when not configured (then the cluster gets no admin role).
     */
    public java.util.Optional<String> adminVerifier() {
        return java.util.Optional.ofNullable(adminPasswordVerifier);
    }

    /**
     * The node's TLS directory: the deployment CA's certificate, the node's own key and certificate (issued by
     * ./warden up, which holds the CA key). Empty when not configured: postgres then runs without TLS.
     */
    public java.util.Optional<Path> tlsPath() {
        return java.util.Optional.ofNullable(tlsDir).map(Path::of);
    }

    /**
     * The agent's etcd client certificate, with the CA etcd's members are verified against: present for https://
     * endpoints (checked by {@link #load}), empty for http:// ones.
     */
    public java.util.Optional<EtcdTls> etcdTls() {
        return EtcdTls.configured(etcd, etcdCaFile, etcdCertFile, etcdKeyFile);
    }

    /**
     * The cgroup postgres and every postgres program runs in (written by ./warden up on a runtime with cgroups): the
     * node's CPU and memory limits, and what the fencing kill ends whole. Empty: postgres runs beside the agent.
     */
    public java.util.Optional<io.warden.common.CgroupSet> postgresCgroupSet() {
        return io.warden.common.CgroupSet.parseOptional(postgresCgroup);
    }

    /** Where the agent serves its API: over HTTPS with the node's certificate when the node has TLS. */
    public String apiUrl() {
        return (tlsDir == null ? "http://" : "https://") + apiHost + ":" + apiPort;
    }
}
