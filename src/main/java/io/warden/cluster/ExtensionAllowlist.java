package io.warden.cluster;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The extensions the {@code admin} role may install although PostgreSQL requires a superuser for them: the cluster
 * config's {@code allowed_extensions}, which the agents hand to pgextwlist ({@code extwlist.extensions}). Extensions
 * PostgreSQL marks trusted (pgcrypto, hstore, citext, pg_trgm, uuid-ossp, ...) need no entry. Pure.
 *
 * <p>The hazard: pgextwlist runs the script of an allowlisted extension, and its update scripts, as the bootstrap
 * superuser. An entry is therefore a grant of whatever that script does; the extensions that hand out the server's
 * files or programs are refused here, whatever the operator asks (see {@link #NEVER}).
 */
public final class ExtensionAllowlist {
    private ExtensionAllowlist() {}

    /**
     * Warden's catalogue (docs/extensions.md): each installs as admin and is then usable as admin. Not pg_repack:
     * its server functions check for a superuser themselves, so admin could install it and never use it.
     */
    public static final List<String> DEFAULT = List.of(
            "hypopg", "pg_buffercache", "pg_cron", "pg_partman", "pg_stat_statements", "pgaudit", "postgres_fdw");

    /**
     * Extensions that work only from {@code shared_preload_libraries}, and the library each needs there. Warden
     * preloads pg_stat_statements by default; the others wait for the operator (a restart of every node).
     */
    public static final Map<String, String> PRELOAD =
            Map.of("pg_cron", "pg_cron", "pgaudit", "pgaudit", "pg_stat_statements", "pg_stat_statements");

    /** Never allowed, with the reason: each would give admin the server's files, programs or OS user. */
    public static final Map<String, String> NEVER = Map.of(
            "adminpack", "it writes and deletes the server's files",
            "file_fdw", "it reads the server's files and runs programs as the postgres OS user",
            "plperlu", "an untrusted language runs code as the postgres OS user",
            "plpython3u", "an untrusted language runs code as the postgres OS user",
            "plpythonu", "an untrusted language runs code as the postgres OS user",
            "plpython2u", "an untrusted language runs code as the postgres OS user",
            "pltclu", "an untrusted language runs code as the postgres OS user");

    /**
     * An extension's name as its control file's name has it; pgextwlist reads the list unquoted, so no comma, quote
     * or space.
     */
    private static final Pattern NAME = Pattern.compile("[a-z0-9_][a-z0-9_-]{0,62}");

    /** Every reason {@code names} cannot be the allowlist; empty when it can. */
    public static List<String> problems(List<String> names) {
        List<String> problems = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String name : names) {
            if (name == null || !NAME.matcher(name).matches()) {
                problems.add("allowed_extensions: " + (name == null ? "null" : "\"" + name + "\"")
                        + " is not an extension name (lower-case letters, digits, _ and -, as its control file is"
                        + " named)");
            } else if (NEVER.containsKey(name)) {
                problems.add("allowed_extensions: " + name + " cannot be allowed: " + NEVER.get(name)
                        + ", which no role but a superuser may have");
            } else if (!seen.add(name)) {
                problems.add("allowed_extensions: " + name + " is listed twice");
            }
        }
        return problems;
    }

    /** The library {@code extension} needs in shared_preload_libraries, if it needs one. */
    public static Optional<String> preloadLibrary(String extension) {
        return Optional.ofNullable(PRELOAD.get(extension));
    }

    /** The list as pgextwlist reads it: names separated by commas. */
    public static String setting(List<String> names) {
        return String.join(",", names);
    }

    /**
     * The names in a comma-separated list, as {@code warden edit-config --set allowed_extensions=a,b} gives it; an
     * empty element stays, for {@link #problems} to name.
     */
    public static List<String> parse(String text) {
        return text.isBlank()
                ? List.of()
                : java.util.Arrays.stream(text.split(",", -1))
                        .map(String::strip)
                        .toList();
    }
}
