package io.warden.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.ExtensionAllowlist;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExtensionScriptsTest {
    private static final Map<String, String> FILES = ExtensionScripts.files(ExtensionAllowlist.DEFAULT);

    @Test
    void everyAllowlistedExtensionIsGuardedOnCreateAndOnUpdate() {
        for (String name : ExtensionAllowlist.DEFAULT) {
            assertThat(FILES.get(name + "/before-create.sql")).as(name).contains("pg_operator", "pg_proc", "rolsuper");
            assertThat(FILES.get(name + "/before-update.sql"))
                    .as(name)
                    .contains("pg_operator", "pg_proc", "e.extname OPERATOR(pg_catalog.=) '" + name + "'");
        }
        assertThat(FILES.keySet())
                .allMatch(path -> ExtensionAllowlist.DEFAULT.contains(path.substring(0, path.indexOf('/'))));
    }

    @Test
    void everyScriptPinsItsSearchPathBeforeItReadsAnythingAndTakesNoUnescapedSubstitution() {
        for (Map.Entry<String, String> file : FILES.entrySet()) {
            String body = file.getValue().substring(file.getValue().indexOf("BEGIN"));
            assertThat(body.lines().skip(1).findFirst().orElseThrow().strip())
                    .as(file.getKey())
                    .isEqualTo("PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);");
            assertThat(file.getValue())
                    .as(file.getKey())
                    .doesNotContain("@extschema@", "@current_user@", "@database_owner@");
        }
    }

    @Test
    void anExtensionThatLoadsAtServerStartIsRefusedWithTheTwoCommandsThatPreloadIt() {
        assertThat(ExtensionScripts.preloadMessage("pg_cron"))
                .isEqualTo("extension \"pg_cron\" works only when its library is loaded at server start: the operator"
                        + " runs ./warden edit-config --pg shared_preload_libraries=%s and then ./warden restart"
                        + " --pending");
        for (String name : List.of("pg_cron", "pgaudit", "pg_stat_statements")) {
            assertThat(FILES.get(name + "/before-create.sql"))
                    .as(name)
                    .contains("IF NOT '" + name + "' = ANY")
                    .contains("array_remove(string_to_array(")
                    .contains("'pgextwlist'), '" + name + "')");
        }
        for (String name : List.of("hypopg", "pg_buffercache", "pg_partman", "postgres_fdw")) {
            assertThat(FILES.get(name + "/before-create.sql")).as(name).doesNotContain("shared_preload_libraries");
        }
    }

    @Test
    void postgresFdwIsUsableByTheDatabasesOwnerOnceCreated() {
        assertThat(FILES.get("postgres_fdw/after-create.sql"))
                .contains("GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO %I")
                .contains("pg_get_userbyid(d.datdba)");
        assertThat(FILES.keySet().stream().filter(f -> f.contains("after-")))
                .containsExactly("postgres_fdw/after-create.sql");
    }

    @Test
    void theAllowlistRefusalSaysItIsNotAllowedAndWhereTheAllowlistIsConfigured() {
        String function = ExtensionRefusal.STATEMENTS.stream()
                .filter(s -> s.contains("CREATE OR REPLACE FUNCTION"))
                .findFirst()
                .orElseThrow();
        assertThat(function)
                .contains("is not on this cluster''s extension allowlist")
                .contains("allowed_extensions in the cluster config")
                .contains("./warden edit-config --set allowed_extensions=")
                .contains("ERRCODE = '42501'")
                .contains("SET search_path = pg_catalog, pg_temp");
        assertThat(ExtensionRefusal.STATEMENTS.getLast()).contains("ON ddl_command_start", "'CREATE EXTENSION'");
    }
}
