package io.warden.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.common.Json;
import io.warden.common.PemTls;
import io.warden.common.Poll;
import io.warden.common.WardenException;
import io.warden.dcs.EtcdDcs;
import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState;
import io.warden.security.ApiToken;
import io.warden.security.NodeCertificates;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLContext;

/**
 * How operator commands reach a cluster: the DCS says who the members are, and requests go to their agents' REST
 * API, so the CLI and a script calling the API get the same checks and the same answers.
 */
final class ClusterClient implements AutoCloseable {
    private final EtcdDcs dcs;
    /** The nodes this CLI started: the only addresses it sends the operator's token to. */
    private final DeploymentState state;
    /** The operator's token, read when a request that changes something is first sent (reads need none). */
    private final Path tokenFile;

    private Optional<ApiToken> token;

    private final HttpClient http;
    /** https when the deployment has a CA (its agents then serve their API over TLS with their node certificate). */
    private final String scheme;

    /** An agent's answer: its HTTP status and JSON body. */
    record Answer(int status, JsonNode body, String etag) {
        boolean ok() {
            return status / 100 == 2;
        }

        String message() {
            return body.has("message") ? body.get("message").asText() : body.toString();
        }
    }

    ClusterClient(DirOption dir) {
        DeploymentState state = DeploymentState.read(dir.resolve());
        this.state = state;
        this.tokenFile = DeploymentFile.API_TOKEN.in(dir.resolve());
        Path ca = DeploymentFile.CA_CERTIFICATE.in(dir.resolve());
        // 5 s: the connect includes the TLS handshake, which a cold CLI on a busy machine can take seconds over.
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
        if (Files.exists(ca)) {
            // Only the deployment's CA: the token goes to a node whose certificate names the address it was sent to.
            builder.sslContext(tls(ca, Deployments.operatorTlsDir(dir.resolve())));
        }
        this.http = builder.build();
        this.scheme = Files.exists(ca) ? "https" : "http";
        // Generous: a cold CLI's first etcd request on a busy machine can take seconds; agents use far shorter ones.
        this.dcs = Deployments.dcs(state, Duration.ofSeconds(10));
    }

    /**
     * Trust in the deployment's CA, presenting the operator's certificate when this user can read it and it is
     * valid: an expired one would fail every handshake, reads included, so the token alone is sent then.
     */
    private static SSLContext tls(Path ca, Path operatorDir) {
        Path certificate = operatorDir.resolve(NodeCertificates.OPERATOR_CERTIFICATE);
        Path key = operatorDir.resolve(NodeCertificates.OPERATOR_KEY);
        if (!Files.isReadable(certificate) || !Files.isReadable(key)) {
            return PemTls.trusting(ca);
        }
        Instant notAfter = PemTls.certificate(certificate).getNotAfter().toInstant();
        if (!Instant.now().isBefore(notAfter)) {
            System.err.println("note: the operator's certificate " + certificate + " expired at " + notAfter
                    + "; sending the token alone (./warden certificates --renew issues a new one)");
            return PemTls.trusting(ca);
        }
        return PemTls.client(ca, certificate, key);
    }

    ClusterSnapshot read() {
        return dcs.read();
    }

    Member member(String name) {
        ClusterSnapshot cluster = read();
        Member m = cluster.members().get(name);
        if (m == null) {
            throw new WardenException(
                    "unknown node '" + name + "'",
                    "members: " + new java.util.TreeSet<>(cluster.members().keySet()));
        }
        return m;
    }

    /** The leader's agent first, then the others: any agent can serve cluster-wide requests. */
    List<Member> agents() {
        ClusterSnapshot cluster = read();
        List<Member> members = new ArrayList<>(cluster.members().values());
        members.sort(
                Comparator.comparing((Member m) -> !cluster.isLeader(m.name())).thenComparing(Member::name));
        if (members.isEmpty()) {
            throw new WardenException(
                    "no agent of the cluster is publishing itself in the DCS",
                    "see ./warden list; start the deployment with ./warden up");
        }
        return members;
    }

    /** Sends a cluster-wide request to the first agent that answers. */
    Answer cluster(String method, String path, Object body, Duration timeout) {
        IOException last = null;
        for (Member m : agents()) {
            try {
                return send(m, method, path, body, timeout, null);
            } catch (IOException e) {
                last = e;
            }
        }
        throw new WardenException(
                "no agent answered " + method + " " + path + ": " + last.getMessage(),
                "see ./warden list and the agents' logs");
    }

    Answer node(Member m, String method, String path, Object body, Duration timeout) {
        try {
            return send(m, method, path, body, timeout, null);
        } catch (IOException e) {
            throw new WardenException(
                    "the agent of " + m.name() + " at " + apiBase(m) + " did not answer: " + e.getMessage(),
                    "see ./warden list and " + m.name() + "'s agent log");
        }
    }

    /**
     * Where {@code m}'s agent serves its API, from this deployment's own record of the nodes it started, not from the
     * member's api_url in the DCS: whoever can write a member key must not be able to receive the operator's token.
     */
    private String apiBase(Member m) {
        return state.nodes().stream()
                .filter(n -> n.name().equals(m.name()))
                .findFirst()
                .map(n -> scheme + "://" + n.host() + ":" + n.apiPort())
                .orElseThrow(() -> new WardenException(
                        "node " + m.name() + " is in the DCS but not in " + DeploymentState.file(tokenFile.getParent())
                                + ": this CLI talks only to the nodes of its own deployment",
                        "check --dir, or whether someone else registered a member under this cluster's name"));
    }

    private Optional<ApiToken> token() {
        if (token == null) {
            token = Files.exists(tokenFile) ? Optional.of(ApiToken.read(tokenFile)) : Optional.empty();
        }
        return token;
    }

    Answer send(Member m, String method, String path, Object body, Duration timeout, String ifMatch)
            throws IOException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(apiBase(m) + path))
                .timeout(timeout)
                .method(
                        method,
                        body == null
                                ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(Json.write(body)))
                .header("Content-Type", "application/json");
        if (ifMatch != null) {
            request.header("If-Match", ifMatch);
        }
        if (!method.equals("GET")) {
            token().ifPresent(t -> request.header("Authorization", t.authorization()));
        }
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            JsonNode json = response.body().isBlank()
                    ? Json.json().createObjectNode()
                    : Json.json().readTree(response.body());
            return new Answer(
                    response.statusCode(),
                    json,
                    response.headers().firstValue("ETag").orElse(null));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /**
     * Waits until {@code condition} holds on a fresh snapshot, or fails with {@code what} after {@code timeout}. An
     * interrupt fails at once, naming {@code what}, with the flag set again.
     */
    ClusterSnapshot await(java.util.function.Predicate<ClusterSnapshot> condition, Duration timeout, String what) {
        Optional<ClusterSnapshot> cluster;
        try {
            cluster = Poll.every(Duration.ofMillis(200))
                    .untilAnswered(timeout, () -> Optional.of(read()).filter(condition));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new WardenException(
                    "interrupted while waiting for " + what + " (timeout " + timeout.toSeconds() + " s)",
                    "see ./warden list and the agents' logs",
                    e);
        }
        return cluster.orElseThrow(() -> new WardenException(
                "timed out after " + timeout.toSeconds() + " s waiting for " + what,
                "see ./warden list and the agents' logs"));
    }

    @Override
    public void close() {
        dcs.close();
    }
}
