package io.warden.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.security.ApiToken;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The operator's token on a real endpoint over HTTP: whatever is not a read reaches the handler only with it, and a
 * refusal is a 401 with the Bearer challenge and a message, the handler never called.
 */
class AdmissionTest {
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    private static final ApiToken TOKEN = ApiToken.generate();

    /** Every request the handler was given: a refused one must never appear here. */
    private final List<String> handled = new CopyOnWriteArrayList<>();

    private HttpEndpoint endpoint;

    private void start(Admission admission) {
        endpoint = HttpEndpoint.start(
                "test API",
                "127.0.0.1",
                0,
                "api_port in test.yaml",
                request -> {
                    handled.add(request.method() + " " + request.path());
                    return Reply.json(200, java.util.Map.of("done", true));
                },
                admission);
    }

    @AfterEach
    void stop() {
        if (endpoint != null) {
            endpoint.close();
        }
    }

    private HttpResponse<String> send(String method, String path, String authorization)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + endpoint.address().getPort() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.ofString("{}"));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void withoutTheTokenEveryMethodButReadsIsRefusedWith401AndTheChallengeAndNeverHandled() throws Exception {
        start(Admission.operatorToken(Optional.of(TOKEN)));

        for (String method : List.of("POST", "PUT", "PATCH", "DELETE")) {
            HttpResponse<String> reply = send(method, "/switchover", null);
            assertThat(reply.statusCode()).as(method).isEqualTo(401);
            assertThat(reply.headers().firstValue("WWW-Authenticate"))
                    .as(method)
                    .contains("Bearer realm=\"warden\"");
            assertThat(reply.body()).as(method).contains("\"message\"").contains("needs the operator's token");
        }
        assertThat(handled).isEmpty();
    }

    @Test
    void aWrongTokenOrAnotherSchemeIsRefusedAndTheRightTokenIsLetThrough() throws Exception {
        start(Admission.operatorToken(Optional.of(TOKEN)));

        assertThat(send("POST", "/restart", ApiToken.generate().authorization()).statusCode())
                .isEqualTo(401);
        assertThat(send("POST", "/restart", "Basic b3BlcmF0b3I6c2VjcmV0").statusCode())
                .isEqualTo(401);
        assertThat(send("POST", "/restart", TOKEN.authorization() + "x").statusCode())
                .isEqualTo(401);
        assertThat(handled).isEmpty();

        assertThat(send("POST", "/restart", TOKEN.authorization()).statusCode()).isEqualTo(200);
        assertThat(handled).containsExactly("POST /restart");
    }

    @Test
    void readsNeedNoTokenSoHealthChecksAndScrapesStillWork() throws Exception {
        start(Admission.operatorToken(Optional.of(TOKEN)));

        assertThat(send("GET", "/primary", null).statusCode()).isEqualTo(200);
        assertThat(send("OPTIONS", "/primary", null).statusCode()).isEqualTo(200);
        assertThat(handled).containsExactly("GET /primary", "OPTIONS /primary");
    }

    @Test
    void anAgentWithoutAConfiguredTokenAcceptsNoChangeFromAnybody() throws Exception {
        start(Admission.operatorToken(Optional.empty()));

        HttpResponse<String> reply = send("POST", "/reinitialize", TOKEN.authorization());

        assertThat(reply.statusCode()).isEqualTo(401);
        assertThat(reply.body()).contains("no operator token configured (api_token_file)");
        assertThat(handled).isEmpty();
    }

    @Test
    void aReadOnlyApiLeavesEveryMethodToItsHandler() throws Exception {
        start(Admission.readOnlyApi());

        assertThat(send("POST", "/status", null).statusCode()).isEqualTo(200);
        assertThat(handled).containsExactly("POST /status");
    }

    @Test
    void aRequestShownInALogNeverCarriesTheToken() {
        Request request = new Request(
                "POST", "/restart", java.util.Map.of(), java.util.Map.of("authorization", TOKEN.authorization()), "{}");

        assertThat(request.toString())
                .contains("POST /restart")
                .contains("(redacted)")
                .doesNotContain(TOKEN.authorization().substring("Bearer ".length()));
    }
}
