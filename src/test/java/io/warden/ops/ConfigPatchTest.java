package io.warden.ops;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.SyncMode;
import io.warden.common.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ConfigPatchTest {
    private static final DynamicConfig CURRENT =
            new DynamicConfig(1 << 20, SyncMode.OFF, 1, false, Map.of("work_mem", "4MB"));

    private static ConfigPatch.Result apply(String json) throws Exception {
        JsonNode patch = Json.json().readTree(json);
        return ConfigPatch.apply(
                CURRENT,
                patch,
                (name, value) -> name.equals("max_connections") && value.equals("0")
                        ? Optional.of("max_connections: 0 is below 1")
                        : Optional.empty());
    }

    @Test
    void mergesAndRemoves() throws Exception {
        ConfigPatch.Result r = apply(
                "{\"synchronous_mode\": \"strict\", \"postgresql\": {\"parameters\": {\"work_mem\": null, \"shared_buffers\": \"256MB\"}}}");

        assertThat(r.problems()).isEmpty();
        assertThat(r.config().get().synchronousMode()).isEqualTo(SyncMode.STRICT);
        assertThat(r.config().get().parameters()).containsExactly(Map.entry("shared_buffers", "256MB"));
    }

    @Test
    void booleansAndNumbersBecomePostgresText() throws Exception {
        ConfigPatch.Result r =
                apply("{\"parameters\": {\"log_connections\": true, \"max_wal_size\": 2048}, \"pause\": true}");

        assertThat(r.config().get().parameters())
                .containsEntry("log_connections", "on")
                .containsEntry("max_wal_size", "2048");
        assertThat(r.config().get().pause()).isTrue();
    }

    @Test
    void everyProblemIsReportedAndNothingIsProduced() throws Exception {
        ConfigPatch.Result r =
                apply("{\"synchronous_mode\": \"sometimes\", \"synchronous_node_count\": 0, \"pause\": \"yes\","
                        + " \"maximum_lag_on_failover\": -1, \"parameters\": {\"max_connections\": 0}}");

        assertThat(r.config()).isEmpty();
        assertThat(r.problems()).hasSize(5);
        assertThat(String.join("\n", r.problems()))
                .contains("not one of off, on, strict")
                .contains("below 1");
    }

    @Test
    void unknownKeysAndMalformedBodiesAreRefused() throws Exception {
        assertThat(apply("{\"ttl\": 5}").problems()).singleElement().asString().contains("unknown key 'ttl'");
        assertThat(apply("[1]").problems()).singleElement().asString().contains("JSON object");
        List<String> problems = new ArrayList<>();
        assertThat(ConfigPatch.parse("{\"pause\": tru", problems)).isEmpty();
        assertThat(problems).singleElement().asString().contains("not valid JSON");
    }

    @Test
    void aSynchronousCommitThatSkipsTheStandbyIsRefusedWhileSynchronousModeIsOn() throws Exception {
        ConfigPatch.Result off =
                apply("{\"synchronous_mode\": \"on\", \"parameters\": {\"synchronous_commit\": \"off\"}}");
        ConfigPatch.Result local =
                apply("{\"synchronous_mode\": \"strict\", \"parameters\": {\"synchronous_commit\": \"local\"}}");
        ConfigPatch.Result remoteWrite =
                apply("{\"synchronous_mode\": \"on\", \"parameters\": {\"synchronous_commit\": \"remote_write\"}}");
        ConfigPatch.Result asynchronous = apply("{\"parameters\": {\"synchronous_commit\": \"off\"}}");

        assertThat(off.problems())
                .singleElement()
                .asString()
                .contains("synchronous_commit")
                .contains("off")
                .contains("synchronous_mode");
        assertThat(local.problems()).singleElement().asString().contains("local");
        assertThat(remoteWrite.problems()).isEmpty();
        assertThat(asynchronous.problems()).isEmpty();
    }

    @Test
    void theExtensionAllowlistIsSetAsAListOrACommaSeparatedStringAndNullRestoresWardensCatalogue() throws Exception {
        assertThat(apply("{\"allowed_extensions\": [\"hypopg\", \"pg_cron\"]}")
                        .config()
                        .get()
                        .allowedExtensions())
                .containsExactly("hypopg", "pg_cron");
        ConfigPatch.Result fromCommandLine = apply("{\"allowed_extensions\": \"hypopg, pg_cron\"}");
        assertThat(fromCommandLine.config().get().allowedExtensions()).containsExactly("hypopg", "pg_cron");
        assertThat(ConfigPatch.view(fromCommandLine.config().get()))
                .containsEntry("allowed_extensions", List.of("hypopg", "pg_cron"));
        assertThat(apply("{\"allowed_extensions\": null}").config().get().allowedExtensions())
                .isEqualTo(io.warden.cluster.ExtensionAllowlist.DEFAULT);
        assertThat(apply("{\"allowed_extensions\": []}").config().get().allowedExtensions())
                .isEmpty();
    }

    @Test
    void anAllowlistWithAnUntrustedLanguageOrAMalformedValueIsRefusedAsAWhole() throws Exception {
        ConfigPatch.Result language = apply("{\"allowed_extensions\": [\"hypopg\", \"plpython3u\"], \"pause\": true}");
        assertThat(language.ok()).isFalse();
        assertThat(language.config()).isEmpty();
        assertThat(language.problems()).singleElement().asString().contains("plpython3u cannot be allowed");
        assertThat(apply("{\"allowed_extensions\": [1]}").problems())
                .containsExactly("allowed_extensions: every element must be a name, not 1");
        assertThat(apply("{\"allowed_extensions\": {\"a\": 1}}").problems())
                .singleElement()
                .asString()
                .startsWith("allowed_extensions must be a list of extension names");
    }

    @Test
    void theIntendedSizeAndTheRepairGracePeriodsAreSetAndShownWithTheirDefaults() throws Exception {
        ConfigPatch.Result r = apply("{\"replicas\": 3, \"repair\": {\"host_gone\": \"5s\"}}");

        assertThat(r.problems()).isEmpty();
        assertThat(r.config().get().replicas()).isEqualTo(3);
        assertThat(r.config().get().repair()).containsExactly(Map.entry("host_gone", "5s"));
        @SuppressWarnings("unchecked")
        Map<String, String> shown =
                (Map<String, String>) ConfigPatch.view(r.config().get()).get("repair");
        assertThat(shown).containsEntry("host_gone", "5s").containsEntry("host_isolated", "15s");
        assertThat(ConfigPatch.view(CURRENT)).containsEntry("replicas", 2);
    }

    @Test
    void aGracePeriodOfZeroOrBelowAnUnknownConditionAndFewerThanOneReplicaAreRefusedWithTheirReasons()
            throws Exception {
        ConfigPatch.Result r = apply("{\"replicas\": 0, \"repair\": {\"host_gone\": \"0s\", \"cloning\": \"-1m\","
                + " \"disk_sad\": \"5s\"}}");

        assertThat(r.config()).isEmpty();
        assertThat(String.join("\n", r.problems()))
                .contains("replicas 0 would leave the primary without a copy")
                .contains("repair.host_gone must be longer than 0")
                .contains("repair.cloning: not a duration")
                .contains("unknown setting 'disk_sad'");
    }

    @Test
    void noReplicaAtAllIsStoredOnlyWhenForcedAndNeverFewerThanNone() throws Exception {
        JsonNode none = Json.json().readTree("{\"replicas\": 0}");
        JsonNode negative = Json.json().readTree("{\"replicas\": -1}");

        ConfigPatch.Result refused = ConfigPatch.apply(CURRENT, none, (n, v) -> Optional.empty());
        ConfigPatch.Result forced = ConfigPatch.apply(CURRENT, none, (n, v) -> Optional.empty(), true);
        ConfigPatch.Result below = ConfigPatch.apply(CURRENT, negative, (n, v) -> Optional.empty(), true);

        assertThat(refused.problems()).singleElement().asString().contains("pass --force");
        assertThat(forced.problems()).isEmpty();
        assertThat(forced.config().orElseThrow().replicas()).isZero();
        assertThat(below.problems()).singleElement().asString().contains("from 1 to 16");
        String stored = Json.write(forced.config().orElseThrow());
        assertThat(Json.wire()
                        .readValue(stored, io.warden.cluster.DynamicConfig.class)
                        .replicas())
                .as("0 read back as 0, not as the default a config without the field gets")
                .isZero();
    }

    @Test
    void theHourlyRepairLimitIsAWholeNumberAboveZeroAndIsShownWithTheQuarantineInHours() throws Exception {
        ConfigPatch.Result set = apply("{\"repair\": {\"max_per_hour\": 20}}");
        ConfigPatch.Result zero = apply("{\"repair\": {\"max_per_hour\": 0}}");
        ConfigPatch.Result text = apply("{\"repair\": {\"max_per_hour\": \"many\"}}");

        assertThat(set.problems()).isEmpty();
        assertThat(io.warden.cluster.RepairSettings.maxPerHour(
                        set.config().get().repair()))
                .isEqualTo(20);
        assertThat(zero.problems()).singleElement().asString().contains("max_per_hour must be a whole number");
        assertThat(text.problems()).singleElement().asString().contains("not 'many'");
        @SuppressWarnings("unchecked")
        Map<String, String> shown =
                (Map<String, String>) ConfigPatch.view(CURRENT).get("repair");
        assertThat(shown).containsEntry("max_per_hour", "6").containsEntry("quarantine", "168h");
    }

    @Test
    void scalingSettingsMergeWithTheStoredOnesAndShowEveryNameWithItsDefault() throws Exception {
        ConfigPatch.Result first = apply("{\"scaling\": {\"unit_disk\": \"256MiB\", \"max_units\": 8}}");
        assertThat(first.problems()).isEmpty();

        ConfigPatch.Result second = ConfigPatch.apply(
                first.config().get(),
                Json.json().readTree("{\"scaling\": {\"units\": 3, \"max_units\": null}}"),
                (n, v) -> Optional.empty());

        assertThat(second.problems()).isEmpty();
        assertThat(second.config().get().scaling())
                .containsExactlyInAnyOrderEntriesOf(Map.of("unit_disk", "256MiB", "units", "3"));
        assertThat(second.config().get().scalingSettings().disk(3)).isEqualTo(768L << 20);
        @SuppressWarnings("unchecked")
        Map<String, String> shown =
                (Map<String, String>) ConfigPatch.view(second.config().get()).get("scaling");
        assertThat(shown)
                .containsEntry("units", "3")
                .containsEntry("max_units", "16")
                .containsEntry("memory_ratio", "1:10")
                .containsEntry("interval", "1h");
    }

    @Test
    void unitsAboveTheMaximumAZeroUnitAndAnUnknownNameAreRefusedAndNothingChanges() throws Exception {
        ConfigPatch.Result above = apply("{\"scaling\": {\"units\": 20}}");
        ConfigPatch.Result zero = apply("{\"scaling\": {\"unit_disk\": \"0\"}}");
        ConfigPatch.Result unknown = apply("{\"scaling\": {\"unit_ram\": \"1GiB\"}, \"replicas\": 3}");
        ConfigPatch.Result thresholds = apply("{\"scaling\": {\"trigger_free\": \"40%\"}}");

        assertThat(above.config()).isEmpty();
        assertThat(String.join("\n", above.problems()))
                .contains("scaling.units 20 is outside min_units 1 to max_units 16");
        assertThat(zero.config()).isEmpty();
        assertThat(String.join("\n", zero.problems()))
                .contains("scaling.unit_disk")
                .contains("at least 16MiB");
        assertThat(unknown.config()).isEmpty();
        assertThat(String.join("\n", unknown.problems())).contains("unknown setting 'unit_ram'");
        assertThat(String.join("\n", thresholds.problems())).contains("emergency_free < trigger_free < target_free");
    }
}
