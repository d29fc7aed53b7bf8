package io.warden.api;

import io.warden.agent.Agent;
import io.warden.agent.Agent.AgentView;
import io.warden.common.Sizes;
import io.warden.dcs.Member;
import io.warden.dcs.MemberState;
import io.warden.dcs.Role;
import io.warden.http.HttpEndpoint;
import io.warden.http.Reply;
import io.warden.http.Request;
import io.warden.ops.ConfigPatch;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The agent's REST API. Health endpoints answer with Patroni's status codes (200 when the node is what the path
 * asks for, 503 otherwise) so a load balancer configured for Patroni works unchanged. Reads only look at the
 * agent's last published {@link AgentView}; they never touch postgres or the DCS.
 *
 * <p>Mutating requests (POST, PATCH, DELETE) go to {@link Operations}. Served by an {@link HttpEndpoint}, which
 * gives every error the shape {@code {"message": "..."}}.
 */
public final class AgentApi implements HttpEndpoint.Handler {
    private final Agent agent;
    private final Operations operations;

    public AgentApi(Agent agent) {
        this.agent = Objects.requireNonNull(agent, "agent is null");
        this.operations = new Operations(agent);
    }

    @Override
    public Reply handle(Request request) {
        if (!request.isRead()) {
            Operations.Reply reply = operations.handle(
                    request.method(), request.path(), request.body(), request.header("If-Match").orElse(null));
            return Reply.json(reply.status(), reply.body());
        }
        AgentView view = agent.view();
        if (view == null) {
            return Reply.json(request.path().equals("/liveness") ? 200 : 503, Map.of("state", "starting"));
        }
        return read(request, view);
    }

    private Reply read(Request request, AgentView view) {
        Member self = view.self();
        Optional<String> lag = request.parameter("lag");
        return switch (request.path()) {
            case "/status" -> Reply.json(200, Objects.requireNonNullElse(agent.liveStatus(), self));
            case "/", "/patroni" -> Reply.json(200, self);
            case "/primary", "/master", "/read-write" -> Reply.json(isWritablePrimary(view) ? 200 : 503, self);
            case "/replica" -> Reply.json(isHealthyReplica(self, lag) ? 200 : 503, self);
            case "/read-only" -> Reply.json(isWritablePrimary(view) || isHealthyReplica(self, lag) ? 200 : 503, self);
            case "/health" -> Reply.json(view.local().running() ? 200 : 503, self);
            case "/liveness" -> Reply.json(
                    System.nanoTime() - view.cycleNanos() < 2 * agent.ttl().toNanos() ? 200 : 503, Map.of("cycles", view.cycles()));
            case "/readiness" -> Reply.json(isWritablePrimary(view) || isHealthyReplica(self, Optional.empty()) ? 200 : 503, self);
            case "/cluster" -> Reply.json(200, cluster(view));
            case "/history" -> Reply.json(200, view.cluster().history());
            // The revision is the ETag: PATCH with If-Match set to it fails with 409 if someone else wrote first.
            case "/config" -> Reply.json(200, ConfigPatch.view(view.cluster().config()))
                    .withHeader("ETag", Long.toString(view.cluster().configRevision()));
            case "/switchover" -> view.cluster().switchover()
                    .map(pending -> Reply.json(200, pending))
                    .orElseGet(() -> Reply.message(404, "no switchover is pending"));
            case "/metrics" -> Reply.text(200, metrics(view));
            default -> Reply.notFound(request);
        };
    }

    private boolean isWritablePrimary(AgentView view) {
        return view.self().role() == Role.PRIMARY
                && view.self().state() == MemberState.RUNNING
                && view.cluster().isLeader(view.self().name());
    }

    /** A streaming replica within {@code lag} (bytes or kB/MB/GB) when it is given. */
    private static boolean isHealthyReplica(Member self, Optional<String> lag) {
        if (self.role() != Role.REPLICA || self.state() != MemberState.STREAMING) {
            return false;
        }
        return lag.isEmpty() || self.lagBytes() <= Sizes.parseBytes(lag.get());
    }

    private static Map<String, Object> cluster(AgentView view) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("leader", view.cluster().leader().map(l -> l.name()).orElse(null));
        body.put("members", view.cluster().members().values().stream()
                .sorted(Comparator.comparing(Member::name))
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
}
