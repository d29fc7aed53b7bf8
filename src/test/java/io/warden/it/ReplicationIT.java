package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.cluster.ClusterSnapshot;
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
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue #2, scenarios 1, 3, 7a and 7b: bootstrap and replication, postgres crash in place, loss of one etcd member,
 * then of etcd's quorum, which fences the primary until quorum returns and the cluster recovers by itself.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicationIT {
    @AutoClose
    private static TestCluster cluster;

    @BeforeAll
    static void start() {
        cluster = TestCluster.start("replication", 3, 8000, "process");
    }

    @Test
    @Order(1)
    void aTableWrittenOnThePrimaryAppearsOnBothReplicas() throws Exception {
        cluster.executeOnPrimary("create table fruit(id int primary key, name text)");
        cluster.executeOnPrimary("insert into fruit select g, 'apple ' || g from generate_series(1, 1000) g");

        assertThat(cluster.replicas()).hasSize(2);
        for (Member replica : cluster.replicas()) {
            await().atMost(Duration.ofSeconds(20))
                    .ignoreExceptions()
                    .untilAsserted(() -> assertThat(cluster.queryLong(replica.name(), "select count(*) from fruit"))
                            .isEqualTo(1000));
            assertThat(cluster.queryLong(replica.name(), "select pg_is_in_recovery()::int"))
                    .isEqualTo(1);
        }
    }

    @Test
    @Order(2)
    void aPostgresCrashIsRestartedInPlaceWithoutFailover() throws Exception {
        Member before = cluster.primary();
        ClusterSnapshot snapshot = cluster.snapshot();
        long oldPostmaster = cluster.postmasterPid(before.name());

        cluster.killPostmaster(before.name());

        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptions()
                .untilAsserted(() -> {
                    Member now = cluster.primary();
                    assertThat(now.name()).isEqualTo(before.name());
                    assertThat(now.postgresPid()).isNotEqualTo(oldPostmaster).isNotZero();
                });
        Member after = cluster.primary();
        assertThat(after.timeline()).as("same timeline: no promotion happened").isEqualTo(before.timeline());
        assertThat(cluster.snapshot().history()).isEqualTo(snapshot.history());
        cluster.executeOnPrimary("insert into fruit values (1001, 'after the crash')");
        assertThat(cluster.queryLong(before.name(), "select count(*) from fruit"))
                .isEqualTo(1001);
    }

    @Test
    @Order(3)
    void losingOneEtcdMemberCausesNoFailoverAndNoError() throws Exception {
        Member leader = cluster.primary();
        ProcessHandle.of(cluster.etcdPid(3)).ifPresent(ProcessHandle::destroyForcibly);

        cluster.executeOnPrimary("create table if not exists fruit_probe(id bigint primary key)");
        try (WriteProbe probe = new WriteProbe("fruit_probe", 1, cluster::connectPrimary)) {
            // Three lease lifetimes: long enough for a lapsed lease to have caused a failover.
            await().during(Duration.ofSeconds(9))
                    .atMost(Duration.ofSeconds(15))
                    .pollInterval(Duration.ofMillis(250))
                    .until(() -> cluster.primary().name().equals(leader.name()));
            probe.close();
            assertThat(probe.failures())
                    .as("writes that failed while one etcd member was down")
                    .isEmpty();
            assertThat(probe.acks())
                    .as("writes acknowledged while one etcd member was down")
                    .hasSizeGreaterThan(20);
        }
        assertThat(cluster.primary().timeline()).isEqualTo(leader.timeline());
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

    /** Member 3 is still down from the test before: freezing members 1 and 2 as well leaves no quorum. */
    @Test
    @Order(4)
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
