package io.warden.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.warden.agent.Agent;
import io.warden.agent.NodeCommand;
import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.cluster.Switchover;
import io.warden.cluster.Unreadable;
import io.warden.common.Poll;
import io.warden.dcs.DcsException;
import io.warden.ops.ConfigPatch;
import io.warden.ops.Requests;
import io.warden.ops.Requests.Verdict;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The agent API's mutating requests, with Patroni's status codes: 200 done, 202 accepted for later, 400 malformed,
 * 404 nothing to act on, 409 lost a race or conflicts with a pending request, 412 not possible in the cluster's
 * present state, 503 could not be done now (DCS unreachable, timed out). Every reply carries a {@code message}.
 * Validation happens before anything is written; the DCS writes are compare-and-swap.
 */
final class Operations {
    /** How long an immediate switchover or failover may take before the request is answered 503. */
    static final Duration COMPLETION_TIMEOUT = Duration.ofSeconds(30);

    record Reply(int status, Object body) {
        static Reply message(int status, String message) {
            return new Reply(status, Map.of("message", message));
        }
    }

    private final Agent agent;

    Operations(Agent agent) {
        this.agent = agent;
    }

    Reply handle(String method, String path, String body, String ifMatch) {
        return handle(method, path, body, ifMatch, false);
    }

    /** @param force {@code ?force=true}: what is refused only to protect the cluster from itself is allowed */
    Reply handle(String method, String path, String body, String ifMatch, boolean force) {
        try {
            return switch (method + " " + path) {
                case "POST /switchover" -> switchover(body);
                case "POST /failover" -> failover(body);
                case "DELETE /switchover" -> cancelSwitchover();
                case "PATCH /config" -> patchConfig(body, ifMatch, force);
                case "POST /restart" -> command(NodeCommand.RESTART, body, Duration.ofSeconds(120));
                case "POST /reload" -> command(NodeCommand.RELOAD, body, Duration.ofSeconds(30));
                case "POST /reinitialize" -> command(NodeCommand.REINITIALIZE, body, Duration.ofMinutes(30));
                default -> Reply.message(405, method + " " + path + " is not served here; see docs/rest-api.md");
            };
        } catch (DcsException e) {
            return Reply.message(503, "the DCS is not reachable from this agent: " + e.getMessage());
        }
    }

    private Reply switchover(String text) {
        Optional<Map<String, String>> fields = fields(text, Set.of("leader", "candidate", "scheduled_at"));
        if (fields.isEmpty()) {
            return badBody(
                    text,
                    "{\"leader\": \"node-1\", \"candidate\": \"node-2\", \"scheduled_at\": \"2026-11-22T18:00:00Z\"}");
        }
        ClusterSnapshot cluster = agent.dcs().read();
        Map<String, String> f = fields.get();
        Verdict verdict =
                Requests.switchover(cluster, f.get("leader"), f.get("candidate"), f.get("scheduled_at"), Instant.now());
        return submit(verdict);
    }

    private Reply failover(String text) {
        Optional<Map<String, String>> fields = fields(text, Set.of("leader", "candidate", "accept_data_loss"));
        if (fields.isEmpty()) {
            return badBody(
                    text, "{\"candidate\": \"node-2\"} or {\"candidate\": \"node-2\", \"accept_data_loss\": true}");
        }
        String accept = fields.get().getOrDefault("accept_data_loss", "false");
        if (accept == null || !(accept.equals("true") || accept.equals("false"))) {
            return Reply.message(400, "accept_data_loss must be true or false, not " + accept);
        }
        ClusterSnapshot cluster = agent.dcs().read();
        String leader = fields.get().get("leader");
        if (leader != null
                && !leader.isBlank()
                && !leader.equals(cluster.leader().map(l -> l.name()).orElse(""))) {
            return Reply.message(
                    412,
                    "'" + leader + "' is not the leader; the leader is "
                            + cluster.leader().map(l -> l.name()).orElse("nobody"));
        }
        return submit(Requests.failover(cluster, fields.get().get("candidate"), accept.equals("true"), Instant.now()));
    }

