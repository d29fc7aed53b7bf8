package io.warden.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.NodeTags;
import io.warden.cluster.Role;
import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState;
import io.warden.security.ApiToken;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI sends the operator's token only to the agents of its own deployment, at the addresses deployment.json
 * records, never to the api_url a member record in the DCS names: whoever can write a member key must not receive it.
 */
class TokenDestinationTest {
    @TempDir
    Path dir;

    private final AtomicReference<String> seenByAgent = new AtomicReference<>();
    private final AtomicReference<String> seenByAttacker = new AtomicReference<>();
    private HttpServer agent;
    private HttpServer attacker;

    private static HttpServer listen(AtomicReference<String> seen) throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            seen.set(String.valueOf(exchange.getRequestHeaders().getFirst("Authorization")));
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        server.start();
        return server;
    }

    @AfterEach
    void stop() {
        agent.stop(0);
        attacker.stop(0);
    }

    @Test
    void aMemberWhoseApiUrlInTheDcsPointsElsewhereGetsNoTokenTheDeploymentsAgentDoes() throws Exception {
        ApiToken token = ApiToken.ensure(DeploymentFile.API_TOKEN.in(dir));
        agent = listen(seenByAgent);
        attacker = listen(seenByAttacker);
        new DeploymentState(
                        "c",
                        20000,
                        "process",
                        0,
                        List.of(new DeploymentState.EtcdMember(
                                "e1", "http://127.0.0.1:1", "http://127.0.0.1:2", 0, "/tmp")),
                        List.of(new DeploymentState.NodeHost(
                                "node-1",
                                "127.0.0.1",
                                20101,
                                agent.getAddress().getPort(),
                                "/tmp/c.yml",
                                "",
                                0,
                                0,
                                "",
                                null,
                                "")),
                        List.of(),
                        null,
                        0,
                        "")
                .write(dir);
        DirOption option = new DirOption();
        option.dir = dir;
        // A member record as an etcd writer would put it: a real node's name, an API URL of theirs.
        Member forged = new Member(
                "node-1",
                Role.REPLICA,
                MemberState.STREAMING,
                "127.0.0.1",
                20101,
                "http://127.0.0.1:" + attacker.getAddress().getPort(),
                1,
                "0/0",
                0,
                NodeTags.NONE,
                0,
                0,
                "i",
                "/d",
                false);

        try (ClusterClient client = new ClusterClient(option)) {
            client.node(forged, "POST", "/restart", null, Duration.ofSeconds(5));
        }

        assertThat(seenByAttacker.get()).as("the api_url from the DCS").isNull();
        assertThat(seenByAgent.get()).as("the agent deployment.json records").isEqualTo(token.authorization());
    }
}
