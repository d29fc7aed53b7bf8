package io.warden.http;

import io.warden.security.ApiToken;
import io.warden.security.NodeCertificates;
import java.util.Objects;
import java.util.Optional;

/**
 * Who may change things through an API, checked by {@link HttpEndpoint} before any handler sees a request, so that
 * no API can be served without deciding it. Reads (GET, HEAD, OPTIONS) always pass: the health checks of load
 * balancers and Prometheus must reach {@code /primary}, {@code /health}, {@code /metrics} without a credential.
 *
 * <p>Anything else needs the operator, proved by either credential: the operator's token
 * ({@code Authorization: Bearer}), or the operator's client certificate (common name
 * {@value NodeCertificates#OPERATOR_COMMON_NAME}, verified against the deployment's CA by the TLS handshake). A
 * credential that is sent is always checked, whatever else came with it: a wrong token or another scheme is a 401
 * even beside the operator's certificate, so a client that sends a stale or foreign token learns it at once
 * rather than when its certificate expires, and no request passes on a credential that failed. Without any
 * credential the answer is 401 with the Bearer challenge; a certificate the CA issued to anybody else (a node's
 * agent, {@code replicator}, {@code warden_peer}, whose keys a node's OS users hold) authenticates its holder, who
 * has no right to change anything: 403, naming who it is.
 */
public final class Admission {
    /** The challenge a refused client gets, as RFC 6750 has it. */
    static final String CHALLENGE = "Bearer realm=\"warden\"";

    private final boolean readOnlyApi;
    private final Optional<ApiToken> token;

    private Admission(boolean readOnlyApi, Optional<ApiToken> token) {
        this.readOnlyApi = readOnlyApi;
        this.token = token;
    }

    /** An API with no route that changes anything (the router's): its handler answers 405 to every other method. */
    public static Admission readOnlyApi() {
        return new Admission(true, Optional.empty());
    }

    /**
     * Every request that is not a read needs the operator: {@code Authorization: Bearer <token>}, or the operator's
     * certificate when the endpoint serves TLS. Without a configured token no token is accepted, and only the
     * certificate lets a change through.
     */
    public static Admission operator(Optional<ApiToken> token) {
        return new Admission(false, Objects.requireNonNull(token, "token is null"));
    }

    /** Empty to let {@code request} through; else the refusal (401 with the challenge, or 403), and nothing done. */
    Optional<Reply> admit(Request request) {
        if (readOnlyApi || request.isRead()) {
            return Optional.empty();
        }
        Optional<String> authorization = request.header("Authorization");
        if (authorization.isPresent()) {
            return byToken(request, authorization.get());
        }
        if (request.clientCertificateName().isPresent()) {
            return byCertificate(request, request.clientCertificateName().get());
        }
        if (token.isEmpty()) {
            return unauthenticated("this agent has no operator token configured (api_token_file), so it accepts no "
                    + request.method() + " but with the operator's certificate; set api_token_file in its config and"
                    + " restart it, or present the operator's certificate");
        }
        return unauthenticated(what(request) + " needs the operator's token or certificate: send"
                + " 'Authorization: Bearer <token>' (./warden reads it from the deployment's api-token file), or"
                + " present the operator's certificate (tls/operator/operator.crt in the deployment directory)");
    }

    private Optional<Reply> byToken(Request request, String authorization) {
        if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return unauthenticated("the Authorization sent with " + what(request) + " is not a Bearer token; send"
                    + " 'Authorization: Bearer <token>' with the deployment's api-token file, or no Authorization"
                    + " and the operator's certificate");
        }
        if (token.isEmpty()) {
            return unauthenticated("this agent has no operator token configured (api_token_file), so it accepts no"
                    + " token; set api_token_file in its config and restart it, or send no Authorization and the"
                    + " operator's certificate");
        }
        if (!token.get().matches(authorization.substring(7).strip())) {
            return unauthenticated("the token sent with " + what(request)
                    + " is not this deployment's operator token; use the api-token file of this deployment");
        }
        return Optional.empty();
    }

    private static Optional<Reply> byCertificate(Request request, String commonName) {
        if (commonName.equals(NodeCertificates.OPERATOR_COMMON_NAME)) {
            return Optional.empty();
        }
        String who = NodeCertificates.agentNode(commonName)
                .map(node -> "node '" + node + "' by its certificate: a node's agent may read this API but change"
                        + " nothing through it")
                .orElseGet(() -> "'" + commonName + "' by a certificate from the deployment's CA, which gives no"
                        + " right to change anything");
        return Optional.of(Reply.message(
                403,
                "authenticated as " + who + "; " + what(request) + " needs the operator: send the operator's token"
                        + " or certificate (" + NodeCertificates.OPERATOR_COMMON_NAME + ")"));
    }

    private static String what(Request request) {
        return request.method() + " " + request.path();
    }

    private static Optional<Reply> unauthenticated(String message) {
        return Optional.of(Reply.message(401, message).withHeader("WWW-Authenticate", CHALLENGE));
    }
}
