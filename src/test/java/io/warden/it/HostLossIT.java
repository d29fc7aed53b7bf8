package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.cluster.Member;
import io.warden.cluster.Role;
import io.warden.postgres.PostgresCtl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Issue #2, scenarios 2 and 6: host loss of a replica and of the primary; the former primary rejoins with pg_rewind,
 * and a node that returns to find the WAL it needs recycled rejoins as a fresh copy.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostLossIT {
    @AutoClose
    private static TestCluster cluster;

    @BeforeAll
    static void start() {
        cluster = TestCluster.start("hostloss", 3, 8300, "process");
    }

    private static List<String> slots(String node) throws Exception {
        return cluster.queryColumn(
                node, "select slot_name from pg_replication_slots order by 1", row -> row.getString(1));
    }

    @Test
    @Order(1)
    void aLostReplicasSlotStopsHoldingWalOnceItIsGone() throws Exception {
        Member primary = cluster.primary();
        String replica = cluster.replicas().getFirst().name();
        assertThat(slots(primary.name())).contains(PostgresCtl.slotName(replica));

        cluster.killHost(replica);

        await().atMost(Duration.ofSeconds(20))
                .untilAsserted(() -> assertThat(slots(primary.name())).doesNotContain(PostgresCtl.slotName(replica)));
        assertThat(cluster.primary().name()).isEqualTo(primary.name());

        cluster.restartHost(replica);
        cluster.awaitHealthy(Duration.ofSeconds(90));
        await().atMost(Duration.ofSeconds(20))
                .untilAsserted(() -> assertThat(slots(primary.name())).contains(PostgresCtl.slotName(replica)));
    }

    @Test
    @Order(2)
    void primaryHostLossPromotesAReplicaAndTheOldPrimaryRewindsWhenItReturns() throws Exception {
        cluster.executeOnPrimary("create table ledger(id bigint primary key)");
        cluster.executeOnPrimary("create table diverged(id int primary key)");
        Member old = cluster.primary();
        for (Member replica : cluster.replicas()) {
            await().atMost(Duration.ofSeconds(20))
                    .ignoreExceptions()
                    .until(() -> cluster.queryLong(
                                    replica.name(), "select count(*) from pg_class where relname = 'diverged'")
                            == 1);
        }

        // Replication is asynchronous: only writes that reached a replica can survive the primary's host. So
        // the probe stops and the replicas catch up before the primary is made to diverge and dies.
        WriteProbe before = new WriteProbe("ledger", 1, cluster::connectPrimary);
        await().atMost(Duration.ofSeconds(10)).until(() -> before.acks().size() > 20);
        before.close();
        long lastBefore = before.ackedIds().getLast();
        for (Member replica : cluster.replicas()) {
            await().atMost(Duration.ofSeconds(20))
                    .ignoreExceptions()
                    .until(() ->
                            cluster.queryLong(replica.name(), "select count(*) from ledger where id = " + lastBefore)
                                    == 1);
        }

        // Divergent history: pause the primary's WAL senders, commit rows only it has, then lose the host.
        List<Long> walSenders =
                cluster.queryColumn(old.name(), "select pid from pg_stat_replication", row -> row.getLong(1));
        assertThat(walSenders).hasSize(2);
        walSenders.forEach(pid -> cluster.freeze(pid));
        try (Connection c = cluster.connect(old.name());
                Statement s = c.createStatement()) {
            s.execute("insert into diverged select generate_series(1, 500)");
        }
        cluster.killHost(old.name());
        walSenders.forEach(pid -> cluster.thaw(pid));

        Member promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
        assertThat(promoted.timeline()).isGreaterThan(old.timeline());
        WriteProbe after = new WriteProbe("ledger", 1_000_000, cluster::connectPrimary);
        await().atMost(Duration.ofSeconds(15)).until(() -> after.acks().size() > 20);
        after.close();

        List<Long> acknowledged = new ArrayList<>(before.ackedIds());
        acknowledged.addAll(after.ackedIds());
        assertThat(cluster.ids(promoted.name(), "ledger"))
                .as("every acknowledged write survives the failover")
                .containsAll(acknowledged);
        assertThat(cluster.queryLong(promoted.name(), "select count(*) from diverged"))
                .isZero();

        cluster.restartHost(old.name());
        cluster.awaitHealthy(Duration.ofSeconds(120));
        Member rejoined = cluster.snapshot().members().get(old.name());
        assertThat(rejoined.role()).isEqualTo(Role.REPLICA);
        assertThat(rejoined.timeline()).isEqualTo(cluster.primary().timeline());
        assertThat(cluster.queryLong(old.name(), "select count(*) from diverged"))
                .as("rows only the old primary had are rewound away")
                .isZero();
        Path log = cluster.node(old.name()).logDir().resolve("agent.log");
        assertThat(Files.readString(log)).contains("REWIND: former primary");
        assertThat(Files.readString(log)).containsPattern("pg_rewind from node-\\d: ");
    }

    /**
     * Writes on the primary until it holds no WAL file at or before {@code segment}. Each round writes, moves to a
     * new segment and checkpoints, so the checkpoint removes or recycles the segments no slot holds.
     */
    private static void churnUntilRecycled(String primary, long segment) {
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> {
            cluster.executeOnPrimary("insert into churn(pad) select repeat('y', 100) from generate_series(1, 1000)");
            cluster.executeOnPrimary("select pg_switch_wal()");
            cluster.executeOnPrimary("checkpoint");
            return cluster.queryLong(
                            primary,
                            "select count(*) from pg_ls_waldir() where name ~ '^[0-9A-F]{24}$'"
                                    + " and ('x' || substr(name, 9))::bit(64)::bigint <= " + segment)
                    == 0;
        });
    }

    @Test
    @Order(3)
    void aReplicaThatReturnsToFindItsWalRecycledIsReclonedAndCatchesUp() throws Exception {
        Member primary = cluster.primary();
        String replica = cluster.replicas().getFirst().name();
        cluster.executeOnPrimary("create table churn(id bigserial primary key, pad text)");
        cluster.executeOnPrimary("insert into churn(pad) select repeat('x', 100) from generate_series(1, 100)");
        await().atMost(Duration.ofSeconds(20))
                .ignoreExceptions()
                .until(() -> cluster.queryLong(replica, "select count(*) from churn") == 100);
        cluster.killHost(replica);
        await().atMost(Duration.ofSeconds(20))
                .untilAsserted(() -> assertThat(slots(primary.name())).doesNotContain(PostgresCtl.slotName(replica)));

        // The replica had everything up to here; once the primary holds no WAL file at or before this segment, the
        // replica cannot stream again.
        long resumeSegment = cluster.queryLong(
                primary.name(), "select ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 9))::bit(64)::bigint");
        churnUntilRecycled(primary.name(), resumeSegment);
        long rows = cluster.queryLong(primary.name(), "select count(*) from churn");

        cluster.restartHost(replica);
        cluster.awaitHealthy(Duration.ofSeconds(120));
        await().atMost(Duration.ofSeconds(20))
                .ignoreExceptions()
                .until(() -> cluster.queryLong(replica, "select count(*) from churn") == rows);
        assertThat(slots(primary.name())).contains(PostgresCtl.slotName(replica));
        Path log = cluster.node(replica).logDir().resolve("agent.log");
        assertThat(Files.readString(log))
                .contains("RECLONE: leader " + primary.name() + " has already recycled the WAL I need")
                .contains("re-cloned from " + primary.name());
    }

    @Test
    @Order(4)
    void aFormerPrimaryWhoseWalTheNewPrimaryRecycledRejoinsAsAFreshCopy() throws Exception {
        Member old = cluster.primary();
        // Recovery after the rewind starts at the old primary's last checkpoint: the segment holding its redo point
        // is what the new primary must still have for the old one to stream again.
        long redoSegment = cluster.queryLong(
                old.name(),
                "select ('x' || substr(pg_walfile_name(redo_lsn), 9))::bit(64)::bigint from pg_control_checkpoint()");
        cluster.killHost(old.name());
        Member promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
        churnUntilRecycled(promoted.name(), redoSegment);
        long rows = cluster.queryLong(promoted.name(), "select count(*) from churn");

        cluster.restartHost(old.name());
        cluster.awaitHealthy(Duration.ofSeconds(150));
        assertThat(cluster.snapshot().members().get(old.name()).role()).isEqualTo(Role.REPLICA);
        await().atMost(Duration.ofSeconds(20))
                .ignoreExceptions()
                .until(() -> cluster.queryLong(old.name(), "select count(*) from churn") == rows);
        Path log = cluster.node(old.name()).logDir().resolve("agent.log");
        // pg_rewind itself succeeds (the divergence point is still on both sides); the recovery after it cannot.
        assertThat(Files.readString(log))
                .contains("pg_rewind from " + promoted.name())
                .contains("RECLONE: leader " + promoted.name() + " has already recycled the WAL I need")
                .contains("re-cloned from " + promoted.name());
    }
}
