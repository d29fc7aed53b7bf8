package io.warden.http;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.warden.common.Json;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a {@link HttpEndpoint.Handler} answers, immutable. Build it with the factories: {@link #json} and
 * {@link #metrics} for content, {@link #message} for every error (and every reply that is only a sentence), so that
 * every error of every API has the one shape {@code {"message": "..."}}.
 */
public record Reply(int status, String contentType, String body, Map<String, String> headers) {
    static final String JSON = "application/json";

    /** The Prometheus client's writer of its text exposition format; it holds no state, so one serves every scrape. */
    private static final PrometheusTextFormatWriter PROMETHEUS_TEXT = PrometheusTextFormatWriter.create();

    public Reply {
        Objects.requireNonNull(contentType, "contentType is null");
        Objects.requireNonNull(body, "body is null");
        headers = Map.copyOf(headers);
    }

    /** {@code value} written by the project's one JSON mapper ({@link Json}). */
    public static Reply json(int status, Object value) {
        return new Reply(status, JSON, Json.write(value), Map.of());
    }

    /**
     * 200 with every metric of {@code registry}, scraped now, as the Prometheus client writes its text format, with
     * the content type the client gives for it.
     */
    public static Reply metrics(PrometheusRegistry registry) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            PROMETHEUS_TEXT.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException("writing to memory cannot fail", e);
        }
        return new Reply(200, PROMETHEUS_TEXT.getContentType(), out.toString(StandardCharsets.UTF_8), Map.of());
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
