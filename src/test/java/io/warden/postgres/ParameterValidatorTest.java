package io.warden.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.warden.postgres.GucNumbers.Unit;
import java.lang.reflect.Proxy;
import java.sql.Array;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rows below are copied from pg_settings of PostgreSQL 15 (initdb defaults, 8kB blocks). Each expected
 * acceptance or refusal of a value was checked against that server with ALTER SYSTEM SET, which runs the same
 * parser, and custom names against its postgresql.conf (pg_file_settings). Where Warden is stricter than postgres on
 * purpose the test says so: managed parameters, carriage returns, hidden enum aliases.
 */
class ParameterValidatorTest {
    private static final List<PgSetting> PG15_ROWS = List.of(
            row("application_name", "string", null, null, null, null, "user"),
            row("autovacuum_vacuum_cost_delay", "real", "ms", "-1", "100", null, "sighup"),
            row("block_size", "integer", null, "8192", "8192", null, "internal"),
            row("checkpoint_timeout", "integer", "s", "30", "86400", null, "sighup"),
            row("cursor_tuple_fraction", "real", null, "0", "1", null, "user"),
            row("fsync", "bool", null, null, null, null, "sighup"),
            row("huge_pages", "enum", null, null, null, "{off,on,try}", "postmaster"),
            row("jit_above_cost", "real", null, "-1", "1.79769e+308", null, "user"),
            row("log_connections", "bool", null, null, null, null, "superuser-backend"),
            row("log_rotation_age", "integer", "min", "0", "35791394", null, "sighup"),
            row("max_connections", "integer", null, "1", "262143", null, "postmaster"),
            row("max_wal_size", "integer", "MB", "2", "2147483647", null, "sighup"),
            row("password_encryption", "enum", null, null, null, "{md5,scram-sha-256}", "user"),
            row("default_toast_compression", "enum", null, null, null, "{pglz,lz4}", "user"),
            row("port", "integer", null, "1", "65535", null, "postmaster"),
            row("random_page_cost", "real", null, "0", "1.79769e+308", null, "user"),
            row("recovery_target_time", "string", null, null, null, null, "postmaster"),
            row("server_version", "string", null, null, null, null, "internal"),
            row("shared_buffers", "integer", "8kB", "16", "1073741823", null, "postmaster"),
            row("shared_preload_libraries", "string", null, null, null, null, "postmaster"),
            row("statement_timeout", "integer", "ms", "0", "2147483647", null, "user"),
            row("synchronous_commit", "enum", null, null, null, "{local,remote_write,remote_apply,on,off}", "user"),
            row("temp_file_limit", "integer", "kB", "-1", "2147483647", null, "superuser"),
            row("vacuum_cost_delay", "real", "ms", "0", "100", null, "user"),
            row("wal_buffers", "integer", "8kB", "-1", "262143", null, "postmaster"),
            row("wal_level", "enum", null, null, null, "{minimal,replica,logical}", "postmaster"),
            row("wal_segment_size", "integer", "B", "1048576", "1073741824", null, "internal"),
            row("work_mem", "integer", "kB", "64", "2147483647", null, "user"));

    private final ParameterValidator validator =
            new ParameterValidator(PG15_ROWS.stream().collect(Collectors.toMap(PgSetting::name, Function.identity())));

    private static PgSetting row(
            String name, String vartype, String unit, String min, String max, String enumvals, String context) {
        List<String> values = enumvals == null ? List.of() : ParameterValidator.arrayLiteral(enumvals);
        return new PgSetting(name, vartype, unit, min, max, values, context);
    }

    private void accepts(String name, String value) {
        assertThat(validator.problem(name, value)).as("%s = '%s'", name, value).isEmpty();
    }

    private String refuses(String name, String value) {
        return validator
                .problem(name, value)
                .orElseThrow(() -> new AssertionError(name + " = '" + value + "' was accepted"));
    }

    @Nested
    class Booleans {
        @ParameterizedTest
        @ValueSource(
                strings = {
                    "on", "off", "ON", "Off", "true", "TRUE", "false", "t", "f", "tr", "fa", "y", "ye", "yes", "n",
                    "no", "of", "1", "0"
                })
        void acceptsTheWordsAndTheirUniquePrefixes(String value) {
            accepts("fsync", value);
        }

