package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.dcs.Member;
import io.warden.dcs.Role;
import io.warden.postgres.PostgresCtl;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** Issue #2, scenarios 2 and 6: host loss of a replica and of the primary; the former primary rejoins with pg_rewind. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostLossIT {
    private static TestCluster cluster;

    @BeforeAll
    static void start() {
        cluster = TestCluster.start("hostloss", 3, 8300, "process");
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static List<String> slots(String node) throws Exception {
        List<String> slots = new ArrayList<>();
        try (Connection c = cluster.connect(node);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select slot_name from pg_replication_slots order by 1")) {
            while (rs.next()) {
                slots.add(rs.getString(1));
            }
        }
        return slots;
    }

    @Test
    @Order(1)
    void aLostReplicasSlotStopsHoldingWalOnceItIsGone() throws Exception {
        Member primary = cluster.primary();
        String replica = cluster.replicas().getFirst().name();
        assertThat(slots(primary.name())).contains(PostgresCtl.slotName(replica));

        cluster.killHost(replica);

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(slots(primary.name())).doesNotContain(PostgresCtl.slotName(replica)));
        assertThat(cluster.primary().name()).isEqualTo(primary.name());

        cluster.restartHost(replica);
        cluster.awaitHealthy(Duration.ofSeconds(90));
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(slots(primary.name())).contains(PostgresCtl.slotName(replica)));
    }

    @Test
    @Order(2)
    void primaryHostLossPromotesAReplicaAndTheOldPrimaryRewindsWhenItReturns() throws Exception {
        cluster.executeOnPrimary("create table ledger(id bigint primary key)");
        cluster.executeOnPrimary("create table diverged(id int primary key)");
        Member old = cluster.primary();
        for (Member replica : cluster.replicas()) {
            await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() ->
                    cluster.queryLong(replica.name(), "select count(*) from pg_class where relname = 'diverged'") == 1);
        }

        // Replication is asynchronous: only writes that reached a replica can survive the primary's host. So
        // the probe stops and the replicas catch up before the primary is made to diverge and dies.
        WriteProbe before = new WriteProbe("ledger", 1, cluster::connectPrimary);
        await().atMost(Duration.ofSeconds(10)).until(() -> before.acks().size() > 20);
        before.close();
        long lastBefore = before.ackedIds().getLast();
        for (Member replica : cluster.replicas()) {
            await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() ->
                    cluster.queryLong(replica.name(), "select count(*) from ledger where id = " + lastBefore) == 1);
        }

        // Divergent history: pause the primary's WAL senders, commit rows only it has, then lose the host.
        List<Long> walSenders = new ArrayList<>();
        try (Connection c = cluster.connect(old.name());
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select pid from pg_stat_replication")) {
            while (rs.next()) {
                walSenders.add(rs.getLong(1));
            }
        }
        assertThat(walSenders).hasSize(2);
        walSenders.forEach(pid -> cluster.freeze(pid));
        try (Connection c = cluster.connect(old.name());
                Statement s = c.createStatement()) {
            s.execute("insert into diverged select generate_series(1, 500)");
        }
        cluster.killHost(old.name());
        walSenders.forEach(pid -> cluster.thaw(pid));

        Member promoted = cluster.awaitNewPrimary(old.name(), Duration.ofSeconds(30));
        assertThat(promoted.name()).isNotEqualTo(old.name());
        assertThat(promoted.timeline()).isGreaterThan(old.timeline());
        WriteProbe after = new WriteProbe("ledger", 1_000_000, cluster::connectPrimary);
        await().atMost(Duration.ofSeconds(15)).until(() -> after.acks().size() > 20);
        after.close();

        List<Long> acknowledged = new ArrayList<>(before.ackedIds());
        acknowledged.addAll(after.ackedIds());
        try (Connection c = cluster.connect(promoted.name());
                Statement s = c.createStatement()) {
            for (long id : acknowledged) {
                try (ResultSet rs = s.executeQuery("select 1 from ledger where id = " + id)) {
                    assertThat(rs.next()).as("acknowledged write %d survives the failover", id).isTrue();
                }
            }
        }
        assertThat(cluster.queryLong(promoted.name(), "select count(*) from diverged")).isZero();

        cluster.restartHost(old.name());
        cluster.awaitHealthy(Duration.ofSeconds(120));
        Member rejoined = cluster.snapshot().members().get(old.name());
        assertThat(rejoined.role()).isEqualTo(Role.REPLICA);
        assertThat(rejoined.timeline()).isEqualTo(cluster.primary().timeline());
        assertThat(cluster.queryLong(old.name(), "select count(*) from diverged"))
                .as("rows only the old primary had are rewound away")
                .isZero();
        Path log = Path.of(cluster.node(old.name()).configFile()).getParent().resolve("agent.log");
        assertThat(Files.readString(log)).contains("REWIND: former primary");
        assertThat(Files.readString(log)).containsPattern("pg_rewind from node-\\d: ");
    }
}
