package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** Synchronous replication on a real cluster: no acknowledged commit is lost when the primary's host dies. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SynchronousIT {
    private static final int KILLS = 10;

    @AutoClose
    private static TestCluster cluster;

    @BeforeAll
    static void start() throws SQLException {
        cluster = TestCluster.start("synchronous", 3, 10400, "process");
        cluster.executeOnPrimary("create table probe(id bigint primary key)");
    }

    /** The primary has published a synchronous standby: a failover now has somewhere safe to go. */
    private static String awaitSyncStandby() {
        return await().atMost(Duration.ofMinutes(2))
                .pollInterval(Duration.ofMillis(200))
                .ignoreExceptions()
                .until(
                        () -> {
                            ClusterSnapshot s = cluster.snapshot();
                            String leader = s.leader().orElseThrow().name();
                            return s.sync()
                                    .filter(sync -> sync.leader().equals(leader)
                                            && !sync.standbys().isEmpty())
                                    .map(sync -> sync.standbys().getFirst())
                                    .orElse(null);
                        },
                        name -> name != null);
    }

    /** synchronous_mode strict, set through the primary's API. */
    private static void strictMode(String primary) {
        TestCluster.ApiReply strict =
                cluster.api(primary, "PATCH", "/config", "{\"synchronous_mode\": \"strict\"}", null);
        assertThat(strict.status()).as(strict.body()).isEqualTo(200);
    }

    @Test
    @Order(1)
    void killingThePrimarysHostTenTimesLosesNoAcknowledgedWrite() throws Exception {
        TestCluster.ApiReply on =
                cluster.api(cluster.primary().name(), "PATCH", "/config", "{\"synchronous_mode\": \"on\"}", null);
        assertThat(on.status()).as(on.body()).isEqualTo(200);
        long nextId = 1;
        List<String> report = new ArrayList<>();
        for (int run = 1; run <= KILLS; run++) {
            String standby = awaitSyncStandby();
            Member old = cluster.primary();
            List<Long> acked;
            String promoted;
            try (WriteProbe probe = new WriteProbe("probe", nextId, cluster::connectPrimary)) {
                await().atMost(Duration.ofSeconds(30)).until(() -> probe.acks().size() >= 15);
                cluster.killHost(old.name());
                promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(60))
                        .name();
                int before = probe.acks().size();
                await().atMost(Duration.ofSeconds(30)).until(() -> probe.acks().size() >= before + 5);
                probe.close();
                acked = probe.ackedIds();
                nextId = acked.stream().mapToLong(Long::longValue).max().orElse(nextId) + 1_000;
            }
            Set<Long> present = cluster.ids(promoted, "probe");
            List<Long> lost = acked.stream().filter(id -> !present.contains(id)).toList();
            report.add("run " + run + ": killed " + old.name() + ", sync standby was " + standby + ", promoted "
                    + promoted + ", " + acked.size() + " acknowledged, lost " + lost);
            assertThat(promoted)
                    .as("only the synchronous standby may be promoted")
                    .isEqualTo(standby);
            assertThat(lost).as(String.join("\n", report)).isEmpty();
            cluster.restartHost(old.name());
            cluster.awaitHealthy(Duration.ofMinutes(2));
        }
        report.forEach(System.out::println);
    }

    @Test
    @Order(2)
    void strictModeWithEveryReplicaDownMakesWritesWait() throws Exception {
        String primary = cluster.primary().name();
        strictMode(primary);
        awaitSyncStandby();
        List<String> replicas = cluster.replicas().stream().map(Member::name).toList();
        replicas.forEach(cluster::killHost);

        CompletableFuture<Void> write = CompletableFuture.runAsync(() -> {
            try (Connection c = cluster.connect(primary);
                    Statement s = c.createStatement()) {
                // The test's usual 10 s socket timeout would give up on a commit that is rightly still waiting.
                c.setNetworkTimeout(java.util.concurrent.ForkJoinPool.commonPool(), 0);
                s.execute("set statement_timeout = 0");
                s.execute("insert into probe(id) values (-1)");
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
        // The commit must not return while no replica holds it.
        await().during(Duration.ofSeconds(8)).atMost(Duration.ofSeconds(12)).until(() -> !write.isDone());

        replicas.forEach(cluster::restartHost);
        await().atMost(Duration.ofMinutes(2)).until(write::isDone);
        assertThat(write).isCompletedWithValue(null);
        cluster.awaitHealthy(Duration.ofMinutes(2));
    }
    /**
     * PostgreSQL makes commits wait for synchronous standbys by a flag only the checkpointer updates, after the
     * reload; with the checkpointer stopped, commits return at once although pg_stat_replication already says "sync".
     * The synchronous standby's checkpointer is stopped, then the primary's host dies: the standby is promoted
     * (strict mode, "*"), but its probe commit is not held by any standby, so the routers must not be given it as a
     * writable primary. No write through the routers is acknowledged until the checkpointer runs again.
     */
    @Test
    @Order(3)
    void aNewPrimaryWhoseCheckpointerIsStoppedAcknowledgesNoWriteThroughTheRoutersUntilItsProbeCommitIsHeld()
            throws Exception {
        String primary = cluster.primary().name();
        strictMode(primary);
        String standby = awaitSyncStandby();
        long checkpointer =
                cluster.queryLong(standby, "select pid from pg_stat_activity where backend_type = 'checkpointer'");
        int logStart = cluster.agentLog(standby).length();
        cluster.freeze(checkpointer);
        long thawedAt;
        List<WriteProbe.Ack> acks;
        try (WriteProbe probe = new WriteProbe("probe", 5_000_000, cluster::connectThroughRouters)) {
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> probe.acks().size() >= 5);
                cluster.killHost(primary);
                long killedAt = System.nanoTime();
                await().atMost(Duration.ofSeconds(30))
                        .ignoreExceptions()
                        .until(() -> cluster.snapshot()
                                .leader()
                                .map(l -> l.name().equals(standby))
                                .orElse(false));
                // Several HA cycles, each running a probe: none may pass while the checkpointer is stopped.
                await().during(Duration.ofSeconds(5))
                        .atMost(Duration.ofSeconds(7))
                        .untilAsserted(() -> {
                            assertThat(probe.acks().stream()
                                            .filter(a -> a.atNanos() > killedAt)
                                            .map(WriteProbe.Ack::id)
                                            .toList())
                                    .as("writes acknowledged through the routers since the primary's host died")
                                    .isEmpty();
                            assertThat(cluster.snapshot().members().get(standby).state())
                                    .as("the new primary's published state")
                                    .isEqualTo(MemberState.PROMOTING);
                        });
                assertThat(cluster.agentLog(standby).substring(logStart))
                        .contains("not routable until the checkpointer has applied synchronous_standby_names");
            } finally {
                thawedAt = System.nanoTime();
                cluster.thaw(checkpointer);
            }
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> probe.acks().stream().anyMatch(a -> a.atNanos() > thawedAt));
            probe.close();
            acks = probe.acks();
        }
        assertThat(cluster.agentLog(standby).substring(logStart))
                .contains("a probe commit waited for a synchronous standby: accepting writes through the routers");
        Set<Long> onNewPrimary = cluster.ids(standby, "probe");
        assertThat(acks.stream()
                        .map(WriteProbe.Ack::id)
                        .filter(id -> !onNewPrimary.contains(id))
                        .toList())
                .as("acknowledged rows missing on the new primary")
                .isEmpty();
        cluster.restartHost(primary);
        cluster.awaitHealthy(Duration.ofMinutes(2));
    }
}