        @ParameterizedTest
        // "o" could be on or off; postgres does not trim, so "of " and "1 " are not booleans.
        @ValueSource(strings = {"o", "onn", "", "of ", "1 ", "2", "-1", "yes!", "enable"})
        void refusesEverythingElse(String value) {
            assertThat(refuses("fsync", value))
                    .endsWith("is not a boolean (use on, off, true, false, yes, no, 1 or 0)");
        }

        @Test
        void quotesTheValueInTheReason() {
            assertThat(refuses("fsync", "maybe"))
                    .isEqualTo("fsync: \"maybe\" is not a boolean (use on, off, true, false, yes, no, 1 or 0)");
        }
    }

    @Nested
    class IntegersWithoutUnit {
        @ParameterizedTest
        // Hex and octal are strtol's; "1.5" and "1e3" are read as reals and rounded; space around is allowed.
        @ValueSource(
                strings = {
                    "1", "100", "262000", "+5", "0x10", "0X1f", "1.5", "1e3", "1E3", "1e+2", "5.", ".9", " 100", "100 "
                })
        void acceptsWhatPostgresReads(String value) {
            accepts("max_connections", value);
        }

        @Test
        void refusesBelowTheMinimum() {
            assertThat(refuses("max_connections", "0")).isEqualTo("max_connections: 0 is below the minimum 1");
        }

        @Test
        void refusesAboveTheMaximum() {
            assertThat(refuses("max_connections", "262144"))
                    .isEqualTo("max_connections: 262144 is above the maximum 262143");
        }

        @Test
        void showsTheNumberARoundedOrHexValueBecame() {
            assertThat(refuses("max_connections", "0.4")).isEqualTo("max_connections: 0.4 (0) is below the minimum 1");
            assertThat(refuses("max_connections", "0x0"))
                    .isEqualTo("max_connections: \"0x0\" (0) is below the minimum 1");
        }

        @Test
        void refusesAUnit() {
            assertThat(refuses("max_connections", "100kB"))
                    .isEqualTo("max_connections: \"100kB\" is not an integer (this parameter takes no unit)");
        }

        @ParameterizedTest
        // "08" is octal 0 then an 8; " .5" and "-.5" are not re-read as reals by parse_int; "1e" has no exponent.
        @ValueSource(
                strings = {
                    "", " ", "abc", "08", "0x", "1e", " .5", "-.5", "1 2", "inf", "nan", "1e400", "1e-310", "0x1p3"
                })
        void refusesWhatIsNotANumber(String value) {
            assertThat(refuses("max_connections", value))
                    .startsWith("max_connections: ")
                    .contains("is not an integer");
        }

        @ParameterizedTest
        @ValueSource(strings = {"2147483648", "-2147483649", "99999999999999999999", "1e10"})
        void refusesWhatDoesNotFitIn32Bits(String value) {
            assertThat(refuses("max_connections", value)).containsPattern("is (below|above) the (minimum|maximum)");
        }
    }

    @Nested
    class MemoryUnits {
        @ParameterizedTest
        @ValueSource(
                strings = {
                    "64",
                    "64kB",
                    "64 kB",
                    "64kB ",
                    " 64kB",
                    "65536B",
                    "1MB",
                    "64MB",
                    "1.5GB",
                    "1GB",
                    "1TB",
                    "0.0625MB",
                    "2147483647"
                })
        void acceptsSizesInRange(String value) {
            accepts("work_mem", value);
        }

        @ParameterizedTest
        // Unit names are case-sensitive in postgres: "64KB" and "64mb" are refused by the server too.
        @ValueSource(strings = {"64XB", "64KB", "64mb", "64 k B", "64kB x", "64kBs", "64kiB", "1s", "kB"})
        void refusesUnknownUnits(String value) {
            assertThat(refuses("work_mem", value))
                    .isEqualTo("work_mem: \"" + value + "\" is not a valid memory size"
                            + " (use a number with B, kB, MB, GB or TB; a bare number is in kB)");
        }

