package io.warden.router;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.warden.common.Json;
import io.warden.common.Sizes;
import io.warden.common.WardenException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

/** A router's configuration file (YAML), validated as it is read. See docs/router.md. */
public record RouterConfig(
        String id,
        String cluster,
        String host,
        Integer readWritePort,
        Integer readOnlyPort,
        Integer apiPort,
        List<String> etcd,
        String ttl,
        String maxReplicaLag,
        Boolean fallbackToPrimary,
        Integer maxConnections,
        String startupTimeout,
        String connectTimeout,
        String waitForNode,
        String transport) {

    public static RouterConfig load(Path file) {
        RouterConfig raw;
        try {
            raw = Json.yaml().readValue(Files.readString(file), RouterConfig.class);
        } catch (UnrecognizedPropertyException e) {
            String known = e.getKnownPropertyIds().stream().map(Object::toString).sorted().collect(Collectors.joining(", "));
            throw new WardenException("unknown key '" + e.getPropertyName() + "' in " + file, "known keys: " + known);
        } catch (JsonProcessingException e) {
            throw new WardenException("malformed router config " + file + ": " + e.getOriginalMessage(), "fix the YAML syntax");
        } catch (IOException e) {
            throw new WardenException("cannot read " + file + ": " + e.getMessage(), "check the path given with --config");
        }
        if (raw == null || raw.id() == null || raw.readWritePort() == null || raw.readOnlyPort() == null || raw.apiPort() == null
                || raw.etcd() == null || raw.etcd().isEmpty()) {
            throw new WardenException(
                    "router config " + file + " lacks one of id, read_write_port, read_only_port, api_port, etcd",
                    "add them; see docs/router.md");
        }
        Duration ttl;
        try {
            ttl = raw.ttlDuration();
            raw.startupTimeoutDuration();
            raw.connectTimeoutDuration();
            raw.waitForNodeDuration();
            raw.maxReplicaLagBytes();
            Transport.parse(raw.transport());
        } catch (IllegalArgumentException e) {
            throw new WardenException("bad value in " + file + ": " + e.getMessage(), "use e.g. 3s, 500ms, 16MB; transport is auto, io_uring or epoll");
        }
        if (ttl.toMillis() % 1000 != 0 || ttl.toSeconds() < 2) {
            throw new WardenException(
                    "ttl " + raw.ttl() + " in " + file + " must be a whole number of seconds, at least 2s",
                    "etcd leases have a resolution of one second and a minimum of about two");
        }
        return raw;
    }

    public String cluster() {
        return cluster == null ? "main" : cluster;
    }

    public String host() {
        return host == null ? "127.0.0.1" : host;
    }

    public Duration ttlDuration() {
        return Sizes.parseDuration(ttl == null ? "3s" : ttl);
    }

    public long maxReplicaLagBytes() {
        return Sizes.parseBytes(maxReplicaLag == null ? "16MB" : maxReplicaLag);
    }

    public boolean fallback() {
        return fallbackToPrimary == null || fallbackToPrimary;
    }

    public int connectionLimit() {
        return maxConnections == null ? 2000 : maxConnections;
    }

    public Duration startupTimeoutDuration() {
        return Sizes.parseDuration(startupTimeout == null ? "10s" : startupTimeout);
    }

    /**
     * How long a new session waits for a node to route to (a primary, for the read-write port) before it is refused:
     * during a switchover or failover there is none for a moment, and a client that waits is better served than one
     * refused. 0 refuses at once.
     */
    public Duration waitForNodeDuration() {
        return Sizes.parseDuration(waitForNode == null ? "10s" : waitForNode);
    }

    public Duration connectTimeoutDuration() {
        return Sizes.parseDuration(connectTimeout == null ? "2s" : connectTimeout);
    }
}
