package io.warden.http;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real endpoint whose handler only records what reached it ("POST /restart") and answers 200: what a test of
 * admission looks at, since a request refused before the handler must leave no trace here.
 */
final class RecordingApi implements AutoCloseable {
    private final List<String> handled = new CopyOnWriteArrayList<>();
    private final HttpEndpoint endpoint;

    RecordingApi(Admission admission, Optional<HttpEndpoint.Tls> tls) {
        endpoint = HttpEndpoint.start(
                "test API",
                "127.0.0.1",
                0,
                "api_port in test.yaml",
                request -> {
                    handled.add(request.method() + " " + request.path());
                    return Reply.json(200, Map.of("done", true));
                },
                admission,
                tls);
    }

    /** The requests the handler saw, in order. */
    List<String> handled() {
        return handled;
    }

    int port() {
        return endpoint.address().getPort();
    }

    @Override
    public void close() {
        endpoint.close();
    }
}
