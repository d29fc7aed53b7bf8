package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.warden.postgres.FakePostgres;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A bad value is logged and counted once per value, not once per loop: a minute of cycles says it once. */
class UnreadableValuesTest {
    private static final List<String> KEYS =
            List.of("config", "switchover", "sync", "history", "optime", "members/node-7");

    @TempDir
    Path dir;

    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final Logger logger = Logger.getLogger(UnreadableValues.class.getName());
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            lines.add(record.getMessage());
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    @BeforeEach
    void listen() {
        logger.addHandler(capture);
    }

    @AfterEach
    void stopListening() {
        logger.removeHandler(capture);
    }

    @Test
    void aMinuteWithABadValueInEveryKeyLogsAndCountsEachOnceAndANewValueOnceMore() throws IOException {
        AgentHarness harness = new AgentHarness(dir);
        Agent agent = harness.agent("node-1", new FakePostgres());
        agent.cycle();
        agent.cycle();
        KEYS.forEach(key -> harness.dcs.putRaw(key, "garbage in " + key));

        for (int second = 0; second < 60; second++) {
            harness.secondsPass(agent, 1);
            agent.cycle();
        }

        for (String key : KEYS) {
            assertThat(lines)
                    .as(key)
                    .filteredOn(l -> l.startsWith("DCS key " + key + " is unreadable"))
                    .hasSize(1);
        }
        assertThat(scrape(agent))
                .contains(
                        "warden_dcs_unreadable_total{key=\"config\"} 1.0",
                        "warden_dcs_unreadable_total{key=\"members\"} 1.0");

        harness.dcs.putRaw("config", "other garbage");
        agent.cycle();
        agent.cycle();

        assertThat(lines)
                .filteredOn(l -> l.startsWith("DCS key config is unreadable"))
                .hasSize(2);
        assertThat(scrape(agent)).contains("warden_dcs_unreadable_total{key=\"config\"} 2.0");
    }

    private static String scrape(Agent agent) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new PrometheusTextFormatWriter(false)
                .write(out, agent.metrics().registry().scrape());
        return out.toString(StandardCharsets.UTF_8);
    }
}