    private Reply submit(Verdict verdict) {
        if (!verdict.ok()) {
            return Reply.message(verdict.status(), verdict.message());
        }
        Switchover request = verdict.accepted().get();
        boolean scheduled = !request.scheduledAt().isEmpty();
        // An immediate request expires with its own lease if it never completes; a scheduled one waits for its time.
        if (!agent.dcs().requestSwitchover(request, scheduled ? null : COMPLETION_TIMEOUT)) {
            return Reply.message(
                    409, "another switchover or failover was requested at the same moment; see GET /switchover");
        }
        if (scheduled) {
            return Reply.message(202, verdict.message());
        }
        return awaitLeader(request);
    }

    /**
     * Waits until the candidate leads and runs as primary, or the request is gone without that happening. An
     * interrupt (the API shutting down) answers 503 at once with the flag set again; the request stays in the DCS.
     */
    private Reply awaitLeader(Switchover request) {
        long started = System.nanoTime();
        String kind = request.failover() ? "failover" : "switchover";
        Optional<Reply> outcome;
        try {
            outcome = Poll.every(Duration.ofMillis(50)).untilAnswered(COMPLETION_TIMEOUT, () -> {
                ClusterSnapshot now = agent.dcs().read();
                boolean done = now.leaderMember()
                        .filter(m -> m.name().equals(request.candidate())
                                && m.role() == Role.PRIMARY
                                && m.state() == MemberState.RUNNING)
                        .isPresent();
                if (done) {
                    Map<String, Object> body = new LinkedHashMap<>();
                    body.put(
                            "message",
                            (request.failover() ? "failed over" : "switched over from " + request.leader()) + " to "
                                    + request.candidate());
                    body.put("seconds", Math.round((System.nanoTime() - started) / 1e7) / 100.0);
                    return Optional.of(new Reply(200, body));
                }
                if (now.switchover().isEmpty()
                        && now.leader()
                                .map(l -> !l.name().equals(request.candidate()))
                                .orElse(false)
                        && System.nanoTime() - started > Duration.ofSeconds(1).toNanos()) {
                    return Optional.of(Reply.message(
                            503,
                            "the " + kind + " to " + request.candidate() + " was abandoned; "
                                    + now.leader().get().name() + " leads (see its agent log for why)"));
                }
                return Optional.empty();
            });
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Reply.message(
                    503,
                    "interrupted while waiting for the " + kind + " to " + request.candidate()
                            + "; the request stays until it completes or expires, see GET /switchover");
        }
        return outcome.orElseGet(() -> Reply.message(
                503,
                "the " + kind + " to " + request.candidate() + " did not complete within "
                        + COMPLETION_TIMEOUT.toSeconds() + " s; the request expires by itself"));
    }

    private Reply cancelSwitchover() {
        ClusterSnapshot cluster = agent.dcs().read();
        // Each cancel deletes the request it read and names in its answer, by that revision: one written since
        // (by another operator, or the next request once this one completed) is not cancelled unseen.
        if (cluster.switchover().isEmpty() && cluster.unreadable().containsKey("switchover")) {
            // Ignored by every agent, but it blocks new requests (the key is created only if absent): cancel removes
            // it.
            Unreadable unreadable = cluster.unreadable().get("switchover");
            if (!agent.dcs().clearSwitchover(unreadable.modRevision())) {
                return changedSinceRead();
            }
            return Reply.message(200, "removed an unreadable switchover request (" + unreadable.problem() + ")");
        }
        if (cluster.switchover().isEmpty()) {
            return Reply.message(404, "no switchover is pending");
        }
        if (!agent.dcs().clearSwitchover(cluster.switchoverRevision())) {
            return changedSinceRead();
        }
        return Reply.message(
                200,
                "cancelled the pending " + (cluster.switchover().get().failover() ? "failover" : "switchover") + " to "
                        + cluster.switchover().get().candidate());
    }

    private static Reply changedSinceRead() {
        return Reply.message(
                409,
                "the switchover request changed while it was being cancelled (it completed, expired, or"
                        + " was replaced): nothing cancelled; see what is pending now with warden switchover --list");
    }

