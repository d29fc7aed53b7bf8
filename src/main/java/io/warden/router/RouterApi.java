package io.warden.router;

import io.warden.http.HttpEndpoint;
import io.warden.http.Reply;
import io.warden.http.Request;
import java.util.Objects;

/**
 * The router's API ({@code api_port}), reads only: {@code /status} (also {@code /}), {@code /health} (200 while
 * serving, 503 while fenced) and {@code /metrics} ({@link RouterMetrics}). Served by an {@link HttpEndpoint}, which gives every error the
 * shape {@code {"message": "..."}}.
 */
public final class RouterApi implements HttpEndpoint.Handler {
    private final Router router;

    public RouterApi(Router router) {
        this.router = Objects.requireNonNull(router, "router is null");
    }

    @Override
    public Reply handle(Request request) {
        if (!request.isRead()) {
            return Reply.methodNotAllowed(request);
        }
        return switch (request.path()) {
            case "/", "/status" -> Reply.json(200, router.describe());
            case "/health" -> Reply.json(router.serving() ? 200 : 503, router.describe());
            case "/metrics" -> Reply.metrics(router.metrics.registry());
            default -> Reply.notFound(request);
        };
    }
}
