package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.warden.common.Processes;
import io.warden.runtime.DeploymentState.NodeHost;
import io.warden.runtime.LocalDeployment;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * docs/security.md's rows for connections, on one cluster whose nodes each have their own address (network
 * namespaces), so "from a member" and "from elsewhere" are different addresses: pg_hba.conf as the agents manage
 * it, replication only from the members, and no password method but scram-sha-256.
 */
class SecurityIT {
    @AutoClose
    static TestCluster cluster;

    @BeforeAll
    static void start() {
        cluster = TestCluster.start("security", 3, 14100, "netns");
    }

    @Test
    void everyNodesPgHbaAcceptsOnlyScramOverTcpAndPeerOnItsSocket() throws Exception {
        for (NodeHost node : cluster.state().nodes()) {
            List<String> methods = cluster.queryColumn(
                    node.name(),
                    "select distinct auth_method || case when error is null then '' else ' ' || error end"
                            + " from pg_hba_file_rules order by 1",
                    row -> row.getString(1));
            assertThat(methods).as(node.name()).isSubsetOf("peer", "scram-sha-256");
        }
    }

    @Test
    void aReplicationConnectionFromAnAddressThatIsNotAMemberIsRefusedWhileTheMembersStream() throws Exception {
        String primary = cluster.primary().name();
        NodeHost target = cluster.node(primary);
        // From the host's side of the node's link: an address of this machine, not of any member.
        Processes.Result attempt = Processes.run(
                List.of(
                        LocalDeployment.POSTGRES_BIN + "/psql",
                        "host=" + target.host() + " port=" + target.port()
                                + " user=replicator dbname=replication replication=true sslmode=disable"
                                + " connect_timeout=5",
                        "-c",
                        "IDENTIFY_SYSTEM"),
                Map.of("PGPASSWORD", cluster.state().replicationPassword(), "LC_ALL", "C.UTF-8"),
                Duration.ofSeconds(20));

        assertThat(attempt.ok()).as(attempt.output()).isFalse();
        assertThat(attempt.output()).contains("no pg_hba.conf entry for replication connection from host");
        await().atMost(Duration.ofSeconds(30))
                .untilAsserted(() -> assertThat(cluster.queryLong(
                                primary, "select count(*) from pg_stat_replication where state = 'streaming'"))
                        .as("the members stream")
                        .isEqualTo(2));
    }

    @Test
    void aRoleWhosePasswordIsStoredAsAnMd5HashCannotLogIn() throws Exception {
        String primary = cluster.primary().name();
        try (Connection c = cluster.connect(primary);
                Statement s = c.createStatement()) {
            s.execute("set password_encryption = 'md5'");
            s.execute("create role legacy login password 'legacy-password-1'");
            s.execute("reset password_encryption");
            s.execute("create role modern login password 'modern-password-1'");
        }
        NodeHost node = cluster.node(primary);
        String url = "jdbc:postgresql://" + node.host() + ":" + node.port() + "/postgres?sslmode=disable";

        assertThatThrownBy(() -> login(url, "legacy", "legacy-password-1"))
                .isInstanceOf(SQLException.class)
                .hasMessageContaining("password authentication failed for user \"legacy\"");
        try (Connection modern = login(url, "modern", "modern-password-1")) {
            assertThat(modern.isValid(5))
                    .as("a role with a scram-sha-256 secret logs in")
                    .isTrue();
        }
    }

    private static Connection login(String url, String user, String password) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", user);
        props.setProperty("password", password);
        props.setProperty("connectTimeout", "5");
        return DriverManager.getConnection(url, props);
    }
}
