package io.warden.postgres;

import java.util.List;

/**
 * Says why {@code CREATE EXTENSION} of an extension that is neither trusted nor allowlisted is refused, and where the
 * allowlist is configured: an event trigger at {@code ddl_command_start}, made by the superuser at bootstrap in the
 * cluster's database, {@code postgres} and {@code template1} (so every database made later from it has it too).
 *
 * <p>It only words the refusal: postgres refuses such an extension to a non-superuser anyway (42501, "permission
 * denied to create extension"), so the trigger failing, missing (a database made from template0) or not matching
 * changes nothing but the message. At ddl_command_start postgres does not say which extension is being created, so
 * the trigger reads the names from the statement's text ({@code current_query()}, comments removed); a name inside
 * a string literal of the same statement could be read as one too.
 */
final class ExtensionRefusal {
    private ExtensionRefusal() {}

    static final String NOT_ALLOWED = "extension \"%\" is not on this cluster's extension allowlist";

    static final String DETAIL =
            "admin may install the extensions PostgreSQL marks trusted and those on the allowlist (%); this one needs a"
                    + " superuser";

    static final String HINT = "The allowlist is allowed_extensions in the cluster config (validated by the agents);"
            + " the operator changes it with ./warden edit-config --set allowed_extensions=NAME,NAME,...";

    static final String NO_ALLOWLIST = "extension \"%\" needs a superuser, and this node has no extension allowlist:"
            + " the package postgresql-15-pgextwlist is not installed";

    static final List<String> STATEMENTS = List.of(
            "CREATE SCHEMA IF NOT EXISTS warden",
            "REVOKE ALL ON SCHEMA warden FROM PUBLIC",
            """
            CREATE OR REPLACE FUNCTION warden.refuse_unlisted_extension() RETURNS event_trigger
            LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
            DECLARE
                statement text;
                wanted text;
                allowlist text := current_setting('extwlist.extensions', true);
            BEGIN
                IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                    RETURN;
                END IF;
                statement := regexp_replace(current_query(), '--[^\\n]*|/\\*.*?\\*/', ' ', 'g');
                FOR wanted IN
                    SELECT CASE WHEN m[2] IS NOT NULL THEN replace(m[2], '""', '"') ELSE lower(m[3]) END
                    FROM regexp_matches(statement,
                        '\\mcreate\\s+extension\\s+(if\\s+not\\s+exists\\s+)?(?:"((?:[^"]|"")+)"|([a-z_][a-z0-9_$-]*))',
                        'gi') AS m
                LOOP
                    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_available_extension_versions WHERE name = wanted)
                        OR EXISTS (SELECT 1 FROM pg_available_extension_versions WHERE name = wanted AND trusted)
                        OR EXISTS (SELECT 1 FROM pg_extension WHERE extname = wanted)
                        OR wanted = ANY (string_to_array(replace(coalesce(allowlist, ''), ' ', ''), ','));
                    IF allowlist IS NULL THEN
                        RAISE EXCEPTION '%s', wanted USING ERRCODE = '42501';
                    END IF;
                    RAISE EXCEPTION '%s', wanted
                        USING ERRCODE = '42501', DETAIL = format('%s', allowlist), HINT = '%s';
                END LOOP;
            END
            $$
            """.formatted(sql(NO_ALLOWLIST), sql(NOT_ALLOWED), sql(DETAIL.replace("%", "%s")), sql(HINT)),
            "REVOKE ALL ON FUNCTION warden.refuse_unlisted_extension() FROM PUBLIC",
            "DROP EVENT TRIGGER IF EXISTS warden_extension_allowlist",
            "CREATE EVENT TRIGGER warden_extension_allowlist ON ddl_command_start"
                    + " WHEN TAG IN ('CREATE EXTENSION') EXECUTE FUNCTION warden.refuse_unlisted_extension()");

    /** {@code text} for inside an SQL string literal. */
    private static String sql(String text) {
        return text.replace("'", "''");
    }
}
