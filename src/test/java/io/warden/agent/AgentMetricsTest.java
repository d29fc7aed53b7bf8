package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.agent.Agent.AgentView;
import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.NodeTags;
import io.warden.cluster.Role;
import io.warden.http.PrometheusText;
import io.warden.http.PrometheusText.Family;
import io.warden.http.Reply;
import io.warden.postgres.DataState;
import io.warden.postgres.LocalState;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** One agent's metrics built alone, scraped as /metrics serves them, and read back by the strict text reader. */
class AgentMetricsTest {
    private static final String WAL = "0/3000060";

    private final AtomicReference<AgentView> view = new AtomicReference<>();
    private final AgentMetrics metrics = new AgentMetrics(view::get);

    @Test
    void aStreamingReplicaIsDescribedByItsLastView() {
        view.set(replicaView());

        Map<String, Family> families = scrape();

        // Every family has a non-empty HELP: the strict reader insists on it.
        assertThat(families).containsKeys(AgentMetricNames.AFTER_A_CYCLE.toArray(String[]::new));
        assertThat(families.get("warden_postgres_running").value()).hasValue(1.0);
        assertThat(families.get("warden_primary").value()).hasValue(0.0);
        assertThat(families.get("warden_replica_streaming").value()).hasValue(1.0);
        assertThat(families.get("warden_timeline").value()).hasValue(3.0);
        assertThat(families.get("warden_wal_position_bytes").value())
                .hasValue((double) Lsn.parse(WAL).value());
        assertThat(families.get("warden_replication_lag_bytes").value()).hasValue(4096.0);
        assertThat(families.get("warden_ha_decision").value("action", "KEEP_FOLLOWING"))
                .hasValue(1.0);
        assertThat(families.get("warden_ha_decision").samples()).hasSize(1);
        assertThat(families.get("warden_ha_cycles_total").type()).isEqualTo("counter");
        assertThat(families.get("warden_ha_cycles_total").value()).hasValue(17.0);
    }

    @Test
    void aRecordedCycleAndPromotionShowInTheirHistograms() {
        metrics.cycleTook(Duration.ofMillis(30).toNanos());
        metrics.cycleTook(Duration.ofMillis(40).toNanos());
        metrics.promotionTook(Duration.ofMillis(1500).toNanos());

        Map<String, Family> families = scrape();

        Family cycle = families.get("warden_ha_cycle_seconds");
        assertThat(cycle.type()).isEqualTo("histogram");
        assertThat(cycle.sample("warden_ha_cycle_seconds_count")).hasValue(2.0);
        assertThat(cycle.sample("warden_ha_cycle_seconds_sum"))
                .hasValueSatisfying(sum -> assertThat(sum).isCloseTo(0.07, within()));
        assertThat(cycle.sample("warden_ha_cycle_seconds_bucket", "le", "0.025"))
                .hasValue(0.0);
        assertThat(cycle.sample("warden_ha_cycle_seconds_bucket", "le", "0.05")).hasValue(2.0);
        Family promote = families.get("warden_promote_seconds");
        assertThat(promote.sample("warden_promote_seconds_count")).hasValue(1.0);
        assertThat(promote.sample("warden_promote_seconds_sum")).hasValue(1.5);
        assertThat(promote.sample("warden_promote_seconds_bucket", "le", "1.0")).hasValue(0.0);
        assertThat(promote.sample("warden_promote_seconds_bucket", "le", "2.5")).hasValue(1.0);
        assertThat(promote.sample("warden_promote_seconds_bucket", "le", "+Inf"))
                .hasValue(1.0);
    }

    @Test
    void beforeTheFirstCycleOnlyTheHistogramsAndTheErrorCountHaveSamples() {
        Map<String, Family> families = scrape();

        assertThat(families.values())
                .filteredOn(family -> !family.samples().isEmpty())
                .extracting(Family::name)
                .containsExactlyInAnyOrder(
                        "warden_ha_cycle_seconds", "warden_promote_seconds", "warden_ha_cycle_errors_total");
        assertThat(families.get("warden_ha_cycle_errors_total").sample("warden_ha_cycle_errors_total"))
                .hasValue(0.0);
        assertThat(families.get("warden_ha_cycle_seconds").sample("warden_ha_cycle_seconds_count"))
                .hasValue(0.0);
    }

    @Test
    void eachAgentHasItsOwnRegistry() {
        AgentMetrics other = new AgentMetrics(() -> null);
        metrics.cycleTook(Duration.ofMillis(10).toNanos());

        assertThat(other.registry()).isNotSameAs(metrics.registry());
        assertThat(PrometheusText.parse(Reply.metrics(other.registry()).body())
                        .get("warden_ha_cycle_seconds")
                        .sample("warden_ha_cycle_seconds_count"))
                .hasValue(0.0);
    }

    private Map<String, Family> scrape() {
        Reply reply = Reply.metrics(metrics.registry());
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.body()).doesNotContain("# UNIT");
        return PrometheusText.parse(reply.body());
    }

    private static org.assertj.core.data.Offset<Double> within() {
        return org.assertj.core.data.Offset.offset(1e-9);
    }

    private static AgentView replicaView() {
        LocalState local = new LocalState(DataState.RUNNING_REPLICA, 3, Lsn.parse(WAL), true, "10.0.0.1:5432", 4242);
        Member self = new Member(
                "n2",
                Role.REPLICA,
                MemberState.STREAMING,
                "10.0.0.2",
                5432,
                "http://10.0.0.2:8008",
                3,
                WAL,
                4096,
                NodeTags.NONE,
                100,
                4242,
                "instance-2",
                "/data/n2",
                false);
        return new AgentView(
                ClusterSnapshot.empty(), local, Decision.of(Action.KEEP_FOLLOWING, "following n1"), self, 0, 17);
    }
}