    private Reply patchConfig(String text, String ifMatch, boolean force) {
        List<String> problems = new ArrayList<>();
        Optional<JsonNode> patch = ConfigPatch.parse(text, problems);
        if (patch.isEmpty()) {
            return Reply.message(400, String.join("; ", problems));
        }
        ClusterSnapshot cluster = agent.dcs().read();
        long expected = cluster.configRevision();
        if (ifMatch != null && !ifMatch.isBlank()) {
            try {
                expected = Long.parseLong(ifMatch.replace("\"", "").trim());
            } catch (NumberFormatException e) {
                return Reply.message(
                        400,
                        "If-Match must be the config revision GET /config returned as its ETag, not '" + ifMatch + "'");
            }
            if (expected != cluster.configRevision()) {
                return Reply.message(
                        409,
                        "the config changed since revision " + expected + " (now " + cluster.configRevision()
                                + "); read it again and reapply your change");
            }
        }
        Optional<io.warden.postgres.ParameterValidator> validator =
                parametersTouched(patch.get()) ? agent.parameterValidator() : Optional.empty();
        if (parametersTouched(patch.get()) && validator.isEmpty()) {
            return Reply.message(
                    503,
                    "cannot validate parameters: postgres on this node is not answering; send the request to another node");
        }
        ConfigPatch.Result result = ConfigPatch.apply(
                cluster.config(), patch.get(), (name, value) -> validator.flatMap(v -> v.problem(name, value)), force);
        if (!result.ok()) {
            return Reply.message(400, "config unchanged: " + String.join("; ", result.problems()));
        }
        DynamicConfig next = result.config().get();
        if (!agent.dcs().compareAndSetConfig(expected, next)) {
            return Reply.message(
                    409,
                    "the config was changed by someone else at the same moment; read it again and reapply your change");
        }
        Map<String, Object> body = new LinkedHashMap<>(ConfigPatch.view(next));
        List<String> restart = next.parameters().entrySet().stream()
                .filter(e -> !e.getValue().equals(cluster.config().parameters().get(e.getKey())))
                .map(Map.Entry::getKey)
                .filter(name -> validator.map(v -> v.needsRestart(name)).orElse(false))
                .sorted()
                .toList();
        body.put("restart_required", restart);
        return new Reply(200, body);
    }

    private static boolean parametersTouched(JsonNode patch) {
        return patch.isObject() && (patch.has("parameters") || patch.has("postgresql"));
    }

    private Reply command(NodeCommand command, String text, Duration timeout) {
        if (!text.isBlank() && fields(text, Set.of()).isEmpty()) {
            return badBody(text, "{} or no body");
        }
        try {
            String outcome = agent.submit(command).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return Reply.message(200, outcome);
        } catch (ExecutionException e) {
            return e.getCause() instanceof NodeCommand.Refused refused
                    ? Reply.message(412, refused.getMessage())
                    : Reply.message(
                            503,
                            command.name().toLowerCase(java.util.Locale.ROOT) + " failed: "
                                    + e.getCause().getMessage());
        } catch (TimeoutException e) {
            return Reply.message(
                    503,
                    command.name().toLowerCase(java.util.Locale.ROOT) + " did not finish within " + timeout.toSeconds()
                            + " s; it goes on in the background, see the agent log");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Reply.message(503, "interrupted");
        }
    }

    /** The body's string fields, if it is a JSON object with only {@code allowed} keys and string (or null) values. */
    private static Optional<Map<String, String>> fields(String text, Set<String> allowed) {
        if (text == null || text.isBlank()) {
            return Optional.of(Map.of());
        }
        List<String> problems = new ArrayList<>();
        Optional<JsonNode> node = ConfigPatch.parse(text, problems);
        if (node.isEmpty() || !node.get().isObject()) {
            return Optional.empty();
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.get().fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!allowed.contains(e.getKey())
                    || !(e.getValue().isTextual()
                            || e.getValue().isNull()
                            || e.getValue().isBoolean())) {
                return Optional.empty();
            }
            out.put(e.getKey(), e.getValue().isNull() ? null : e.getValue().asText());
        }
        return Optional.of(out);
    }

    private static Reply badBody(String text, String example) {
        List<String> problems = new ArrayList<>();
        ConfigPatch.parse(text, problems);
        return Reply.message(
                400,
                (problems.isEmpty() ? "unexpected keys or values in the body" : problems.getFirst())
                        + "; expected e.g. " + example);
    }
}
