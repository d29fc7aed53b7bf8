package io.warden.agent;

import io.warden.cluster.Member;
import io.warden.common.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** {@link Peers} over HTTP: each request has a 700 ms budget, a failover race must not wait on a dead peer. */
public final class HttpPeers implements Peers {
    private static final Duration REQUEST_TIMEOUT = Duration.ofMillis(700);

    private final HttpClient http;

    /** The liveness reported for a peer whose TLS answered but could not be verified: alive, status unknown. */
    static final int TLS_UNVERIFIED = 0;

    /** Plain HTTP, for agents without TLS. */
    public HttpPeers() {
        this(Optional.empty());
    }

    /**
     * Over HTTPS when {@code tls} is given: a context that trusts the deployment's CA alone and presents the agent's
     * own certificate, which lets it read the other agents' API and change nothing there.
     */
    public HttpPeers(Optional<javax.net.ssl.SSLContext> tls) {
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500));
        tls.ifPresent(builder::sslContext);
        this.http = builder.build();
    }

    @Override
    public Map<String, PeerStatus> statuses(Collection<Member> members) {
        List<Map.Entry<Member, CompletableFuture<HttpResponse<String>>>> asked = members.stream()
                .map(m -> Map.entry(m, http.sendAsync(request(m, "/status"), HttpResponse.BodyHandlers.ofString())))
                .toList();
        Map<String, PeerStatus> answers = new HashMap<>();
        for (var entry : asked) {
            try {
                HttpResponse<String> response =
                        entry.getValue().get(REQUEST_TIMEOUT.toMillis() + 100, TimeUnit.MILLISECONDS);
                if (response.statusCode() == 200) {
                    answers.put(entry.getKey().name(), read(response.body()));
                }
            } catch (ExecutionException | TimeoutException e) {
                // Did not answer in time: left out.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return answers;
    }

    @Override
    public Optional<Member> status(Member member) {
        try {
            HttpResponse<String> response = http.send(request(member, "/status"), HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 && read(response.body()) instanceof PeerStatus.Reported reported
                    ? Optional.of(reported.member())
                    : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    @Override
    public OptionalInt liveness(Member member) {
        try {
            return OptionalInt.of(http.send(request(member, "/liveness"), HttpResponse.BodyHandlers.discarding())
                    .statusCode());
        } catch (javax.net.ssl.SSLException e) {
            // Something serves TLS there that this agent cannot verify (its config names no CA, or another one):
            // it answered, so it is alive for the duplicate-name check, never taken for gone.
            return OptionalInt.of(TLS_UNVERIFIED);
        } catch (IOException e) {
            return OptionalInt.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalInt.empty();
        }
    }

    /** A peer's own record, read tolerantly: unknown fields are a newer version's, not an error. */
    static PeerStatus read(String body) {
        try {
            return new PeerStatus.Reported(Json.wire().readValue(body, Member.class));
        } catch (IOException | RuntimeException e) {
            return new PeerStatus.Unreadable(e.getMessage());
        }
    }

    private static HttpRequest request(Member member, String path) {
        return HttpRequest.newBuilder(URI.create(member.apiUrl() + path))
                .timeout(REQUEST_TIMEOUT)
                .build();
    }
}
