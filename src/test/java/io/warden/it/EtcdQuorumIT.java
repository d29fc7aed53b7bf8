package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.cluster.Member;
import io.warden.runtime.DeploymentState.NodeHost;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Issue #2, scenario 7b: losing etcd quorum fences the primary; the cluster recovers by itself when quorum returns. */
class EtcdQuorumIT {
    @AutoClose
    private static TestCluster cluster;

    @BeforeAll
    static void start() {
        cluster = TestCluster.start("quorum", 3, 9200, "process");
    }

    /**
     * Whether an insert on {@code node} commits. False only when the connection is refused or lost (SQLSTATE class
     * 08), or the session ends because its postmaster was killed under it, as it is for a fenced postgres; any other
     * failure is not fencing, and fails the test.
     */
    private boolean writes(NodeHost node) {
        Properties props = cluster.superuserLogin();
        props.setProperty("connectTimeout", "1");
        props.setProperty("socketTimeout", "2");
        try (Connection c = DriverManager.getConnection(
                        "jdbc:postgresql://" + node.host() + ":" + node.port() + "/postgres", props);
                Statement s = c.createStatement()) {
            s.execute("insert into quorum_probe default values");
            return true;
        } catch (SQLException e) {
            if (e.getSQLState() != null && e.getSQLState().startsWith("08")) {
                return false;
            }
            // The fencing kill landing while this session was open: its backend ends because its postmaster died.
            if ("57P01".equals(e.getSQLState())
                    && String.valueOf(e.getMessage()).contains("unexpected postmaster exit")) {
                return false;
            }
            throw new AssertionError("an insert on " + node.name() + " failed, but not for a lost connection: " + e, e);
        }
    }

    @Test
    void losingQuorumFencesThePrimaryAndTheClusterRecoversOnItsOwn() throws Exception {
        cluster.executeOnPrimary("create table quorum_probe(id bigserial primary key)");
        Member primary = cluster.primary();
        NodeHost node = cluster.node(primary.name());
        assertThat(writes(node)).isTrue();

        cluster.freeze(cluster.etcdPid(1));
        cluster.freeze(cluster.etcdPid(2));

        // Within one lease the primary must stop taking writes: it can no longer prove it leads.
        await().atMost(Duration.ofSeconds(8))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> !writes(node));
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> !writes(node));

        cluster.thaw(cluster.etcdPid(1));
        cluster.thaw(cluster.etcdPid(2));

        cluster.awaitHealthy(Duration.ofSeconds(90));
        // Recovered means writes succeed again on whichever node leads now; a member record can trail a restart in
        // place by a cycle, so this is a condition with a deadline, not a single attempt.
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptions()
                .until(() -> writes(cluster.node(cluster.primary().name())));
    }
}
