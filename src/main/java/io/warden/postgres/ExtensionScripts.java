package io.warden.postgres;

import io.warden.cluster.ExtensionAllowlist;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The custom scripts pgextwlist runs, as the bootstrap superuser, around the script of an allowlisted extension
 * ({@code extwlist.custom_path/<extension>/before-create.sql} and so on). Pure: the agent writes what this returns.
 *
 * <p>Each script pins its own search_path first: pgextwlist runs it with the extension's target schema as the
 * search_path, a schema admin may own. And none uses {@code @extschema@} or {@code @current_user@}: the first is
 * substituted unescaped, so inside a string literal a schema name with a quote in it would end the literal, and the
 * second names the superuser, not the caller.
 *
 * <ul>
 *   <li>before every create and update: refuse when the schema the extension's script will run in (with that schema
 *       first on its search_path, as a superuser) holds a function or operator a non-superuser owns. One planted
 *       there with a better-matching signature than pg_catalog's would be bound into the extension's objects (a
 *       {@code <>} on {@code text[]} into pg_partman's CHECK constraint, say) and later run as whoever uses them,
 *       a superuser included: the classic trusted-extension attack.
 *   <li>before the create of an extension that works only from shared_preload_libraries, when its library is not
 *       there: refuse, naming the two commands that preload it.
 *   <li>after the create of postgres_fdw: the database's owner may use the wrapper (CREATE SERVER).
 * </ul>
 */
public final class ExtensionScripts {
    private ExtensionScripts() {}

    /** The script files for the allowlist, by path relative to the custom path. */
    public static Map<String, String> files(List<String> allowlist) {
        Map<String, String> files = new TreeMap<>();
        for (String name : allowlist) {
            files.put(name + "/before-create.sql", beforeCreate(name));
            files.put(name + "/before-update.sql", beforeUpdate(name));
            if (name.equals("postgres_fdw")) {
                files.put(name + "/after-create.sql", GRANT_FOREIGN_DATA_WRAPPER);
            }
        }
        return files;
    }

    static String beforeCreate(String name) {
        String target = "pg_catalog.current_schema()"; // the schema pgextwlist put on the search_path
        return block(
                name,
                target,
                plantedCheck(name, "create")
                        + ExtensionAllowlist.preloadLibrary(name)
                                .map(library -> preloadCheck(name, library))
                                .orElse(""));
    }

    static String beforeUpdate(String name) {
        // For an update pgextwlist's search_path is the caller's first schema, not the extension's: read that.
        String target = "(SELECT e.extnamespace::pg_catalog.regnamespace::pg_catalog.text"
                + " FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) '" + name + "')";
        return block(name, target, plantedCheck(name, "update"));
    }

    /** A DO block that reads the target schema, then pins the search_path, then runs {@code body}. */
    private static String block(String name, String target, String body) {
        return "-- Written by the Warden agent for pgextwlist; changes here are overwritten.\n"
                + "DO $warden$\n"
                + "DECLARE\n"
                + "    target text := " + target + ";\n"
                + "    planted text;\n"
                + "BEGIN\n"
                + "    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);\n"
                + body
                + "END\n"
                + "$warden$;\n";
    }

    private static String plantedCheck(String name, String action) {
        return """
                    IF target IS NOT NULL THEN
                        SELECT string_agg(planted_object, ', ' ORDER BY planted_object) INTO planted FROM (
                            SELECT p.oid::regprocedure::text AS planted_object
                            FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
                            WHERE p.pronamespace = target::regnamespace AND NOT r.rolsuper
                            UNION ALL
                            SELECT o.oid::regoperator::text
                            FROM pg_operator o JOIN pg_roles r ON r.oid = o.oprowner
                            WHERE o.oprnamespace = target::regnamespace AND NOT r.rolsuper) AS objects;
                    END IF;
                    IF planted IS NOT NULL THEN
                        RAISE EXCEPTION '%%', format(%s, target, planted)
                            USING ERRCODE = '42501',
                                  HINT = %s;
                    END IF;
                """.formatted(literal(plantedMessage(name, action)), literal(plantedHint(name, action)));
    }

    static String plantedMessage(String name, String action) {
        return action + " of extension \"" + name + "\" refused: its script runs as a superuser with schema %s first"
                + " on its search_path, and that schema holds functions or operators a role that is not a superuser"
                + " owns (%s), which the script could call in place of pg_catalog's";
    }

    static String plantedHint(String name, String action) {
        return action.equals("create")
                ? "Install it into a schema that holds none: CREATE SCHEMA " + name.replace('-', '_')
                        + "_ext; CREATE EXTENSION \"" + name + "\" SCHEMA " + name.replace('-', '_') + "_ext;"
                : "Move those functions and operators out of the extension's schema first.";
    }

    private static String preloadCheck(String name, String library) {
        return """
                    IF NOT %s = ANY (string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ',')) THEN
                        RAISE EXCEPTION '%%', format(%s,
                            array_to_string(array_append(array_remove(string_to_array(
                                replace(current_setting('shared_preload_libraries'), ' ', ''), ','), 'pgextwlist'), %s), ','))
                            USING ERRCODE = '55000',
                                  HINT = %s;
                    END IF;
                """.formatted(literal(library), literal(preloadMessage(name)), literal(library), literal(PRELOAD_HINT));
    }

    /** The refusal of an extension whose library is not preloaded; %s is the shared_preload_libraries to set. */
    static String preloadMessage(String name) {
        return "extension \"" + name + "\" works only when its library is loaded at server start: the operator runs"
                + " ./warden edit-config --pg shared_preload_libraries=%s and then ./warden restart --pending";
    }

    static final String PRELOAD_HINT =
            "shared_preload_libraries is in the cluster config; the rolling restart loads it on every node, replicas"
                    + " first. Then CREATE EXTENSION again.";

    private static final String GRANT_FOREIGN_DATA_WRAPPER = """
            -- Written by the Warden agent for pgextwlist; changes here are overwritten.
            DO $warden$
            BEGIN
                PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
                EXECUTE format('GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO %I',
                    (SELECT pg_get_userbyid(d.datdba) FROM pg_database d WHERE d.datname = current_database()));
            END
            $warden$;
            """;

    /** {@code text} as an SQL string literal. */
    private static String literal(String text) {
        return "'" + text.replace("'", "''") + "'";
    }
}
