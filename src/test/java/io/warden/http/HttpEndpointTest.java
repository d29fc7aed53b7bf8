package io.warden.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.argumentSet;

import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.warden.common.Json;
import io.warden.common.WardenException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A real endpoint on 127.0.0.1 (any free port) called over HTTP, one behaviour per test. */
class HttpEndpointTest {
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

    /** What /metrics serves: one gauge, set once. */
    private static final PrometheusRegistry METRICS = new PrometheusRegistry();

    static {
        Gauge.builder()
                .name("warden_up")
                .help("1 while the test API runs")
                .register(METRICS)
                .set(1);
    }

    private HttpEndpoint endpoint;

    @BeforeEach
    void start() {
        endpoint = HttpEndpoint.start(
                "test API", "127.0.0.1", 0, "api_port in test.yaml", HttpEndpointTest::handle, Admission.readOnlyApi());
    }

    @AfterEach
    void stop() {
        endpoint.close();
    }

    /** A small API: reads on a few paths, one mutating request, and paths that fail. */
    private static Reply handle(Request request) {
        if (request.path().equals("/echo")) {
            return request.method().equals("POST")
                    ? Reply.json(200, Map.of("length", request.body().length()))
                    : Reply.methodNotAllowed(request);
        }
        if (!request.isRead()) {
            return Reply.methodNotAllowed(request);
        }
        return switch (request.path()) {
            case "/status" -> Reply.json(200, Map.of("state", "running")).withHeader("ETag", "42");
            case "/metrics" -> Reply.metrics(METRICS);
            case "/lag" ->
                Reply.json(
                        200,
                        Map.of(
                                "lag",
                                request.parameter("lag").orElse("none"),
                                "if_match",
                                request.header("if-match").orElse("none")));
            case "/bad" -> throw new IllegalArgumentException("lag must be a size such as 16MB, not 'soon'");
            case "/bug" -> throw new IllegalStateException("a bug");
            default -> Reply.notFound(request);
        };
    }

    @Test
    void jsonReplyCarriesTheValueItsContentTypeAndItsHeaders() throws Exception {
        HttpResponse<String> response = send("GET", "/status", null);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("{\"state\":\"running\"}");
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(response.headers().firstValue("ETag")).hasValue("42");
    }

    @Test
    void metricsReplyIsTheClientsTextFormatWithItsContentType() throws Exception {
        HttpResponse<String> response = send("GET", "/metrics", null);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(PrometheusText.parse(response.body()).get("warden_up").value())
                .hasValue(1.0);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValue(PrometheusTextFormatWriter.create().getContentType())
                .hasValueSatisfying(type -> assertThat(type).startsWith("text/plain; version=0.0.4"));
    }

    @Test
    void headAnswersTheStatusAndHeadersOfGetWithoutABody() throws Exception {
        HttpResponse<String> response = send("HEAD", "/status", null);

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("ETag")).hasValue("42");
        assertThat(response.body()).isEmpty();
    }

    @Test
    void queryParametersAreDecodedAndHeaderNamesIgnoreCase() throws Exception {
        HttpResponse<String> response = send("GET", "/lag?lag=16%20MB&flag", null, "If-Match", "7");

        assertThat(Json.read(response.body(), Map.class)).isEqualTo(Map.of("lag", "16 MB", "if_match", "7"));
    }

    /** Requests the API does not serve, or that its handler refuses: each answered with its status and a message. */
    static Stream<Arguments> refusedRequests() {
        return Stream.of(
                argumentSet(
                        "unknown path is answered 404 with a message",
                        "GET",
                        "/nowhere",
                        404,
                        "{\"message\":\"no such endpoint: /nowhere\"}"),
                argumentSet(
                        "wrong method is answered 405 with a message",
                        "DELETE",
                        "/status",
                        405,
                        "{\"message\":\"DELETE /status is not served here\"}"),
                argumentSet(
                        "illegal argument from the handler is answered 400 with its message",
                        "GET",
                        "/bad",
                        400,
                        "{\"message\":\"lag must be a size such as 16MB, not 'soon'\"}"));
    }

    @ParameterizedTest
    @MethodSource("refusedRequests")
    void refusedRequestsAreAnsweredWithTheirStatusAndAMessage(String method, String path, int status, String body)
            throws Exception {
        HttpResponse<String> response = send(method, path, null);

        assertThat(response.statusCode()).isEqualTo(status);
        assertThat(response.body()).isEqualTo(body);
    }

    @Test
    void unexpectedExceptionIsAnswered500WithAMessageAndLoggedWithItsStackTrace() throws Exception {
        List<LogRecord> logged = new CopyOnWriteArrayList<>();
        Logger log = Logger.getLogger(HttpEndpoint.class.getName());
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord record) {
                logged.add(record);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        log.addHandler(capture);
        log.setUseParentHandlers(false);
        try {
            HttpResponse<String> response = send("GET", "/bug", null);

            assertThat(response.statusCode()).isEqualTo(500);
            assertThat(response.body())
                    .startsWith("{\"message\":\"GET /bug failed: java.lang.IllegalStateException: a bug");
            assertThat(logged).singleElement().satisfies(record -> {
                assertThat(record.getMessage()).isEqualTo("test API: GET /bug failed");
                assertThat(record.getThrown())
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessage("a bug");
            });
        } finally {
            log.removeHandler(capture);
            log.setUseParentHandlers(true);
        }
    }

    @Test
    void bodyOfExactlyTheLimitReachesTheHandler() throws Exception {
        HttpResponse<String> response = send("POST", "/echo", "x".repeat(HttpEndpoint.MAX_BODY));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.body()).isEqualTo("{\"length\":" + HttpEndpoint.MAX_BODY + "}");
    }

    @Test
    void bodyOverTheLimitIsRefused413WithAMessage() throws Exception {
        HttpResponse<String> response = send("POST", "/echo", "x".repeat(HttpEndpoint.MAX_BODY + 1));

        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(response.body())
                .isEqualTo(
                        "{\"message\":\"the request body is larger than 65536 bytes; requests are small JSON objects\"}");
    }

    @Test
    void takenPortFailsWithAWardenExceptionNamingTheAddressAndTheSettingToChange() {
        int port = endpoint.address().getPort();

        assertThatThrownBy(() -> HttpEndpoint.start(
                        "second API",
                        "127.0.0.1",
                        port,
                        "api_port in second.yaml",
                        HttpEndpointTest::handle,
                        Admission.readOnlyApi()))
                .isInstanceOfSatisfying(WardenException.class, e -> {
                    assertThat(e.getMessage()).startsWith("cannot serve the second API on 127.0.0.1:" + port + ": ");
                    assertThat(e.nextStep())
                            .isEqualTo("stop the process listening on 127.0.0.1:" + port
                                    + ", or change api_port in second.yaml");
                });
    }

    private HttpResponse<String> send(String method, String path, String body, String... headers)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + endpoint.address().getPort() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, body == null ? BodyPublishers.noBody() : BodyPublishers.ofString(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        return HTTP.send(request.build(), BodyHandlers.ofString());
    }
}