        @Test
        void namesTheBaseUnitInTheReason() {
            assertThat(refuses("work_mem", "32kB")).isEqualTo("work_mem: \"32kB\" is below the minimum 64kB");
            assertThat(refuses("work_mem", "32")).isEqualTo("work_mem: 32 (32kB) is below the minimum 64kB");
        }

        @Test
        void aLeadingZeroIsOctal() {
            accepts("work_mem", "0100"); // 64
            assertThat(refuses("work_mem", "077")).isEqualTo("work_mem: 077 (63kB) is below the minimum 64kB");
        }

        @Test
        void roundsToTheNearestWholeBaseUnitWithTiesToEven() {
            accepts("work_mem", "63.5"); // 64
            accepts("work_mem", "64.5"); // 64
            accepts("work_mem", "65535B"); // 63.999 kB
            assertThat(refuses("work_mem", "62.5")).isEqualTo("work_mem: 62.5 (62kB) is below the minimum 64kB");
            assertThat(refuses("work_mem", "63.4")).isEqualTo("work_mem: 63.4 (63kB) is below the minimum 64kB");
        }

        @Test
        void roundsAFractionOfAUnitToTheNextSmallerUnitFirst() {
            // 0.06MB is 61.44kB: postgres rounds to whole kB (61), not to the nearest base unit of the result.
            assertThat(refuses("work_mem", "0.06MB"))
                    .isEqualTo("work_mem: \"0.06MB\" (61kB) is below the minimum 64kB");
        }

        @Test
        void refusesWhatOverflowsThe32BitInteger() {
            assertThat(refuses("work_mem", "2TB"))
                    .isEqualTo("work_mem: \"2TB\" (2147483648kB) is above the maximum 2147483647kB");
        }

        @Test
        void convertsIntoBlocks() {
            accepts("shared_buffers", "128MB");
            accepts("shared_buffers", "128kB"); // 16 blocks, the minimum
            accepts("shared_buffers", "127kB"); // 15.875 blocks round to 16
            accepts("shared_buffers", "124kB"); // 15.5 rounds to even: 16
            assertThat(refuses("shared_buffers", "116kB")) // 14.5 rounds to even: 14
                    .isEqualTo("shared_buffers: \"116kB\" (14 × 8kB) is below the minimum 16 × 8kB");
            assertThat(refuses("shared_buffers", "8TB"))
                    .isEqualTo("shared_buffers: \"8TB\" (1073741824 × 8kB) is above the maximum 1073741823 × 8kB");
            assertThat(refuses("shared_buffers", "1kB")).contains("(0 × 8kB)");
        }

        @Test
        void aBareNumberForABlockSettingCountsBlocks() {
            assertThat(refuses("shared_buffers", "8"))
                    .isEqualTo("shared_buffers: 8 (8 × 8kB) is below the minimum 16 × 8kB");
            assertThat(refuses("shared_buffers", "8MiB")).endsWith("a bare number is in units of 8kB)");
        }

        @Test
        void acceptsMinusOneWhereItIsTheMinimum() {
            accepts("temp_file_limit", "-1");
            accepts("wal_buffers", "-1");
            assertThat(refuses("wal_buffers", "-2"))
                    .isEqualTo("wal_buffers: -2 (-2 × 8kB) is below the minimum -1 × 8kB");
        }

        @Test
        void megabyteSettingsTakeSmallerUnits() {
            accepts("max_wal_size", "1GB");
            accepts("max_wal_size", "2048kB");
            assertThat(refuses("max_wal_size", "1024kB"))
                    .isEqualTo("max_wal_size: \"1024kB\" (1MB) is below the minimum 2MB");
        }
    }

    @Nested
    class TimeUnits {
        @ParameterizedTest
        @ValueSource(strings = {"0", "5000", "5s", "1.5s", "1min", "1h", "1d", "24d", "500us", "1500us", "10 ms"})
        void acceptsDurationsInRange(String value) {
            accepts("statement_timeout", value);
        }

        @ParameterizedTest
        @ValueSource(strings = {"5 sec", "5S", "5m", "5mins", "1w", "5kB", "ms"})
        void refusesUnknownUnits(String value) {
            assertThat(refuses("statement_timeout", value))
                    .isEqualTo(
                            "statement_timeout: \"" + value
                                    + "\" is not a valid duration (use a number with us, ms, s, min, h or d; a bare number is in ms)");
        }

