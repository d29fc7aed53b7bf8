package io.warden.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.common.Json;
import java.util.List;
import org.junit.jupiter.api.Test;

class ExtensionAllowlistTest {
    @Test
    void wardensCatalogueIsAValidAllowlistAndTheDefaultOfAConfigThatNamesNone() throws Exception {
        assertThat(ExtensionAllowlist.problems(ExtensionAllowlist.DEFAULT)).isEmpty();
        assertThat(DynamicConfig.DEFAULTS.allowedExtensions()).isEqualTo(ExtensionAllowlist.DEFAULT);
        // A config stored before the key existed reads with the catalogue.
        var before = (com.fasterxml.jackson.databind.node.ObjectNode)
                Json.wire().valueToTree(new DynamicConfig(1024, java.util.Map.of("work_mem", "8MB")));
        before.remove("allowed_extensions");
        DynamicConfig stored = Json.wire().treeToValue(before, DynamicConfig.class);
        assertThat(stored.allowedExtensions()).isEqualTo(ExtensionAllowlist.DEFAULT);
        DynamicConfig roundTrip = Json.wire().readValue(Json.write(stored.withPause(true)), DynamicConfig.class);
        assertThat(roundTrip).isEqualTo(stored.withPause(true));
    }

    @Test
    void extensionsThatHandOutTheServersFilesOrProgramsCannotBeAllowedWhateverTheOperatorAsks() {
        assertThat(ExtensionAllowlist.problems(List.of("plpython3u", "adminpack", "file_fdw", "plperlu", "hypopg")))
                .containsExactly(
                        "allowed_extensions: plpython3u cannot be allowed: an untrusted language runs code as the"
                                + " postgres OS user, which no role but a superuser may have",
                        "allowed_extensions: adminpack cannot be allowed: it writes and deletes the server's files,"
                                + " which no role but a superuser may have",
                        "allowed_extensions: file_fdw cannot be allowed: it reads the server's files and runs programs"
                                + " as the postgres OS user, which no role but a superuser may have",
                        "allowed_extensions: plperlu cannot be allowed: an untrusted language runs code as the"
                                + " postgres OS user, which no role but a superuser may have");
    }

    @Test
    void aNameThatPgextwlistWouldSplitOrQuoteDifferentlyIsRefusedAndSoIsARepeat() {
        assertThat(ExtensionAllowlist.problems(
                        List.of("uuid-ossp", "pg cron", "Hypopg", "x,y", "", "hypopg", "hypopg")))
                .containsExactly(
                        "allowed_extensions: \"pg cron\" is not an extension name (lower-case letters, digits, _ and"
                                + " -, as its control file is named)",
                        "allowed_extensions: \"Hypopg\" is not an extension name (lower-case letters, digits, _ and"
                                + " -, as its control file is named)",
                        "allowed_extensions: \"x,y\" is not an extension name (lower-case letters, digits, _ and -,"
                                + " as its control file is named)",
                        "allowed_extensions: \"\" is not an extension name (lower-case letters, digits, _ and -, as"
                                + " its control file is named)",
                        "allowed_extensions: hypopg is listed twice");
    }

    @Test
    void theCommandLinesCommaSeparatedFormParsesIntoNamesAndKeepsAnEmptyOneToBeRefused() {
        assertThat(ExtensionAllowlist.parse(" hypopg, pg_cron ")).containsExactly("hypopg", "pg_cron");
        assertThat(ExtensionAllowlist.parse("")).isEmpty();
        assertThat(ExtensionAllowlist.parse("hypopg,,pg_cron")).containsExactly("hypopg", "", "pg_cron");
        assertThat(ExtensionAllowlist.setting(List.of("hypopg", "pg_cron"))).isEqualTo("hypopg,pg_cron");
    }

    @Test
    void onlyTheExtensionsThatLoadAtServerStartNameALibraryToPreload() {
        assertThat(ExtensionAllowlist.preloadLibrary("pg_cron")).contains("pg_cron");
        assertThat(ExtensionAllowlist.preloadLibrary("pgaudit")).contains("pgaudit");
        assertThat(ExtensionAllowlist.preloadLibrary("pg_stat_statements")).contains("pg_stat_statements");
        assertThat(ExtensionAllowlist.preloadLibrary("hypopg")).isEmpty();
    }
}
