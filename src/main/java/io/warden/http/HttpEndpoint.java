package io.warden.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.warden.common.PemTls;
import io.warden.common.WardenException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import javax.naming.NamingException;
import javax.naming.directory.Attribute;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.security.auth.x500.X500Principal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One HTTP server for one API (the agent's, the router's), on the JDK's {@code com.sun.net.httpserver}: a dozen
 * routes per API do not justify a framework dependency.
 *
 * <p>It does, once for every API, what each must do the same way: bind (a taken port is a {@link WardenException}
 * naming the address), run each request on its own virtual thread, refuse bodies over {@link #MAX_BODY}, answer
 * HEAD with the headers of GET and no body, over HTTPS ask each client for a certificate from the API's CA and
 * hand its common name to {@link Admission}, and give every error the same shape, a JSON object with a
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
        return start(name, host, port, portSetting, handler, admission, Optional.empty());
    }

    /**
     * The pair an endpoint serves HTTPS with, and the CA whose client certificates it takes, that CA alone: a
     * context without its own trust would take certificates from the JDK's default store, and a certificate's
     * common name decides what its holder may do ({@link Admission}).
     */
    public record Tls(Path caFile, Path certificateFile, Path keyFile) {
        public Tls {
            Objects.requireNonNull(caFile, "caFile is null");
            Objects.requireNonNull(certificateFile, "certificateFile is null");
            Objects.requireNonNull(keyFile, "keyFile is null");
        }
    }

    /**
     * As {@link #start(String, String, int, String, Handler, Admission)}, over HTTPS with {@code tls} when given:
     * the operator's token then never crosses the network in clear, and a client may prove who it is with a
     * certificate from {@code tls}'s CA. The endpoint asks for one and does not require it (a client with the token
     * has none); a client that sends one the CA did not sign fails the handshake.
     */
    public static HttpEndpoint start(
            String name,
            String host,
            int port,
            String portSetting,
            Handler handler,
            Admission admission,
            Optional<Tls> tls) {
        HttpServer server = bind(name, host, port, portSetting, tls.isPresent());
        tls.ifPresent(files -> ((HttpsServer) server).setHttpsConfigurator(clientCertificatesWanted(files)));
        HttpEndpoint endpoint = new HttpEndpoint(name, server, handler, admission);
        endpoint.server.setExecutor(endpoint.executor);
        endpoint.server.createContext("/", endpoint::serve);
        endpoint.server.start();
        return endpoint;
    }

    private static HttpsConfigurator clientCertificatesWanted(Tls tls) {
        // A client's context (trust in the CA, and a pair to present) serves a server as well: the pair is the
        // endpoint's, and the trust is what client certificates are verified with.
        SSLContext context = PemTls.client(tls.caFile(), tls.certificateFile(), tls.keyFile());
        return new HttpsConfigurator(context) {
            @Override
            public void configure(HttpsParameters parameters) {
                SSLParameters ssl = context.getDefaultSSLParameters();
                ssl.setWantClientAuth(true);
                parameters.setSSLParameters(ssl);
            }
        };
    }

    private static HttpServer bind(String name, String host, int port, String portSetting, boolean https) {
        try {
            InetSocketAddress address = new InetSocketAddress(host, port);
            return https ? HttpsServer.create(address, BACKLOG) : HttpServer.create(address, BACKLOG);
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
                new String(body, StandardCharsets.UTF_8),
                clientCertificateName(exchange));
    }

    /**
     * The common name of the certificate the client presented over TLS, which the handshake verified against the
     * endpoint's CA; empty when it presented none.
     */
    private static Optional<String> clientCertificateName(HttpExchange exchange) {
        if (!(exchange instanceof HttpsExchange https)) {
            return Optional.empty();
        }
        try {
            return Optional.of(commonName((X500Principal) https.getSSLSession().getPeerPrincipal()));
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }

    /**
     * The one common name of {@code subject}. A subject without exactly one is given whole (as RFC 2253 writes it,
     * {@code CN=a,CN=b}), so that it never passes for a name it does not carry alone.
     */
    static String commonName(X500Principal subject) {
        String name = subject.getName(X500Principal.RFC2253);
        List<String> commonNames = new ArrayList<>();
        try {
            for (Rdn rdn : new LdapName(name).getRdns()) {
                Attribute cn = rdn.toAttributes().get("CN");
                for (int i = 0; cn != null && i < cn.size(); i++) {
                    commonNames.add(String.valueOf(cn.get(i)));
                }
            }
        } catch (NamingException e) {
            return name;
        }
        return commonNames.size() == 1 ? commonNames.getFirst() : name;
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
