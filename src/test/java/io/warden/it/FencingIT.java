package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.common.Processes;
import io.warden.dcs.Member;
import io.warden.dcs.Role;
import io.warden.runtime.DeploymentState.Node;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue #2, scenarios 4 and 5: a primary cut off from the network, and a primary whose agent is frozen, stop
 * accepting writes before another node is promoted, and rejoin as replicas afterwards. Each runs in network
 * namespaces so the partition is real.
 */
class FencingIT {
    private TestCluster cluster;

    @AfterEach
    void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** A JDBC URL reaching the primary among every node except {@code excluded}. */
    private String othersUrl(String excluded) {
        return cluster.state().nodes().stream()
                .filter(n -> !n.name().equals(excluded))
                .map(n -> n.host() + ":" + n.port())
                .collect(Collectors.joining(",", "jdbc:postgresql://", "/postgres?targetServerType=primary"));
    }

    private Connection open(String url) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", "postgres");
        props.setProperty("password", cluster.state().superuserPassword());
        props.setProperty("connectTimeout", "1");
        props.setProperty("socketTimeout", "3");
        props.setProperty("sslmode", "disable");
        return DriverManager.getConnection(url, props);
    }

    private Set<Long> ids(String node) throws SQLException {
        Set<Long> ids = new HashSet<>();
        try (Connection c = cluster.connect(node);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select id from probe")) {
            while (rs.next()) {
                ids.add(rs.getLong(1));
            }
        }
        return ids;
    }

    @Test
    void anIsolatedPrimaryStopsWritingBeforeAnotherIsPromotedAndRejoinsAfterwards() throws Exception {
        cluster = TestCluster.start("partition", 3, 8600, "netns");
        cluster.executeOnPrimary("create table probe(id bigint primary key)");
        Member old = cluster.primary();
        Node oldNode = cluster.node(old.name());

        // The old primary is reached from inside its own namespace, where it stays reachable after the cut.
        WriteProbe oldSide = new WriteProbe("probe", 1_000_000, () -> new NamespaceConnection(oldNode, cluster.state().superuserPassword()).open());
        WriteProbe newSide = new WriteProbe("probe", 1, () -> open(othersUrl(old.name())));
        await().atMost(Duration.ofSeconds(10)).until(() -> oldSide.acks().size() > 10);

        cluster.cutLink(old.name());
        long cutAt = System.nanoTime();
        Member promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
        assertThat(promoted.name()).isNotEqualTo(old.name());
        await().atMost(Duration.ofSeconds(15)).until(() -> newSide.acks().stream().anyMatch(a -> a.atNanos() > cutAt));
        oldSide.close();
        newSide.close();

        long firstNewAck = newSide.acks().stream().filter(a -> a.atNanos() > cutAt).mapToLong(WriteProbe.Ack::atNanos).min().orElseThrow();
        assertThat(oldSide.lastAckNanos())
                .as("the isolated primary's last acknowledged write comes before the new primary's first")
                .isLessThan(firstNewAck);

        cluster.restoreLink(old.name());
        cluster.awaitHealthy(Duration.ofSeconds(120));
        assertThat(cluster.snapshot().members().get(old.name()).role()).isEqualTo(Role.REPLICA);

        Set<Long> onNewPrimary = ids(promoted.name());
        List<Long> newAcks = newSide.ackedIds();
        assertThat(onNewPrimary).as("no write acknowledged by the new primary is lost").containsAll(newAcks);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(ids(old.name())).as("the old primary now holds exactly the new primary's rows").isEqualTo(ids(promoted.name())));
    }

    @Test
    void aFrozenPrimaryAgentIsFencedByItsWatchdogAndRejoinsWhenItWakes() throws Exception {
        cluster = TestCluster.start("frozen", 3, 8900, "process");
        cluster.executeOnPrimary("create table probe(id bigint primary key)");
        Member old = cluster.primary();
        Node oldNode = cluster.node(old.name());
        String oldUrl = "jdbc:postgresql://" + oldNode.host() + ":" + oldNode.port() + "/postgres";

        WriteProbe oldSide = new WriteProbe("probe", 1_000_000, () -> open(oldUrl));
        WriteProbe newSide = new WriteProbe("probe", 1, () -> open(othersUrl(old.name())));
        await().atMost(Duration.ofSeconds(10)).until(() -> oldSide.acks().size() > 10);

        cluster.freeze(oldNode.agentPid());
        long frozenAt = System.nanoTime();
        Member promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
        assertThat(promoted.name()).isNotEqualTo(old.name());
        await().atMost(Duration.ofSeconds(15)).until(() -> newSide.acks().stream().anyMatch(a -> a.atNanos() > frozenAt));
        assertThat(Processes.alive(oldNode.agentPid())).isTrue();
        cluster.thaw(oldNode.agentPid());
        oldSide.close();
        newSide.close();

        long firstNewAck = newSide.acks().stream().filter(a -> a.atNanos() > frozenAt).mapToLong(WriteProbe.Ack::atNanos).min().orElseThrow();
        assertThat(oldSide.lastAckNanos())
                .as("the frozen agent's postgres stopped accepting writes before the new primary accepted any")
                .isLessThan(firstNewAck);

        cluster.awaitHealthy(Duration.ofSeconds(120));
        assertThat(cluster.snapshot().members().get(old.name()).role()).isEqualTo(Role.REPLICA);
        assertThat(ids(promoted.name())).containsAll(newSide.ackedIds());
    }
}
