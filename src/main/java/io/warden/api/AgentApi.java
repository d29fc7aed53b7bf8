package io.warden.api;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.warden.agent.Agent;
import io.warden.agent.Agent.AgentView;
import io.warden.common.Json;
import io.warden.common.Sizes;
import io.warden.ops.ConfigPatch;
import io.warden.dcs.Member;
import io.warden.dcs.MemberState;
import io.warden.dcs.Role;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;

/**
 * The agent's REST API. Health endpoints answer with Patroni's status codes (200 when the node is what the path
 * asks for, 503 otherwise) so a load balancer configured for Patroni works unchanged. Handlers only read the
 * agent's last published {@link AgentView}; they never touch postgres or the DCS.
 *
 * <p>Mutating requests (POST, PATCH, DELETE) go to {@link Operations}. Built on the JDK's HTTP server: a dozen routes
 * do not justify a framework dependency.
 */
public final class AgentApi implements AutoCloseable {
    /** Request bodies are small JSON objects; anything larger is a mistake or an attack. */
    private static final int MAX_BODY = 64 * 1024;

    private final Agent agent;
    private final Operations operations;
    private final HttpServer server;

    public AgentApi(Agent agent, String host, int port) throws IOException {
        this.agent = agent;
        this.operations = new Operations(agent);
        this.server = HttpServer.create(new InetSocketAddress(host, port), 64);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::route);
    }

    public void start() {
        server.start();
    }

    private void route(HttpExchange exchange) throws IOException {
        try (exchange) {
            String method = exchange.getRequestMethod();
            if (!method.equals("GET") && !method.equals("HEAD") && !method.equals("OPTIONS")) {
                Operations.Reply reply = operations.handle(
                        method, exchange.getRequestURI().getPath(), body(exchange), exchange.getRequestHeaders().getFirst("If-Match"));
                send(exchange, reply.status(), reply.body());
                return;
            }
            AgentView view = agent.view();
            String path = exchange.getRequestURI().getPath();
            if (view == null) {
                send(exchange, path.equals("/liveness") ? 200 : 503, Map.of("state", "starting"));
                return;
            }
            Member self = view.self();
            Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
            switch (path) {
                case "/status" -> send(exchange, 200, java.util.Objects.requireNonNullElse(agent.liveStatus(), self));
                case "/", "/patroni" -> send(exchange, 200, self);
                case "/primary", "/master", "/read-write" -> send(exchange, isWritablePrimary(view) ? 200 : 503, self);
                case "/replica" -> send(exchange, isHealthyReplica(self, query) ? 200 : 503, self);
                case "/read-only" -> send(exchange, isWritablePrimary(view) || isHealthyReplica(self, query) ? 200 : 503, self);
                case "/health" -> send(exchange, view.local().running() ? 200 : 503, self);
                case "/liveness" -> send(
                        exchange, System.nanoTime() - view.cycleNanos() < 2 * agent.ttl().toNanos() ? 200 : 503, Map.of("cycles", view.cycles()));
                case "/readiness" -> send(exchange, isWritablePrimary(view) || isHealthyReplica(self, Map.of()) ? 200 : 503, self);
                case "/cluster" -> send(exchange, 200, cluster(view));
                case "/history" -> send(exchange, 200, view.cluster().history());
                case "/config" -> {
                    // The revision is the ETag: PATCH with If-Match set to it fails with 409 if someone else wrote first.
                    exchange.getResponseHeaders().set("ETag", Long.toString(view.cluster().configRevision()));
                    send(exchange, 200, ConfigPatch.view(view.cluster().config()));
                }
                case "/switchover" -> view.cluster().switchover().ifPresentOrElse(
                        s -> sendUnchecked(exchange, 200, s), () -> sendUnchecked(exchange, 404, Map.of("message", "no switchover is pending")));
                case "/metrics" -> sendText(exchange, 200, metrics(view));
                default -> send(exchange, 404, Map.of("error", "no such endpoint: " + path));
            }
        } catch (IllegalArgumentException e) {
            send(exchange, 400, Map.of("message", e.getMessage()));
        }
    }

    private boolean isWritablePrimary(AgentView view) {
        return view.self().role() == Role.PRIMARY
                && view.self().state() == MemberState.RUNNING
                && view.cluster().isLeader(view.self().name());
    }

    private static boolean isHealthyReplica(Member self, Map<String, String> query) {
        if (self.role() != Role.REPLICA || self.state() != MemberState.STREAMING) {
            return false;
        }
        String lag = query.get("lag");
        return lag == null || self.lagBytes() <= Sizes.parseBytes(lag);
    }

    private static Map<String, Object> cluster(AgentView view) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("leader", view.cluster().leader().map(l -> l.name()).orElse(null));
        body.put("members", view.cluster().members().values().stream()
                .sorted(java.util.Comparator.comparing(Member::name))
                .toList());
        body.put("initialized", view.cluster().initialize().orElse(null));
        return body;
    }

    private static String metrics(AgentView view) {
        Member self = view.self();
        StringBuilder out = new StringBuilder();
        gauge(out, "warden_postgres_running", "1 when postgres runs on this node", view.local().running() ? 1 : 0);
        gauge(out, "warden_primary", "1 when this node is the writable primary", self.role() == Role.PRIMARY ? 1 : 0);
        gauge(out, "warden_replica_streaming", "1 when this node is a streaming replica", self.state() == MemberState.STREAMING ? 1 : 0);
        gauge(out, "warden_timeline", "postgres timeline", self.timeline());
        gauge(out, "warden_wal_position_bytes", "current (primary) or received (replica) WAL position", self.position().value());
        gauge(out, "warden_replication_lag_bytes", "bytes behind the primary", self.lagBytes());
        gauge(out, "warden_ha_cycles_total", "HA cycles run since start", view.cycles());
        out.append("# HELP warden_ha_decision the action of the last HA cycle\n# TYPE warden_ha_decision gauge\n");
        out.append("warden_ha_decision{action=\"").append(view.decision().action()).append("\"} 1\n");
        return out.toString();
    }

    private static void gauge(StringBuilder out, String name, String help, long value) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(name.endsWith("_total") ? " counter\n" : " gauge\n");
        out.append(name).append(' ').append(value).append('\n');
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> result = new HashMap<>();
        if (raw == null) {
            return result;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                result.put(pair.substring(0, eq), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
            }
        }
        return result;
    }

    private static String body(HttpExchange exchange) throws IOException {
        byte[] bytes = exchange.getRequestBody().readNBytes(MAX_BODY + 1);
        if (bytes.length > MAX_BODY) {
            throw new IllegalArgumentException("the request body is larger than " + MAX_BODY + " bytes");
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static void sendUnchecked(HttpExchange exchange, int status, Object body) {
        try {
            send(exchange, status, body);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static void send(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = Json.write(body).getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        write(exchange, status, bytes);
    }

    private static void sendText(HttpExchange exchange, int status, String body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4");
        write(exchange, status, body.getBytes(StandardCharsets.UTF_8));
    }

    private static void write(HttpExchange exchange, int status, byte[] bytes) throws IOException {
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