        @Test
        void refusesOutOfRangeInTheBaseUnit() {
            assertThat(refuses("statement_timeout", "-1ms"))
                    .isEqualTo("statement_timeout: \"-1ms\" is below the minimum 0ms");
            assertThat(refuses("statement_timeout", "25d"))
                    .isEqualTo("statement_timeout: \"25d\" (2160000000ms) is above the maximum 2147483647ms");
            assertThat(refuses("checkpoint_timeout", "2d"))
                    .isEqualTo("checkpoint_timeout: \"2d\" (172800s) is above the maximum 86400s");
        }

        @Test
        void roundsSmallerUnitsIntoTheBaseUnit() {
            accepts("checkpoint_timeout", "0.5min"); // 30s
            accepts("checkpoint_timeout", "29.5s"); // ties to even: 30s
            assertThat(refuses("checkpoint_timeout", "1500ms"))
                    .isEqualTo("checkpoint_timeout: \"1500ms\" (2s) is below the minimum 30s");
            assertThat(refuses("checkpoint_timeout", "29s"))
                    .isEqualTo("checkpoint_timeout: \"29s\" is below the minimum 30s");
        }

        @Test
        void minuteSettingsTakeHoursAndSeconds() {
            accepts("log_rotation_age", "1d");
            accepts("log_rotation_age", "90s");
            assertThat(refuses("log_rotation_age", "-1h"))
                    .isEqualTo("log_rotation_age: \"-1h\" (-60min) is below the minimum 0min");
        }
    }

    @Nested
    class Reals {
        @ParameterizedTest
        @ValueSource(strings = {"4", "1.1", "0", "1e3", "0x10", "0x1p3", ".5", "5.", " 2 "})
        void acceptsWhatStrtodReads(String value) {
            accepts("random_page_cost", value);
        }

        @ParameterizedTest
        @ValueSource(strings = {"", "abc", "nan", "1e400", "1e-400", "1,5", "4 x"})
        void refusesWhatIsNotANumber(String value) {
            assertThat(refuses("random_page_cost", value))
                    .isEqualTo("random_page_cost: \"" + value + "\" is not a number");
        }

        @Test
        void refusesAUnitWhereThereIsNone() {
            assertThat(refuses("random_page_cost", "4ms"))
                    .isEqualTo("random_page_cost: \"4ms\" is not a number (this parameter takes no unit)");
        }

        @Test
        void checksTheRangeWithoutRounding() {
            accepts("cursor_tuple_fraction", "0.5");
            assertThat(refuses("cursor_tuple_fraction", "1.5"))
                    .isEqualTo("cursor_tuple_fraction: 1.5 is above the maximum 1");
            assertThat(refuses("cursor_tuple_fraction", "1.0001")).contains("is above the maximum 1");
            assertThat(refuses("random_page_cost", "-0.1")).isEqualTo("random_page_cost: -0.1 is below the minimum 0");
            accepts("jit_above_cost", "-1");
        }

        @Test
        void infinityParsesButIsOutOfRange() {
            assertThat(refuses("random_page_cost", "inf")).contains("\"inf\" (Infinity) is above the maximum");
        }

        @Test
        void convertsTimeUnitsWithoutRoundingToAWholeBaseUnit() {
            accepts("vacuum_cost_delay", "2ms");
            accepts("vacuum_cost_delay", "0.5ms");
            accepts("vacuum_cost_delay", "500us");
            accepts("vacuum_cost_delay", "0.1s");
            assertThat(refuses("vacuum_cost_delay", "1s"))
                    .isEqualTo("vacuum_cost_delay: \"1s\" (1000ms) is above the maximum 100ms");
            accepts("autovacuum_vacuum_cost_delay", "-1");
        }
    }

    @Nested
    class Enums {
        @ParameterizedTest
        @CsvSource({
            "wal_level, replica",
            "wal_level, LOGICAL",
            "huge_pages, try",
            "synchronous_commit, remote_apply",
            "default_toast_compression, LZ4"
        })
        void acceptsTheListedValuesInAnyCase(String name, String value) {
            accepts(name, value);
        }

