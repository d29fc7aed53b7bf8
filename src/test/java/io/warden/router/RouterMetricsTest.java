package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.http.PrometheusText;
import io.warden.http.PrometheusText.Family;
import io.warden.http.Reply;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** One router's metrics built alone, without a router, scraped as /metrics serves them and read back strictly. */
class RouterMetricsTest {
    private final AtomicBoolean serving = new AtomicBoolean(true);
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicReference<Map<String, Long>> sessions = new AtomicReference<>(Map.of());
    private final RouterMetrics metrics = new RouterMetrics(serving::get, connections::get, sessions::get);

    @Test
    void everyFamilyIsServedWithHelpBeforeAnythingHappened() {
        Map<String, Family> families = scrape();

        assertThat(families)
                .containsKeys(
                        "warden_router_serving",
                        "warden_router_connections",
                        "warden_router_connections_accepted_total",
                        "warden_router_connections_rejected_total",
                        "warden_router_fenced_sessions_total",
                        "warden_router_dcs_fences_total",
                        "warden_router_cancel_requests_total",
                        "warden_router_relayed_bytes_total",
                        "warden_router_connect_seconds");
        assertThat(families.values())
                .allSatisfy(family -> assertThat(family.help()).isNotBlank());
        assertThat(families.get("warden_router_connections_accepted_total").value())
                .hasValue(0.0);
        assertThat(families.get("warden_router_relayed_bytes_total").value("direction", "to_server"))
                .hasValue(0.0);
    }

    @Test
    void countersCountWhatWasRecorded() {
        metrics.accepted();
        metrics.accepted();
        metrics.rejected();
        metrics.fencedSession();
        metrics.dcsFenced();
        metrics.cancelRequested();
        metrics.routed(Router.Port.READ_WRITE, "n1");
        metrics.routed(Router.Port.READ_WRITE, "n1");
        metrics.routed(Router.Port.READ_ONLY, "n2");
        metrics.bytesToServer.inc(100);
        metrics.bytesToClient.inc(2500);

        Map<String, Family> families = scrape();

        assertThat(families.get("warden_router_connections_accepted_total").value())
                .hasValue(2.0);
        assertThat(families.get("warden_router_connections_rejected_total").value())
                .hasValue(1.0);
        assertThat(families.get("warden_router_fenced_sessions_total").value()).hasValue(1.0);
        assertThat(families.get("warden_router_dcs_fences_total").value()).hasValue(1.0);
        assertThat(families.get("warden_router_cancel_requests_total").value()).hasValue(1.0);
        Family routed = families.get("warden_router_routed_total");
        assertThat(routed.type()).isEqualTo("counter");
        assertThat(routed.value("port", "read_write", "node", "n1")).hasValue(2.0);
        assertThat(routed.value("port", "read_only", "node", "n2")).hasValue(1.0);
        assertThat(families.get("warden_router_relayed_bytes_total").value("direction", "to_server"))
                .hasValue(100.0);
        assertThat(families.get("warden_router_relayed_bytes_total").value("direction", "to_client"))
                .hasValue(2500.0);
    }

    @Test
    void gaugesAreReadFromTheRouterWhenScraped() {
        serving.set(false);
        connections.set(7);
        sessions.set(Map.of("n1", 3L, "n2", 4L));

        Map<String, Family> families = scrape();

        assertThat(families.get("warden_router_serving").value()).hasValue(0.0);
        assertThat(families.get("warden_router_connections").value()).hasValue(7.0);
        assertThat(families.get("warden_router_sessions").value("node", "n1")).hasValue(3.0);
        assertThat(families.get("warden_router_sessions").value("node", "n2")).hasValue(4.0);

        sessions.set(Map.of());
        assertThat(scrape()).doesNotContainKey("warden_router_sessions");
    }

    @Test
    void aConnectToANodeShowsInTheHistogram() {
        metrics.connectedToNode(Duration.ofNanos(700_000).toNanos());
        metrics.connectedToNode(Duration.ofMillis(30).toNanos());

        Family connect = scrape().get("warden_router_connect_seconds");

        assertThat(connect.type()).isEqualTo("histogram");
        assertThat(connect.sample("warden_router_connect_seconds_count")).hasValue(2.0);
        assertThat(connect.sample("warden_router_connect_seconds_sum"))
                .hasValueSatisfying(
                        sum -> assertThat(sum).isCloseTo(0.0307, org.assertj.core.data.Offset.offset(1e-9)));
        assertThat(connect.sample("warden_router_connect_seconds_bucket", "le", "5.0E-4"))
                .hasValue(0.0);
        assertThat(connect.sample("warden_router_connect_seconds_bucket", "le", "0.001"))
                .hasValue(1.0);
        assertThat(connect.sample("warden_router_connect_seconds_bucket", "le", "0.05"))
                .hasValue(2.0);
        assertThat(connect.sample("warden_router_connect_seconds_bucket", "le", "+Inf"))
                .hasValue(2.0);
    }

    @Test
    void eachRouterHasItsOwnRegistry() {
        RouterMetrics other = new RouterMetrics(() -> true, () -> 0, Map::of);
        metrics.accepted();

        assertThat(PrometheusText.parse(Reply.metrics(other.registry()).body())
                        .get("warden_router_connections_accepted_total")
                        .value())
                .hasValue(0.0);
    }

    private Map<String, Family> scrape() {
        return PrometheusText.parse(Reply.metrics(metrics.registry()).body());
    }
}
