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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The operator's token on a real endpoint over HTTP: whatever is not a read reaches the handler only with it, and a
 * refusal is a 401 with the Bearer challenge and a message, the handler never called. Then Admission's decisions
 * for each credential a request can carry, the token and a client certificate's common name (which the TLS
 * handshake has verified; over real TLS in {@link ClientCertificateTest}).
 */
class AdmissionTest {
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
    private static final ApiToken TOKEN = ApiToken.generate();

    /** Every request the handler was given: a refused one must never appear here. */
    private RecordingApi api;

    private void start(Admission admission) {
        api = new RecordingApi(admission, java.util.Optional.empty());
    }

    @AfterEach
    void stop() {
        if (api != null) {
            api.close();
        }
    }

    private HttpResponse<String> send(String method, String path, String authorization)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.ofString("{}"));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void withoutTheTokenEveryMethodButReadsIsRefusedWith401AndTheChallengeAndNeverHandled() throws Exception {
        start(Admission.operator(Optional.of(TOKEN)));

        for (String method : List.of("POST", "PUT", "PATCH", "DELETE")) {
            HttpResponse<String> reply = send(method, "/switchover", null);
            assertThat(reply.statusCode()).as(method).isEqualTo(401);
            assertThat(reply.headers().firstValue("WWW-Authenticate"))
                    .as(method)
                    .contains("Bearer realm=\"warden\"");
            assertThat(reply.body()).as(method).contains("\"message\"").contains("needs the operator's token");
        }
        assertThat(api.handled()).isEmpty();
    }

    @Test
    void aWrongTokenOrAnotherSchemeIsRefusedAndTheRightTokenIsLetThrough() throws Exception {
        start(Admission.operator(Optional.of(TOKEN)));

        assertThat(send("POST", "/restart", ApiToken.generate().authorization()).statusCode())
                .isEqualTo(401);
        assertThat(send("POST", "/restart", "Basic b3BlcmF0b3I6c2VjcmV0").statusCode())
                .isEqualTo(401);
        assertThat(send("POST", "/restart", TOKEN.authorization() + "x").statusCode())
                .isEqualTo(401);
        assertThat(api.handled()).isEmpty();

        assertThat(send("POST", "/restart", TOKEN.authorization()).statusCode()).isEqualTo(200);
        assertThat(api.handled()).containsExactly("POST /restart");
    }

    @Test
    void readsNeedNoTokenSoHealthChecksAndScrapesStillWork() throws Exception {
        start(Admission.operator(Optional.of(TOKEN)));

        assertThat(send("GET", "/primary", null).statusCode()).isEqualTo(200);
        assertThat(send("OPTIONS", "/primary", null).statusCode()).isEqualTo(200);
        assertThat(api.handled()).containsExactly("GET /primary", "OPTIONS /primary");
    }

    @Test
    void anAgentWithoutAConfiguredTokenAcceptsNoToken() throws Exception {
        start(Admission.operator(Optional.empty()));

        HttpResponse<String> reply = send("POST", "/reinitialize", TOKEN.authorization());

        assertThat(reply.statusCode()).isEqualTo(401);
        assertThat(reply.body()).contains("no operator token configured (api_token_file)");
        assertThat(api.handled()).isEmpty();
    }

    @Test
    void aReadOnlyApiLeavesEveryMethodToItsHandler() throws Exception {
        start(Admission.readOnlyApi());

        assertThat(send("POST", "/status", null).statusCode()).isEqualTo(200);
        assertThat(api.handled()).containsExactly("POST /status");
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

    // ---- the decisions, one request at a time

    private static final Admission OPERATOR = Admission.operator(Optional.of(TOKEN));

    private static Request request(String method, String authorization, String certificate) {
        return new Request(
                method,
                "/switchover",
                java.util.Map.of(),
                authorization == null ? java.util.Map.of() : java.util.Map.of("Authorization", authorization),
                "{}",
                Optional.ofNullable(certificate));
    }

    private static Optional<Reply> decide(Admission admission, String authorization, String certificate) {
        return admission.admit(request("POST", authorization, certificate));
    }

    @Test
    void theOperatorsTokenOrTheOperatorsCertificateEachLetsAChangeThrough() {
        assertThat(decide(OPERATOR, TOKEN.authorization(), null)).isEmpty();
        assertThat(decide(OPERATOR, null, "warden-operator")).isEmpty();
        assertThat(decide(OPERATOR, TOKEN.authorization(), "warden-operator")).isEmpty();
    }

    @Test
    void aNodesCertificateAuthenticatesTheNodeWhichMayNotChangeAnything403NamingItAndTheWayOut() {
        Reply reply = decide(OPERATOR, null, "warden agent node-2").orElseThrow();

        assertThat(reply.status()).isEqualTo(403);
        assertThat(reply.headers()).doesNotContainKey("WWW-Authenticate");
        assertThat(reply.body())
                .contains("authenticated as node 'node-2' by its certificate")
                .contains("change nothing")
                .contains("POST /switchover needs the operator")
                .contains("warden-operator");
    }

    @Test
    void anyOtherCertificateOfTheCaIsAuthenticatedAndRefused403NamingIt() {
        // replicator's and warden_peer's keys are the postgres OS user's; node-2 is a node's postgres certificate.
        for (String name : List.of("replicator", "warden_peer", "node-2", "Warden-Operator", "warden-operator ", "")) {
            Reply reply = decide(OPERATOR, null, name).orElseThrow();

            assertThat(reply.status()).as(name).isEqualTo(403);
            assertThat(reply.body())
                    .as(name)
                    .contains("authenticated as '" + name + "' by a certificate from the deployment's CA");
        }
    }

    @Test
    void noCredentialIs401WithTheChallengeNamingBothCredentials() {
        Reply reply = decide(OPERATOR, null, null).orElseThrow();

        assertThat(reply.status()).isEqualTo(401);
        assertThat(reply.headers()).containsEntry("WWW-Authenticate", "Bearer realm=\"warden\"");
        assertThat(reply.body()).contains("needs the operator's token or certificate");
    }

    /**
     * A credential that is sent is checked, whatever came with it: the operator's certificate does not make a wrong
     * token, or another scheme, pass.
     */
    @Test
    void aWrongTokenOrAnotherSchemeIs401EvenBesideTheOperatorsCertificate() {
        for (String authorization :
                List.of(ApiToken.generate().authorization(), "Basic b3BlcmF0b3I6c2VjcmV0", "Bearer ")) {
            Reply reply = decide(OPERATOR, authorization, "warden-operator").orElseThrow();

            assertThat(reply.status()).as(authorization).isEqualTo(401);
            assertThat(reply.headers()).as(authorization).containsKey("WWW-Authenticate");
        }
    }

    /** The token proves the operator; a node's certificate beside it takes nothing away (agents hold the token). */
    @Test
    void theRightTokenBesideANodesCertificateIsTheOperator() {
        assertThat(decide(OPERATOR, TOKEN.authorization(), "warden agent node-2"))
                .isEmpty();
    }

    @Test
    void withoutAConfiguredTokenOnlyTheOperatorsCertificateLetsAChangeThrough() {
        Admission noToken = Admission.operator(Optional.empty());

        assertThat(decide(noToken, null, "warden-operator")).isEmpty();
        assertThat(decide(noToken, TOKEN.authorization(), "warden-operator")
                        .orElseThrow()
                        .status())
                .isEqualTo(401);
        assertThat(decide(noToken, null, "warden agent node-2").orElseThrow().status())
                .isEqualTo(403);
        Reply none = decide(noToken, null, null).orElseThrow();
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.body()).contains("api_token_file");
    }

    @Test
    void aNodeReadsWithItsCertificate() {
        for (String method : List.of("GET", "HEAD", "OPTIONS")) {
            assertThat(OPERATOR.admit(request(method, null, "warden agent node-2")))
                    .as(method)
                    .isEmpty();
        }
    }

    @Test
    void aCertificatesCommonNameIsItsOneCnOrElseTheWholeSubjectSoItCannotPassForOne() {
        assertThat(HttpEndpoint.commonName(new javax.security.auth.x500.X500Principal("CN=warden-operator")))
                .isEqualTo("warden-operator");
        assertThat(HttpEndpoint.commonName(new javax.security.auth.x500.X500Principal("CN=warden agent node-2")))
                .isEqualTo("warden agent node-2");
        for (String subject :
                List.of("CN=warden-operator,CN=node-2", "CN=node-2+CN=warden-operator", "OU=warden-operator", "O=x")) {
            assertThat(HttpEndpoint.commonName(new javax.security.auth.x500.X500Principal(subject)))
                    .as(subject)
                    .isNotEqualTo("warden-operator")
                    .contains("=");
        }
    }
}
