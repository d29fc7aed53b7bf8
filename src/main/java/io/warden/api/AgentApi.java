package io.warden.api;

import io.warden.agent.Agent;
import io.warden.agent.Agent.AgentView;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.common.Units;
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
 * <p>{@code /metrics} is the agent's {@link io.warden.agent.AgentMetrics}, in the Prometheus text format.
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
                    request.method(),
                    request.path(),
                    request.body(),
                    request.header("If-Match").orElse(null),
                    request.parameter("force").map(f -> f.equals("true")).orElse(false));
            return Reply.json(reply.status(), reply.body());
        }
        if (request.path().equals("/metrics")) {
            // Served while starting too: the histograms count from the start, the node's gauges from the first cycle.
            return Reply.metrics(agent.metrics().registry());
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
            case "/liveness" ->
                Reply.json(
                        System.nanoTime() - view.cycleNanos() < 2 * agent.ttl().toNanos() ? 200 : 503,
                        Map.of("cycles", view.cycles()));
            case "/readiness" ->
                Reply.json(isWritablePrimary(view) || isHealthyReplica(self, Optional.empty()) ? 200 : 503, self);
            case "/cluster" -> Reply.json(200, cluster(view));
            case "/history" -> Reply.json(200, view.cluster().history());
            // The revision is the ETag: PATCH with If-Match set to it fails with 409 if someone else wrote first.
            case "/config" ->
                Reply.json(200, ConfigPatch.view(view.cluster().config()))
                        .withHeader("ETag", Long.toString(view.cluster().configRevision()));
            case "/switchover" ->
                view.cluster()
                        .switchover()
                        .map(pending -> Reply.json(200, pending))
                        .orElseGet(() -> Reply.message(
                                404,
                                view.cluster().unreadable().containsKey("switchover")
                                        ? io.warden.ops.Requests.unreadablePending(view.cluster())
                                        : "no switchover is pending"));
            default -> Reply.notFound(request);
        };
    }

    private boolean isWritablePrimary(AgentView view) {
        return agent.writablePrimaryNow();
    }

    /** A streaming replica within {@code lag} (bytes or kB/MB/GB) when it is given. */
    private static boolean isHealthyReplica(Member self, Optional<String> lag) {
        if (self.role() != Role.REPLICA || self.state() != MemberState.STREAMING) {
            return false;
        }
        return lag.isEmpty() || self.lagBytes() <= Units.bytes(lag.get());
    }

    private static Map<String, Object> cluster(AgentView view) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("leader", view.cluster().leader().map(l -> l.name()).orElse(null));
        body.put(
                "members",
                view.cluster().members().values().stream()
                        .sorted(Comparator.comparing(Member::name))
                        .toList());
        body.put("initialized", view.cluster().initialize().orElse(null));
        return body;
    }
}
