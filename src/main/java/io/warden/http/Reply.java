package io.warden.http;

import io.warden.common.Json;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link HttpEndpoint.Handler} answers, immutable. Build it with the factories: {@link #json} and
 * {@link #text} for content, {@link #message} for every error (and every reply that is only a sentence), so that
 * every error of every API has the one shape {@code {"message": "..."}}.
 */
public record Reply(int status, String contentType, String body, Map<String, String> headers) {
    static final String JSON = "application/json";

    /** The Prometheus text exposition format. */
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4";

    public Reply {
        Objects.requireNonNull(contentType, "contentType is null");
        Objects.requireNonNull(body, "body is null");
        headers = Map.copyOf(headers);
    }

    /** {@code value} written by the project's one JSON mapper ({@link Json}). */
    public static Reply json(int status, Object value) {
        return new Reply(status, JSON, Json.write(value), Map.of());
    }

    /** Metrics in the Prometheus text format. */
    public static Reply text(int status, String text) {
        return new Reply(status, PROMETHEUS_TEXT, text, Map.of());
    }

    /** {@code {"message": message}}: the body of every error. */
    public static Reply message(int status, String message) {
        return json(status, Map.of("message", Objects.requireNonNull(message, "message is null")));
    }

    /** 404: the API has no such path. */
    public static Reply notFound(Request request) {
        return message(404, "no such endpoint: " + request.path());
    }

    /** 405: the API has the path but does not serve that method there. */
    public static Reply methodNotAllowed(Request request) {
        return message(405, request.method() + " " + request.path() + " is not served here");
    }

    /** This reply with header {@code name} set to {@code value} (replacing one of the same name). */
    public Reply withHeader(String name, String value) {
        Map<String, String> more = new HashMap<>(headers);
        more.put(name, value);
        return new Reply(status, contentType, body, more);
    }
}