        @Test
        void refusesAWalLevelTooLowForReplication() {
            assertThat(refuses("wal_level", "Minimal")).contains("nothing for replicas to stream");
        }

        @Test
        void namesTheAllowedValues() {
            assertThat(refuses("wal_level", "full"))
                    .isEqualTo("wal_level: \"full\" is not one of minimal, replica, logical");
        }

        @ParameterizedTest
        // Enums match whole values only, without trimming or prefixes.
        @ValueSource(strings = {" replica", "replica ", "rep", ""})
        void refusesPartialValues(String value) {
            assertThat(refuses("wal_level", value)).endsWith("is not one of minimal, replica, logical");
        }

        @ParameterizedTest
        @ValueSource(strings = {"true", "FALSE", "yes", "no", "1", "0"})
        void anEnumWithOnAndOffTakesTheOtherBooleanSpellings(String value) {
            accepts("synchronous_commit", value);
            accepts("huge_pages", value);
        }

        @Test
        void booleanSpellingsAreNotPrefixesAndNotForOtherEnums() {
            assertThat(refuses("synchronous_commit", "t")).contains("is not one of");
            assertThat(refuses("default_toast_compression", "true"))
                    .isEqualTo("default_toast_compression: \"true\" is not one of pglz, lz4");
        }

        @Test
        void hiddenAliasesThatPgSettingsDoesNotListAreRefused() {
            // postgres still takes wal_level = hot_standby (for replica); we steer to the listed spelling.
            assertThat(refuses("wal_level", "hot_standby")).contains("is not one of minimal, replica, logical");
        }
    }

    @Nested
    class Strings {
        @ParameterizedTest
        @ValueSource(
                strings = {"", "warden", "with 'quotes' and \"doubles\"", "pg_stat_statements,auto_explain", "ünïcödé"})
        void acceptsAnythingOnOneLine(String value) {
            accepts("application_name", value);
        }

        @ParameterizedTest
        // postgres itself would take a carriage return, but a file with one is easily misread: refused too.
        @ValueSource(strings = {"a\nb", "a\rb", "a\0b", "trailing\n"})
        void refusesWhatCannotBeWrittenOnOneLine(String value) {
            assertThat(refuses("application_name", value))
                    .isEqualTo("application_name: the value contains a line break or NUL,"
                            + " which a config file cannot hold");
        }

        @Test
        void refusesAMissingValue() {
            assertThat(refuses("application_name", null)).isEqualTo("application_name: no value given");
        }
    }

    @Nested
    class Names {
        @Test
        void areCaseInsensitiveAndReportedInTheirOwnSpelling() {
            accepts("WORK_MEM", "64MB");
            assertThat(refuses("Work_Mem", "1kB")).isEqualTo("work_mem: \"1kB\" is below the minimum 64kB");
        }

        @Test
        void internalParametersAreReadOnly() {
            assertThat(refuses("block_size", "8192"))
                    .isEqualTo("block_size is read-only (it is fixed when postgres is built or initdb runs)");
            assertThat(refuses("server_version", "16")).contains("is read-only");
            assertThat(refuses("wal_segment_size", "16MB")).contains("is read-only");
        }

        @Test
        void unknownNamesGetTheClosestSuggestion() {
            assertThat(refuses("wrk_mem", "64MB"))
                    .isEqualTo("unknown parameter \"wrk_mem\" (did you mean \"work_mem\"?)");
            assertThat(refuses("shared_bufers", "1GB")).endsWith("(did you mean \"shared_buffers\"?)");
            assertThat(refuses("MAX_CONECTIONS", "10")).endsWith("(did you mean \"max_connections\"?)");
        }

        @Test
        void unknownNamesFarFromAnyGetNoSuggestion() {
            assertThat(refuses("completely_made_up", "1")).isEqualTo("unknown parameter \"completely_made_up\"");
        }

        @ParameterizedTest
        @ValueSource(
                strings = {"auto_explain.log_min_duration", "pg_stat_statements.max", "Custom.Setting", "_a._b", "x.y1"
                })
        void acceptsCustomNamesWithADotWhoseExtensionMayNotBeLoadedYet(String name) {
            accepts(name, "100ms");
        }

