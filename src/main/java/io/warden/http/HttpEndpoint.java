package io.warden.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.warden.common.WardenException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP server for one API (the agent's, the router's), on the JDK's {@code com.sun.net.httpserver}: a dozen
 * routes per API do not justify a framework dependency.
 *
 * <p>It does, once for every API, what each must do the same way: bind (a taken port is a {@link WardenException}
 * naming the address), run each request on its own virtual thread, refuse bodies over {@link #MAX_BODY}, answer
 * HEAD with the headers of GET and no body, and give every error the same shape, a JSON object with a
 * {@code message}. The {@link Handler} returns a {@link Reply}; an {@link IllegalArgumentException} it throws is the
 * client's mistake (400 with its message), any other exception is a bug here (500, logged with its stack trace).
 *
 * <p>Handlers run concurrently, one virtual thread per request, so they must be thread-safe.
 */
public final class HttpEndpoint implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpEndpoint.class);

    /** Request bodies are small JSON objects; anything larger is a mistake or an attack. */
    public static final int MAX_BODY = 64 * 1024;

    /** Connections the kernel queues before they are accepted: the health checks of a few load balancers at once. */
    private static final int BACKLOG = 64;

    /** What one API answers. Called concurrently, on one virtual thread per request. */
    @FunctionalInterface
    public interface Handler {
        /**
         * The reply to {@code request}: {@link Reply#notFound} for a path the API does not have,
         * {@link Reply#methodNotAllowed} for a method it does not serve there. Throws
         * {@link IllegalArgumentException} when the request is malformed; its message becomes the 400 reply.
         */
        Reply handle(Request request);
    }

    private final String name;
    private final HttpServer server;
    private final Handler handler;
    private final Admission admission;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();

    private HttpEndpoint(String name, HttpServer server, Handler handler, Admission admission) {
        this.name = Objects.requireNonNull(name, "name is null");
        this.server = Objects.requireNonNull(server, "server is null");
        this.handler = Objects.requireNonNull(handler, "handler is null");
        this.admission = Objects.requireNonNull(admission, "admission is null");
    }

    /**
     * Binds {@code host:port} and starts serving {@code handler}; port 0 takes any free port (see {@link #address}).
     *
     * @param name the API, for messages and the log: "agent API"
     * @param portSetting where a person changes the port, for the message when it is taken: "api_port in node-1.yaml"
     * @param admission who may send what is not a read
     * @throws WardenException when the address cannot be bound (another process listens there)
     */
    public static HttpEndpoint start(
            String name, String host, int port, String portSetting, Handler handler, Admission admission) {
        return start(name, host, port, portSetting, handler, admission, java.util.Optional.empty());
    }

    /**
     * As {@link #start(String, String, int, String, Handler, Admission)}, over HTTPS with {@code tls} when given:
     * the operator's token then never crosses the network in clear.
     */
    public static HttpEndpoint start(
            String name,
            String host,
            int port,
            String portSetting,
            Handler handler,
            Admission admission,
            java.util.Optional<javax.net.ssl.SSLContext> tls) {
        HttpServer server = bind(name, host, port, portSetting, tls.isPresent());
        tls.ifPresent(context -> ((com.sun.net.httpserver.HttpsServer) server)
                .setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(context)));
        HttpEndpoint endpoint = new HttpEndpoint(name, server, handler, admission);
        endpoint.server.setExecutor(endpoint.executor);
        endpoint.server.createContext("/", endpoint::serve);
        endpoint.server.start();
        return endpoint;
    }

    private static HttpServer bind(String name, String host, int port, String portSetting, boolean https) {
        try {
            InetSocketAddress address = new InetSocketAddress(host, port);
            return https
                    ? com.sun.net.httpserver.HttpsServer.create(address, BACKLOG)
                    : HttpServer.create(address, BACKLOG);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot serve the " + name + " on " + host + ":" + port + ": " + e.getMessage(),
                    "stop the process listening on " + host + ":" + port + ", or change " + portSetting,
                    e);
        }
    }

    /** The address this endpoint listens on, with the port the kernel chose when 0 was asked for. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    private void serve(HttpExchange exchange) {
        try (exchange) {
            send(exchange, answer(exchange));
        } catch (IOException e) {
            // The client went away before the reply was written: there is no one left to answer.
            LOG.debug(
                    name + ": " + exchange.getRequestMethod() + " " + exchange.getRequestURI() + " not answered: " + e);
        }
    }

    private Reply answer(HttpExchange exchange) throws IOException {
        byte[] body = exchange.getRequestBody().readNBytes(MAX_BODY + 1);
        if (body.length > MAX_BODY) {
            return Reply.message(
                    413, "the request body is larger than " + MAX_BODY + " bytes; requests are small JSON objects");
        }
        String what =
                exchange.getRequestMethod() + " " + exchange.getRequestURI().getRawPath();
        try {
            Request request = request(exchange, body);
            // The one place every request to every API passes before its handler: no API is served without it.
            Reply reply = admission.admit(request).orElseGet(() -> handler.handle(request));
            return Objects.requireNonNull(reply, "the handler returned no reply");
        } catch (IllegalArgumentException e) {
            return Reply.message(400, e.getMessage() == null ? e.toString() : e.getMessage());
        } catch (RuntimeException e) {
            LOG.error(name + ": " + what + " failed", e);
            return Reply.message(500, what + " failed: " + e + " (the stack trace is in this process's log)");
        }
    }

    private static Request request(HttpExchange exchange, byte[] body) {
        Map<String, String> headers = new HashMap<>();
        exchange.getRequestHeaders().forEach((header, values) -> headers.put(header, values.getFirst()));
        return new Request(
                exchange.getRequestMethod(),
                exchange.getRequestURI().getPath(),
                parameters(exchange.getRequestURI().getRawQuery()),
                headers,
                new String(body, StandardCharsets.UTF_8));
    }

    /** The {@code name=value} pairs of a raw query string, decoded; a pair without '=' is ignored. */
    private static Map<String, String> parameters(String rawQuery) {
        Map<String, String> result = new HashMap<>();
        if (rawQuery == null) {
            return result;
        }
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                result.put(decode(pair.substring(0, eq)), decode(pair.substring(eq + 1)));
            }
        }
        return result;
    }

    private static String decode(String text) {
        return URLDecoder.decode(text, StandardCharsets.UTF_8);
    }

    private static void send(HttpExchange exchange, Reply reply) throws IOException {
        reply.headers().forEach(exchange.getResponseHeaders()::set);
        exchange.getResponseHeaders().set("Content-Type", reply.contentType());
        byte[] bytes = reply.body().getBytes(StandardCharsets.UTF_8);
        boolean head = exchange.getRequestMethod().equals("HEAD");
        // -1 announces no body; 0 would announce a chunked one.
        exchange.sendResponseHeaders(reply.status(), head || bytes.length == 0 ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /**
     * Stops listening and closes open connections at once. A request still being handled finishes on its thread
     * (an immediate switchover may wait up to 30 s), but its reply has nowhere to go.
     */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdown();
    }
}
