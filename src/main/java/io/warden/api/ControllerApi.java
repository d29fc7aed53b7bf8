package io.warden.api;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.warden.controller.ControlEvent;
import io.warden.controller.ControllerLoop;
import io.warden.http.HttpEndpoint;
import io.warden.http.Reply;
import io.warden.http.Request;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * A controller's API, reads only: {@code /status} (also {@code /}: whether it leads, its epoch, the last decision and
 * the repair under way), {@code /events} (the stored log, newest last; {@code ?limit=N}), {@code /health} (200 while
 * its last round went through, 503 otherwise) and {@code /metrics}.
 */
public final class ControllerApi implements HttpEndpoint.Handler {
    private final ControllerLoop loop;
    private final PrometheusRegistry registry = new PrometheusRegistry();

    public ControllerApi(ControllerLoop loop) {
        this.loop = Objects.requireNonNull(loop, "loop is null");
        GaugeWithCallback.builder()
                .name("warden_controller_leader")
                .help("1 while this controller leads (acts), 0 while it stands by")
                .callback(callback -> callback.call(loop.status().leader() ? 1 : 0))
                .register(registry);
        CounterWithCallback.builder()
                .name("warden_controller_repairs")
                .help("repairs this controller ended, by outcome: done (the node replaced), failed (rolled back),"
                        + " cancelled (the node recovered first)")
                .labelNames("outcome")
                .callback(callback -> loop.repair().ifPresent(repair -> {
                    callback.call(repair.repairsDone(), "done");
                    callback.call(repair.repairsFailed(), "failed");
                    callback.call(repair.repairsCancelled(), "cancelled");
                }))
                .register(registry);
        // A gauge: the log keeps the last 200, so its counts can fall.
        GaugeWithCallback.builder()
                .name("warden_controller_logged_events")
                .help("events in the stored log (the last 200), by kind")
                .labelNames("kind")
                .callback(callback -> {
                    Map<String, Long> kinds = new TreeMap<>();
                    events().forEach(e -> kinds.merge(e.kind(), 1L, Long::sum));
                    kinds.forEach((kind, count) -> callback.call(count, kind));
                })
                .register(registry);
    }

    private List<ControlEvent> events() {
        try {
            return loop.events();
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    @Override
    public Reply handle(Request request) {
        if (!request.isRead()) {
            return Reply.methodNotAllowed(request);
        }
        return switch (request.path()) {
            case "/", "/status" -> Reply.json(200, loop.status());
            case "/health" -> Reply.json(loop.status().problem().isEmpty() ? 200 : 503, loop.status());
            case "/events" -> {
                int limit = request.parameter("limit").map(ControllerApi::limit).orElse(200);
                List<ControlEvent> all = loop.events();
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("events", all.subList(Math.max(0, all.size() - limit), all.size()));
                yield Reply.json(200, body);
            }
            case "/metrics" -> Reply.metrics(registry);
            default -> Reply.notFound(request);
        };
    }

    private static int limit(String text) {
        try {
            int limit = Integer.parseInt(text);
            if (limit < 1) {
                throw new NumberFormatException();
            }
            return limit;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("limit must be a whole number of 1 or more, not '" + text + "'");
        }
    }
}
