package io.warden.http;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * One HTTP request as a {@link HttpEndpoint.Handler} sees it, immutable: the path decoded, the query string decoded
 * into {@code parameters}, the first value of each header (names compared ignoring case, as HTTP wants), the
 * body read whole (at most {@link HttpEndpoint#MAX_BODY} bytes, empty when there is none), and the common name of
 * the client's certificate when it sent one over TLS, which the handshake has verified against the deployment's CA.
 */
public record Request(
        String method,
        String path,
        Map<String, String> parameters,
        Map<String, String> headers,
        String body,
        Optional<String> clientCertificateName) {
    /** The methods that only read; health checkers send all three (HAProxy's {@code option httpchk} sends OPTIONS). */
    private static final Set<String> READS = Set.of("GET", "HEAD", "OPTIONS");

    public Request {
        Objects.requireNonNull(method, "method is null");
        Objects.requireNonNull(path, "path is null");
        parameters = Map.copyOf(parameters);
        headers = caseInsensitive(headers);
        Objects.requireNonNull(body, "body is null");
        Objects.requireNonNull(clientCertificateName, "clientCertificateName is null");
    }

    /** A request that came without a client certificate (over plain HTTP, or over TLS without one). */
    public Request(
            String method, String path, Map<String, String> parameters, Map<String, String> headers, String body) {
        this(method, path, parameters, headers, body, Optional.empty());
    }

    private static Map<String, String> caseInsensitive(Map<String, String> headers) {
        Map<String, String> copy = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        copy.putAll(headers);
        return Collections.unmodifiableMap(copy);
    }

    /** True for GET, HEAD and OPTIONS: the request asks to read, never to change anything. */
    public boolean isRead() {
        return READS.contains(method);
    }

    /** The query parameter {@code name}, decoded. */
    public Optional<String> parameter(String name) {
        return Optional.ofNullable(parameters.get(name));
    }

    /** Without the Authorization header's value: a request that reaches a log must not carry the operator's token. */
    @Override
    public String toString() {
        Map<String, String> shown = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        shown.putAll(headers);
        shown.computeIfPresent("Authorization", (name, value) -> "(redacted)");
        return "Request[" + method + " " + path + ", parameters=" + parameters + ", headers=" + shown + ", body="
                + body.length() + " chars"
                + clientCertificateName.map(name -> ", certificate=" + name).orElse("") + "]";
    }

    /** The first value of header {@code name}, whatever the case of either. */
    public Optional<String> header(String name) {
        return Optional.ofNullable(headers.get(name));
    }
}