        @ParameterizedTest
        // postgresql.conf's lexer takes one dot between two identifiers, nothing else.
        @ValueSource(strings = {"a.b.c", ".a", "a.", "1a.b", "a.1b", "a$.b", "a-b.c", "a .b"})
        void refusesMalformedCustomNames(String name) {
            assertThat(refuses(name, "1")).startsWith("unknown parameter \"" + name + "\"");
        }

        @Test
        void aCustomValueMustStillFitOnOneLine() {
            assertThat(refuses("auto_explain.log_format", "json\n")).contains("line break");
        }
    }

    @Nested
    class Managed {
        @ParameterizedTest
        @ValueSource(
                strings = {
                    "port",
                    "listen_addresses",
                    "data_directory",
                    "hba_file",
                    "ident_file",
                    "config_file",
                    "primary_conninfo",
                    "primary_slot_name",
                    "synchronous_standby_names",
                    "hot_standby",
                    "ssl_cert_file",
                    "ssl_key_file",
                    "unix_socket_directories",
                    "restore_command",
                    "recovery_target",
                    "recovery_target_time",
                    "recovery_target_lsn",
                    "recovery_target_timeline",
                    "cluster_name",
                    "wal_log_hints",
                    "ssl",
                    "password_encryption",
                    "PORT",
                    "Hot_Standby"
                })
        void areRefusedWhateverTheValue(String name) {
            assertThat(ParameterValidator.isManaged(name)).isTrue();
            assertThat(refuses(name, "anything")).startsWith(name + ": managed by Warden (");
        }

        @Test
        void theReasonSaysWhereTheSettingComesFrom() {
            assertThat(refuses("port", "5433"))
                    .isEqualTo("port: managed by Warden (the node's port comes from its agent config)");
            assertThat(refuses("synchronous_standby_names", "*")).contains("synchronous_mode");
        }

        @ParameterizedTest
        @ValueSource(
                strings = {
                    "work_mem",
                    "hot_standby_feedback",
                    "synchronous_commit",
                    "recovery_min_apply_delay",
                    "ssl_ciphers",
                    "wal_level",
                    "max_wal_senders",
                    "port_x",
                    "auto_explain.log_min_duration"
                })
        void otherNamesAreNotManaged(String name) {
            assertThat(ParameterValidator.isManaged(name)).isFalse();
        }
    }

    @Nested
    class Restart {
        @Test
        void onlyPostmasterSettingsNeedARestart() {
            assertThat(validator.needsRestart("shared_buffers")).isTrue();
            assertThat(validator.needsRestart("SHARED_PRELOAD_LIBRARIES")).isTrue();
            assertThat(validator.needsRestart("wal_level")).isTrue();
            assertThat(validator.needsRestart("work_mem")).isFalse();
            assertThat(validator.needsRestart("fsync")).isFalse();
            assertThat(validator.needsRestart("log_connections")).isFalse(); // superuser-backend: new sessions
            assertThat(validator.needsRestart("block_size")).isFalse(); // internal: never changes
        }

        @Test
        void unknownAndCustomNamesDoNot() {
            assertThat(validator.needsRestart("wrk_mem")).isFalse();
            assertThat(validator.needsRestart("auto_explain.log_min_duration")).isFalse();
        }
    }

    @Nested
    class Units {
        @Test
        void convertsIntoTheSettingsBaseUnit() {
            Unit blocks = Unit.of("8kB").orElseThrow();
            assertThat(blocks.toBase(128, "MB")).hasValue(16384);
            assertThat(blocks.toBase(1, "GB")).hasValue(131072);
            assertThat(blocks.toBase(8192, "B")).hasValue(1);
            assertThat(Unit.of("kB").orElseThrow().toBase(1.5, "GB")).hasValue(1572864);
            assertThat(Unit.of("MB").orElseThrow().toBase(1, "TB")).hasValue(1048576);
            assertThat(Unit.of("ms").orElseThrow().toBase(1, "d")).hasValue(86_400_000);
            assertThat(Unit.of("s").orElseThrow().toBase(1.5, "min")).hasValue(90);
            assertThat(Unit.of("min").orElseThrow().toBase(90, "s").getAsDouble())
                    .isCloseTo(1.5, within(1e-9));
        }

