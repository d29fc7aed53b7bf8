package io.warden.router;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.warden.common.Json;
import io.warden.common.Units;
import io.warden.common.WardenException;
import io.warden.dcs.EtcdTls;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A router's configuration, typed: parsed once from its file (YAML, see docs/router.md) by {@link #load}, which says
 * what is wrong and what to write instead; the router then reads durations and sizes as values, never as text.
 *
 * @param etcdTls the router's etcd client certificate and the CA of etcd's members: present for https:// endpoints
 *     (etcd_ca_file, etcd_cert_file, etcd_key_file), empty for http:// ones
 * @param ttl the router's etcd lease: whole seconds, at least 2 (etcd's resolution and minimum)
 * @param maxReplicaLagBytes a replica further behind than this gets no read session
 * @param fallbackToPrimary reads go to the primary when no replica qualifies
 * @param maxConnections client connections beyond this are refused with SQLSTATE 53300
 * @param startupTimeout how long a client may take to send its startup packet
 * @param connectTimeout how long the router waits for a node to accept its TCP connection
 * @param waitForNode how long a new session waits for a node to route to (a primary, on the read-write port)
 *     before it is refused: during a switchover or failover there is none for a moment, and a client that waits is
 *     better served than one refused; zero refuses at once
 * @param transport auto, io_uring or epoll
 */
public record RouterConfig(
        String id,
        String cluster,
        String host,
        int readWritePort,
        int readOnlyPort,
        int apiPort,
        List<String> etcd,
        Optional<EtcdTls> etcdTls,
        Duration ttl,
        long maxReplicaLagBytes,
        boolean fallbackToPrimary,
        int maxConnections,
        Duration startupTimeout,
        Duration connectTimeout,
        Duration waitForNode,
        String transport,
        List<ClientRange> allowedClients) {

    public RouterConfig {
        etcd = List.copyOf(etcd);
        java.util.Objects.requireNonNull(etcdTls, "etcdTls is null");
        allowedClients = List.copyOf(allowedClients);
        if (ttl.toMillis() % 1000 != 0 || ttl.toSeconds() < 2) {
            throw new IllegalArgumentException(
                    "ttl " + Units.format(ttl) + " must be a whole number of seconds, at least 2s:"
                            + " etcd leases have a resolution of one second and a minimum of about two");
        }
        Transport.parse(transport);
    }

    /** The file as written: every value text or absent, as an operator wrote it. Unknown keys are refused. */
    private record File(
            String id,
            String cluster,
            String host,
            Integer readWritePort,
            Integer readOnlyPort,
            Integer apiPort,
            List<String> etcd,
            String etcdCaFile,
            String etcdCertFile,
            String etcdKeyFile,
            String ttl,
            String maxReplicaLag,
            Boolean fallbackToPrimary,
            Integer maxConnections,
            String startupTimeout,
            String connectTimeout,
            String waitForNode,
            String transport,
            List<String> allowedClients) {}

    public static RouterConfig load(Path file) {
        File raw;
        try {
            raw = Json.yaml().readValue(Files.readString(file), File.class);
        } catch (UnrecognizedPropertyException e) {
            String known = e.getKnownPropertyIds().stream()
                    .map(Object::toString)
                    .sorted()
                    .collect(Collectors.joining(", "));
            throw new WardenException("unknown key '" + e.getPropertyName() + "' in " + file, "known keys: " + known);
        } catch (JsonProcessingException e) {
            throw new WardenException(
                    "malformed router config " + file + ": " + e.getOriginalMessage(), "fix the YAML syntax");
        } catch (IOException e) {
            throw new WardenException(
                    "cannot read " + file + ": " + e.getMessage(), "check the path given with --config");
        }
        if (raw == null
                || raw.id() == null
                || raw.readWritePort() == null
                || raw.readOnlyPort() == null
                || raw.apiPort() == null
                || raw.etcd() == null
                || raw.etcd().isEmpty()) {
            throw new WardenException(
                    "router config " + file + " lacks one of id, read_write_port, read_only_port, api_port, etcd",
                    "add them; see docs/router.md");
        }
        Optional<EtcdTls> etcdTls;
        try {
            etcdTls = EtcdTls.configured(raw.etcd(), raw.etcdCaFile(), raw.etcdCertFile(), raw.etcdKeyFile());
        } catch (EtcdTls.Invalid e) {
            throw new WardenException(e.getMessage() + " (in " + file + ")", e.fix());
        }
        try {
            return new RouterConfig(
                    raw.id(),
                    orElse(raw.cluster(), "main"),
                    orElse(raw.host(), "127.0.0.1"),
                    raw.readWritePort(),
                    raw.readOnlyPort(),
                    raw.apiPort(),
                    raw.etcd(),
                    etcdTls,
                    Units.duration(orElse(raw.ttl(), "3s")),
                    Units.bytes(orElse(raw.maxReplicaLag(), "16MB")),
                    raw.fallbackToPrimary() == null || raw.fallbackToPrimary(),
                    raw.maxConnections() == null ? 2000 : raw.maxConnections(),
                    Units.duration(orElse(raw.startupTimeout(), "10s")),
                    Units.duration(orElse(raw.connectTimeout(), "2s")),
                    Units.duration(orElse(raw.waitForNode(), "10s")),
                    orElse(raw.transport(), "auto"),
                    raw.allowedClients() == null
                            ? ClientRange.EVERYONE
                            : raw.allowedClients().stream()
                                    .map(ClientRange::parse)
                                    .toList());
        } catch (IllegalArgumentException e) {
            throw new WardenException(
                    "bad value in " + file + ": " + e.getMessage(),
                    "use e.g. 3s, 500ms, 16MB; the ttl in whole seconds; transport is auto, io_uring or epoll;"
                            + " allowed_clients lists address ranges such as 10.0.0.0/8");
        }
    }

    private static String orElse(String value, String otherwise) {
        return value == null ? otherwise : value;
    }
}
