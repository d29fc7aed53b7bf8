package io.warden.http;

import io.warden.security.ApiToken;
import java.util.Optional;

/**
 * Who may change things through an API, checked by {@link HttpEndpoint} before any handler sees a request, so that
 * no API can be served without deciding it. Reads (GET, HEAD, OPTIONS) always pass: the health checks of load
 * balancers and Prometheus must reach {@code /primary}, {@code /health}, {@code /metrics} without a credential.
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
     * Every request that is not a read needs {@code Authorization: Bearer <token>}. Without a configured token no
     * caller can be authenticated, and every such request is refused.
     */
    public static Admission operatorToken(Optional<ApiToken> token) {
        return new Admission(false, java.util.Objects.requireNonNull(token, "token is null"));
    }

    /** Empty to let {@code request} through; else the refusal: 401 with the challenge, and nothing done. */
    Optional<Reply> admit(Request request) {
        if (readOnlyApi || request.isRead()) {
            return Optional.empty();
        }
        if (token.isEmpty()) {
            return refuse("this agent has no operator token configured (api_token_file), so it accepts no "
                    + request.method() + " from anybody; set api_token_file in its config and restart it");
        }
        Optional<String> presented = request.header("Authorization")
                .filter(h -> h.regionMatches(true, 0, "Bearer ", 0, 7))
                .map(h -> h.substring(7).strip());
        if (presented.isEmpty()) {
            return refuse(request.method() + " " + request.path() + " needs the operator's token: send"
                    + " 'Authorization: Bearer <token>' (./warden reads it from the deployment's api-token file)");
        }
        if (!token.get().matches(presented.get())) {
            return refuse("the token sent with " + request.method() + " " + request.path()
                    + " is not this deployment's operator token; use the api-token file of this deployment");
        }
        return Optional.empty();
    }

    private static Optional<Reply> refuse(String message) {
        return Optional.of(Reply.message(401, message).withHeader("WWW-Authenticate", CHALLENGE));
    }
}