        @Test
        void aFractionIsRoundedToTheNextSmallerUnit() {
            // 1.0001GB is 1048680.8576kB; postgres first rounds it to whole MB: 1024MB.
            assertThat(Unit.of("kB").orElseThrow().toBase(1.0001, "GB")).hasValue(1048576);
            // The smallest unit has nothing below it, so it stays fractional until the final rounding.
            assertThat(Unit.of("ms").orElseThrow().toBase(1500, "us")).hasValue(1.5);
        }

        @Test
        void unitNamesAreExactAndMayBeFollowedBySpace() {
            Unit kilobytes = Unit.of("kB").orElseThrow();
            assertThat(kilobytes.toBase(1, "MB  ")).hasValue(1024);
            assertThat(kilobytes.toBase(1, "mb")).isEmpty();
            assertThat(kilobytes.toBase(1, "MB x")).isEmpty();
            assertThat(kilobytes.toBase(1, "ms")).isEmpty();
        }

        @Test
        void unitlessSettingsHaveNone() {
            assertThat(Unit.of(null)).isEmpty();
            assertThat(Unit.of("")).isEmpty();
        }
    }

    @Nested
    class Loading {
        @Test
        void readsEnumvalsInTheirTextForm() throws Exception {
            assertThat(ParameterValidator.enumvals("{minimal,replica,logical}"))
                    .containsExactly("minimal", "replica", "logical");
            assertThat(ParameterValidator.enumvals("{md5,scram-sha-256}")).containsExactly("md5", "scram-sha-256");
            assertThat(ParameterValidator.enumvals("{\"a b\",\"c,d\",\"e\\\"f\"}"))
                    .containsExactly("a b", "c,d", "e\"f");
            assertThat(ParameterValidator.enumvals("{}")).isEmpty();
            assertThat(ParameterValidator.enumvals(null)).isEmpty();
        }

        @Test
        void readsEnumvalsAsAJdbcArray() throws Exception {
            assertThat(ParameterValidator.enumvals(textArray("off", "on", "try")))
                    .containsExactly("off", "on", "try");
        }

        /** pgjdbc hands text[] over as a java.sql.Array; only getArray is used. */
        private static Array textArray(String... values) {
            return (Array) Proxy.newProxyInstance(
                    Array.class.getClassLoader(), new Class<?>[] {Array.class}, (proxy, method, args) -> {
                        if (method.getName().equals("getArray") && args == null) {
                            return values.clone();
                        }
                        throw new UnsupportedOperationException(method.getName());
                    });
        }

        @Test
        void findsRowsWhateverTheMapKeys() {
            ParameterValidator byOtherKeys = new ParameterValidator(
                    Stream.of(PG15_ROWS.getLast()).collect(Collectors.toMap(s -> "key", Function.identity())));
            assertThat(byOtherKeys.problem("work_mem", "1kB")).contains("work_mem: \"1kB\" is below the minimum 64kB");
            assertThat(byOtherKeys.problem("key", "1")).isPresent();
        }

        @Test
        void refusesATypeItCannotCheck() {
            ParameterValidator future = new ParameterValidator(
                    Map.of("x", new PgSetting("new_thing", "interval", null, null, null, null, "user")));
            assertThat(future.problem("new_thing", "1")).contains("new_thing: cannot check a value of type interval");
        }
    }

    @Test
    void theExtensionAllowlistsSettingsAreRefusedWithTheConfigKeyThatSetsThemInstead() {
        for (String name : List.of("extwlist.extensions", "extwlist.custom_path", "EXTWLIST.Extensions")) {
            assertThat(refuses(name, "plpython3u"))
                    .as(name)
                    .isEqualTo(name + ": managed by Warden (" + ParameterValidator.EXTENSION_ALLOWLIST_REASON + ")")
                    .contains("allowed_extensions", "./warden edit-config");
        }
        accepts("shared_preload_libraries", "pg_stat_statements,pg_cron");
    }
}
