package io.warden.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The test-side checker of /metrics accepts the format and rejects each rule it claims to enforce. */
class PrometheusTextTest {
    private static final String GOOD = """
            # HELP warden_ha_cycles_total HA cycles run
            # TYPE warden_ha_cycles_total counter
            warden_ha_cycles_total 3.0
            # HELP warden_ha_decision the action of the last HA cycle
            # TYPE warden_ha_decision gauge
            warden_ha_decision{action="LEAD",note="a \\"quoted\\" word"} 1.0
            # HELP warden_ha_cycle_seconds how long a cycle took
            # TYPE warden_ha_cycle_seconds histogram
            warden_ha_cycle_seconds_bucket{le="0.1"} 1
            warden_ha_cycle_seconds_bucket{le="+Inf"} 2
            warden_ha_cycle_seconds_count 2
            warden_ha_cycle_seconds_sum 1.05
            """;

    @Test
    void readsFamiliesSamplesAndLabels() {
        Map<String, PrometheusText.Family> families = PrometheusText.parse(GOOD);

        assertThat(families)
                .containsOnlyKeys("warden_ha_cycles_total", "warden_ha_decision", "warden_ha_cycle_seconds");
        assertThat(families.get("warden_ha_cycles_total").value()).hasValue(3.0);
        assertThat(families.get("warden_ha_decision").value("action", "LEAD", "note", "a \"quoted\" word"))
                .hasValue(1.0);
        assertThat(families.get("warden_ha_cycle_seconds").sample("warden_ha_cycle_seconds_bucket", "le", "0.1"))
                .hasValue(1.0);
    }

    @Test
    void rejectsASampleWithoutHelpAndType() {
        assertRejected("warden_up 1\n", "a sample before any # HELP");
        assertRejected("# TYPE warden_up gauge\nwarden_up 1\n", "without the # HELP");
        assertRejected("# HELP warden_up up\nwarden_up 1\n", "is not followed by its # TYPE");
    }

    @Test
    void rejectsACounterWithoutTotalAndAGaugeWithIt() {
        assertRejected(
                "# HELP warden_cycles c\n# TYPE warden_cycles counter\nwarden_cycles 1\n", "does not end in _total");
        assertRejected(
                "# HELP warden_cycles_total c\n# TYPE warden_cycles_total gauge\nwarden_cycles_total 1\n",
                "only counters may");
    }

    @Test
    void rejectsAUnitThatIsNotTheSuffix() {
        assertRejected(
                "# HELP warden_bytes_sent_total b\n# TYPE warden_bytes_sent_total counter\nwarden_bytes_sent_total 1\n",
                "does not end with _bytes_total");
        assertRejected(
                "# HELP warden_seconds_up s\n# TYPE warden_seconds_up gauge\nwarden_seconds_up 1\n",
                "does not end with _seconds");
    }

    @Test
    void rejectsASampleOfAnotherFamilyAndDuplicates() {
        assertRejected(
                "# HELP warden_up u\n# TYPE warden_up gauge\nwarden_down 1\n", "does not belong to gauge warden_up");
        assertRejected(
                "# HELP warden_up u\n# TYPE warden_up gauge\nwarden_up 1\nwarden_up 1\n", "the same sample twice");
        assertRejected(
                "# HELP warden_up u\n# TYPE warden_up gauge\n# HELP warden_up u\n# TYPE warden_up gauge\n",
                "appears twice");
    }

    @Test
    void rejectsAHistogramWhoseBucketsDoNotAddUp() {
        String head = "# HELP warden_x_seconds x\n# TYPE warden_x_seconds histogram\n";
        assertRejected(
                head + "warden_x_seconds_bucket{le=\"1.0\"} 2\nwarden_x_seconds_bucket{le=\"+Inf\"} 1\n"
                        + "warden_x_seconds_count 1\nwarden_x_seconds_sum 1\n",
                "buckets do not rise");
        assertRejected(
                head + "warden_x_seconds_bucket{le=\"1.0\"} 1\nwarden_x_seconds_count 1\nwarden_x_seconds_sum 1\n",
                "no +Inf bucket");
        assertRejected(
                head + "warden_x_seconds_bucket{le=\"+Inf\"} 2\nwarden_x_seconds_count 1\nwarden_x_seconds_sum 1\n",
                "_count is not the +Inf bucket");
    }

    @Test
    void rejectsMalformedLines() {
        assertRejected("# HELP warden_up u\n# TYPE warden_up gauge\nwarden_up{node=\"a} 1\n", "no closing quote");
        assertRejected("# HELP warden_up u\n# TYPE warden_up gauge\nwarden_up one\n", "is not a sample value");
        assertRejected(
                "# HELP warden_up u\n# TYPE warden_up gauge\n\nwarden_up 1\n", "neither # HELP, # TYPE nor a sample");
        assertRejected("# HELP warden_up u\n# TYPE warden_up gauge\nwarden_up 1", "does not end with a newline");
    }

    private static void assertRejected(String text, String reason) {
        assertThatThrownBy(() -> PrometheusText.parse(text))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining(reason);
    }
}
