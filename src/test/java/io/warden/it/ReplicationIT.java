package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import java.time.Duration;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** Issue #2, scenarios 1, 3 and 7a: bootstrap and replication, postgres crash in place, loss of one etcd member. */
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
}
