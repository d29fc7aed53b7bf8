package io.warden.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.PemTls;
import io.warden.security.ApiToken;
import io.warden.security.CertificateAuthority;
import io.warden.security.NodeCertificates;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Client certificates on a real HTTPS endpoint, served as an agent serves its API, with the certificates Warden
 * issues (a node's TLS directory, the operator's): the endpoint asks each client for a certificate, verifies it
 * against the deployment's CA, and its common name decides what the request may do. The handler is never called
 * for a refused request.
 */
class ClientCertificateTest {
    private static final Instant NOW = Instant.now();
    private static final ApiToken TOKEN = ApiToken.generate();

    @TempDir
    Path dir;

    /** Every request the handler was given: a refused one must never appear here. */
    private RecordingApi api;

    @BeforeEach
    void start() {
        CertificateAuthority ca =
                CertificateAuthority.ensure(dir.resolve("ca/ca.key"), dir.resolve("ca.crt"), "test", NOW);
        for (String node : List.of("node-1", "node-2")) {
            NodeCertificates.ensure(ca, node, List.of("127.0.0.1"), dir.resolve(node), Optional.empty(), NOW);
        }
        NodeCertificates.ensureOperator(ca, dir.resolve("operator"), NOW);
        Path node1 = dir.resolve("node-1");
        api = new RecordingApi(
                Admission.operator(Optional.of(TOKEN)),
                Optional.of(new HttpEndpoint.Tls(
                        node1.resolve(NodeCertificates.CA),
                        node1.resolve(NodeCertificates.API_CERTIFICATE),
                        node1.resolve(NodeCertificates.API_KEY))));
    }

    @AfterEach
    void stop() {
        api.close();
    }

    /** A client trusting the deployment's CA and presenting {@code certificate} (a file in {@code dir}). */
    private SSLContext presenting(String certificate, String key) {
        return PemTls.client(dir.resolve("ca.crt"), dir.resolve(certificate), dir.resolve(key));
    }

    private HttpResponse<String> send(SSLContext tls, String method, String authorization)
            throws IOException, InterruptedException {
        return send(tls, tls.getDefaultSSLParameters(), method, authorization);
    }

    private HttpResponse<String> send(SSLContext tls, SSLParameters parameters, String method, String authorization)
            throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder()
                .connectTimeout(Duration.ofSeconds(3))
                .sslContext(tls)
                .sslParameters(parameters)
                .build();
        HttpRequest.Builder request = HttpRequest.newBuilder(
                        URI.create("https://127.0.0.1:" + api.port() + "/switchover"))
                .timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.ofString("{}"));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        try (client) {
            return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    @Test
    void theOperatorsCertificateWithoutATokenLetsAChangeThrough() throws Exception {
        HttpResponse<String> reply = send(presenting("operator/operator.crt", "operator/operator.key"), "POST", null);

        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(200);
        assertThat(api.handled()).containsExactly("POST /switchover");
    }

    @Test
    void aNodesApiCertificateIsRefused403NamingTheNodeAndNothingIsHandledButItsReads() throws Exception {
        SSLContext node2 = presenting("node-2/api.crt", "node-2/api.key");

        for (String method : List.of("POST", "PUT", "PATCH", "DELETE")) {
            HttpResponse<String> reply = send(node2, method, null);
            assertThat(reply.statusCode()).as(method).isEqualTo(403);
            assertThat(reply.body()).as(method).contains("authenticated as node 'node-2' by its certificate");
        }
        assertThat(api.handled()).isEmpty();
        assertThat(send(node2, "GET", null).statusCode()).isEqualTo(200);
        assertThat(api.handled()).containsExactly("GET /switchover");
    }

    /** The postgres OS user holds these keys: replicator's, warden_peer's and the node's postgres pair. */
    @Test
    void theCertificatesWhoseKeysPostgresHoldsAreRefused403() throws Exception {
        Map<String, String> pairs = Map.of(
                "replicator", "node-2/replicator",
                "warden_peer", "node-2/warden_peer",
                "node-2", "node-2/server");
        for (var pair : pairs.entrySet()) {
            HttpResponse<String> reply =
                    send(presenting(pair.getValue() + ".crt", pair.getValue() + ".key"), "POST", null);

            assertThat(reply.statusCode()).as(pair.getKey()).isEqualTo(403);
            assertThat(reply.body()).as(pair.getKey()).contains("authenticated as '" + pair.getKey() + "'");
        }
        assertThat(api.handled()).isEmpty();
    }

    @Test
    void withoutACertificateTheTokenStillWorksAndNothingIs401() throws Exception {
        SSLContext anonymous = PemTls.trusting(dir.resolve("ca.crt"));

        HttpResponse<String> refused = send(anonymous, "POST", null);
        assertThat(refused.statusCode()).isEqualTo(401);
        assertThat(refused.headers().firstValue("WWW-Authenticate")).contains(Admission.CHALLENGE);
        assertThat(api.handled()).isEmpty();

        assertThat(send(anonymous, "POST", TOKEN.authorization()).statusCode()).isEqualTo(200);
        assertThat(api.handled()).containsExactly("POST /switchover");
    }

    /**
     * The operator's certificate's name, from a CA this endpoint does not trust: the JDK fails the handshake even
     * though the endpoint only wants a certificate (an absent one passes, a bad one does not). Under TLS 1.3 the
     * client has sent its request before the server's verdict arrives, so it sees the alert or a closed connection;
     * under TLS 1.2 the handshake itself throws.
     */
    @Test
    void anOperatorCertificateFromAnotherCaFailsTheHandshakeAndNothingIsHandled() throws Exception {
        CertificateAuthority other =
                CertificateAuthority.ensure(dir.resolve("other/ca.key"), dir.resolve("other/ca.crt"), "other", NOW);
        NodeCertificates.ensureOperator(other, dir.resolve("other/operator"), NOW);
        SSLContext stranger = PemTls.client(
                dir.resolve("ca.crt"),
                dir.resolve("other/operator/operator.crt"),
                dir.resolve("other/operator/operator.key"));

        assertThatThrownBy(() -> send(stranger, "POST", null)).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> send(stranger, "POST", TOKEN.authorization()))
                .as("not even with the token: the connection is refused before any request is read")
                .isInstanceOf(IOException.class);
        assertThatThrownBy(() -> send(stranger, "GET", null)).as("nor a read").isInstanceOf(IOException.class);
        SSLParameters tls12 = new SSLParameters();
        tls12.setProtocols(new String[] {"TLSv1.2"});
        assertThatThrownBy(() -> send(stranger, tls12, "POST", null))
                .as("the server's certificate_unknown alert, or its closing the connection mid-handshake")
                .isInstanceOf(SSLHandshakeException.class);
        assertThat(api.handled()).isEmpty();
    }
}
