package io.warden.postgres;

import static java.util.Map.entry;
import static java.util.Objects.requireNonNull;

import io.warden.postgres.GucNumbers.Scanned;
import io.warden.postgres.GucNumbers.Unit;
import java.sql.Array;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Judges a postgres parameter before it is stored in the cluster's dynamic config, by the rules the server applies
 * when it reads postgresql.conf (guc.c), against the {@code pg_settings} of a running server. A value refused by the
 * server at start-up stops postgres, so this errs on the side of refusing. Immutable.
 *
 * <p>What it cannot judge: check hooks that run only inside the server (a time zone name, the syntax of
 * search_path, a library in shared_preload_libraries that is not installed, max_connections plus the worker counts
 * above 262143) pass here. Hidden enum aliases such as {@code wal_level = hot_standby} are refused although postgres
 * still takes them, because pg_settings does not list them; the boolean spellings of enums that have on and off are
 * the exception (see {@code enumeration}).
 */
public final class ParameterValidator {
    private static final String QUERY =
            "select name, vartype, unit, min_val, max_val, enumvals, context from pg_settings";

    /** Parameters the agent sets itself or whose files it places, and what to do instead. */
    private static final Map<String, String> MANAGED = Map.ofEntries(
            entry("port", "the node's port comes from its agent config"),
            entry("listen_addresses", "the node's host comes from its agent config"),
            entry("data_directory", "the node's data_dir comes from its agent config"),
            entry("hba_file", "the agent writes pg_hba.conf in the data directory"),
            entry(
                    "password_encryption",
                    "passwords are stored as scram-sha-256, the only password method pg_hba.conf accepts"),
            entry("ident_file", "the agent keeps pg_ident.conf in the data directory"),
            entry("config_file", "the agent keeps postgresql.conf in the data directory"),
            entry("primary_conninfo", "the agent points each replica at its upstream"),
            entry("primary_slot_name", "the agent gives each replica its own slot"),
            entry("synchronous_standby_names", "Warden picks the synchronous standbys; set synchronous_mode instead"),
            entry("hot_standby", "replicas must accept connections for the agent and the routers"),
            entry("ssl_cert_file", "the agent serves the node's certificate from its tls_dir (./warden up issues it)"),
            entry("ssl_key_file", "the agent serves the node's key from its tls_dir (./warden up issues it)"),
            entry("ssl_ca_file", "the agent trusts the deployment's CA, kept in the node's tls_dir"),
            entry("ssl_crl_file", "certificates are short-lived and re-issued by the deployment's CA"),
            entry("ssl_crl_dir", "certificates are short-lived and re-issued by the deployment's CA"),
            entry(
                    "ssl_passphrase_command",
                    "runs a shell command as the postgres user; the node's key needs no passphrase"),
            entry(
                    "archive_command",
                    "runs a shell command as the postgres user, so whoever may change the cluster config would run"
                            + " programs on every node; WAL archiving is not offered yet"),
            entry("archive_library", "loads a library into postgres; WAL archiving is not offered yet"),
            entry("unix_socket_directories", "the agent puts the socket in its work_dir"),
            entry("restore_command", "replicas are fed by streaming from their upstream, set up by the agent"),
            entry("cluster_name", "the agent names each node's processes after its member name"),
            entry("wal_log_hints", "pg_rewind needs it on to bring a former primary back"),
            entry("ssl", "the agent turns TLS on with the node's certificate"));

    /** pgextwlist's settings: the allowlist is a key of the cluster config of its own, checked as a whole. */
    static final String EXTENSION_ALLOWLIST_REASON =
            "the extension allowlist is the cluster config's allowed_extensions: ./warden edit-config --set"
                    + " allowed_extensions=NAME,NAME,...";

    private static final String RECOVERY_TARGET_REASON =
            "replicas must replay to the end of the newest timeline, and the agent sets recovery_target_timeline";

    /** A custom name as postgresql.conf's lexer takes it: exactly one dot (a.b.c is a syntax error there). */
    private static final Pattern CUSTOM_NAME =
            Pattern.compile("[A-Za-z_\\x{80}-\\x{10FFFF}][A-Za-z0-9_\\x{80}-\\x{10FFFF}]*"
                    + "\\.[A-Za-z_\\x{80}-\\x{10FFFF}][A-Za-z0-9_\\x{80}-\\x{10FFFF}]*");

    private static final List<String> BOOLEAN_WORDS = List.of("on", "off", "true", "false", "yes", "no");
    /** Hidden entries of every postgres enum that lists on and off (synchronous_commit, huge_pages, ...). */
    private static final Set<String> ENUM_BOOLEAN_ALIASES = Set.of("true", "false", "yes", "no", "1", "0");

    private static final Pattern PLAIN_NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?");

    private final SortedMap<String, PgSetting> settings;

    /** {@code settings} by any key; each row is found by its name, in any case. */
    public ParameterValidator(Map<String, PgSetting> settings) {
        requireNonNull(settings, "settings is null");
        TreeMap<String, PgSetting> byName = new TreeMap<>();
        settings.values().forEach(s -> byName.put(lower(s.name()), s));
        this.settings = Collections.unmodifiableSortedMap(byName);
    }

    /** Reads every row of pg_settings from the agent's own postgres. */
    public static ParameterValidator load(Sql sql) throws SQLException {
        Map<String, PgSetting> settings = new TreeMap<>();
        for (Map<String, Object> row : sql.query(QUERY)) {
            PgSetting setting = new PgSetting(
                    text(row.get("name")),
                    text(row.get("vartype")),
                    text(row.get("unit")),
                    text(row.get("min_val")),
                    text(row.get("max_val")),
                    enumvals(row.get("enumvals")),
                    text(row.get("context")));
            settings.put(setting.name(), setting);
        }
        return new ParameterValidator(settings);
    }

    /** Whether Warden sets {@code name} itself, so an operator may not. */
    public static boolean isManaged(String name) {
        return managedReason(lower(name)) != null;
    }

    /** Whether a change of {@code name} takes effect only after a restart; false for unknown and custom names. */
    public boolean needsRestart(String name) {
        PgSetting setting = settings.get(lower(name));
        return setting != null && setting.context().equals("postmaster");
    }

    /**
     * Empty when postgres would accept {@code value} for {@code name} in postgresql.conf (and Warden lets an operator
     * set it); otherwise one sentence saying what is wrong and what is allowed.
     */
    public Optional<String> problem(String name, String value) {
        requireNonNull(name, "name is null");
        String reason = managedReason(lower(name));
        if (reason != null) {
            return Optional.of(name + ": managed by Warden (" + reason + ")");
        }
        PgSetting setting = settings.get(lower(name));
        if (setting == null) {
            if (!CUSTOM_NAME.matcher(name).matches()) {
                return Optional.of("unknown parameter \"" + name + "\"" + suggestion(lower(name)));
            }
            // A custom name not in pg_settings is accepted: its extension may be loaded only after this change (by
            // shared_preload_libraries) and defines the parameter then; until then postgres keeps it as a placeholder.
            return unwritable(name, value);
        }
        if (setting.name().equals("wal_level") && lower(value).equals("minimal")) {
            return Optional.of("wal_level: \"minimal\" leaves nothing for replicas to stream; use replica or logical");
        }
        if (setting.context().equals("internal")) {
            return Optional.of(setting.name() + " is read-only (it is fixed when postgres is built or initdb runs)");
        }
        Optional<String> unwritable = unwritable(setting.name(), value);
        if (unwritable.isPresent()) {
            return unwritable;
        }
        return switch (setting.vartype()) {
            case "bool" -> bool(setting, value);
            case "integer" -> number(setting, value, true);
            case "real" -> number(setting, value, false);
            case "enum" -> enumeration(setting, value);
            case "string" -> Optional.empty(); // anything; only its check hook, inside postgres, can object
            // A type newer than this code: a value postgres refused at start-up would keep it down, so refuse.
            default -> Optional.of(setting.name() + ": cannot check a value of type " + setting.vartype());
        };
    }

    /** A value that cannot go into a config file at all: each setting is one line there. */
    private static Optional<String> unwritable(String name, String value) {
        if (value == null) {
            return Optional.of(name + ": no value given");
        }
        if (value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0 || value.indexOf('\0') >= 0) {
            return Optional.of(name + ": the value contains a line break or NUL, which a config file cannot hold");
        }
        return Optional.empty();
    }

    private static String managedReason(String lowerName) {
        if (lowerName.startsWith("extwlist.")) {
            return EXTENSION_ALLOWLIST_REASON;
        }
        return lowerName.startsWith("recovery_target") ? RECOVERY_TARGET_REASON : MANAGED.get(lowerName);
    }

    /** postgres's parse_bool: the words in any case, any unique prefix of them, and 1 or 0. */
    private static Optional<String> bool(PgSetting setting, String value) {
        String word = lower(value);
        // "o" is a prefix of both on and off, so postgres wants at least two letters of those.
        boolean prefix = !word.isEmpty()
                && BOOLEAN_WORDS.stream()
                        .anyMatch(w -> w.startsWith(word) && (word.length() >= 2 || !w.startsWith("o")));
        if (prefix || word.equals("1") || word.equals("0")) {
            return Optional.empty();
        }
        return Optional.of(
                setting.name() + ": " + shown(value) + " is not a boolean (use on, off, true, false, yes, no, 1 or 0)");
    }

    private static Optional<String> number(PgSetting setting, String value, boolean integer) {
        Optional<Unit> unit = Unit.of(setting.unit());
        String notValid = setting.name() + ": " + shown(value) + " is not "
                + unit.map(u -> u.memory() ? "a valid memory size" : "a valid duration")
                        .orElse(integer ? "an integer" : "a number");
        String choices = unit.map(u -> " (use a number with " + u.choices() + "; a bare number is in "
                        + (Character.isDigit(u.name().charAt(0)) ? "units of " : "") + u.name() + ")")
                .orElse("");
        Optional<Scanned> scanned = integer ? GucNumbers.scanInteger(value) : GucNumbers.scanReal(value);
        if (scanned.isEmpty()) {
            return Optional.of(notValid + choices);
        }
        double base = scanned.get().value();
        if (!scanned.get().rest().isEmpty()) {
            if (unit.isEmpty()) {
                boolean looksLikeUnit = Unit.of(scanned.get().rest().strip()).isPresent();
                return Optional.of(notValid + (looksLikeUnit ? " (this parameter takes no unit)" : ""));
            }
            OptionalDouble converted = unit.get().toBase(base, scanned.get().rest());
            if (converted.isEmpty()) {
                return Optional.of(notValid + choices);
            }
            base = converted.getAsDouble();
        }
        if (integer) {
            base = Math.rint(base); // to nearest, ties to even, as postgres's rint
        }
        return range(setting, value, base, integer);
    }

    /** {@code base} is {@code value} in the setting's base unit, which is what pg_settings' bounds are in. */
    private static Optional<String> range(PgSetting setting, String value, double base, boolean integer) {
        double minimum = bound(setting.minVal(), -Double.MAX_VALUE);
        double maximum = bound(setting.maxVal(), Double.MAX_VALUE);
        if (integer) { // postgres stores an integer setting in 32 bits, whatever the bounds say
            minimum = Math.max(minimum, Integer.MIN_VALUE);
            maximum = Math.min(maximum, Integer.MAX_VALUE);
        }
        String amount = amount(base, setting.unit());
        String written = shown(value) + (amount.equals(value.strip()) ? "" : " (" + amount + ")");
        if (base < minimum) {
            return Optional.of(
                    setting.name() + ": " + written + " is below the minimum " + amount(minimum, setting.unit()));
        }
        if (base > maximum) {
            return Optional.of(
                    setting.name() + ": " + written + " is above the maximum " + amount(maximum, setting.unit()));
        }
        return Optional.empty();
    }

    /** postgres compares enum values case-insensitively, and only exactly. */
    private static Optional<String> enumeration(PgSetting setting, String value) {
        List<String> allowed = setting.enumvals();
        if (allowed.stream().anyMatch(value::equalsIgnoreCase)) {
            return Optional.empty();
        }
        // Every postgres enum that lists on and off also takes true, false, yes, no, 1 and 0 in hidden entries
        // (synchronous_commit = true is common), though pg_settings does not show them.
        if (allowed.contains("on") && allowed.contains("off") && ENUM_BOOLEAN_ALIASES.contains(lower(value))) {
            return Optional.empty();
        }
        return Optional.of(setting.name() + ": " + shown(value) + " is not one of " + String.join(", ", allowed));
    }

    /** " (did you mean "work_mem"?)" for a near miss, else "". */
    private String suggestion(String lowerName) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : settings.keySet()) {
            int distance = editDistance(lowerName, candidate);
            if (distance < bestDistance) {
                best = candidate;
                bestDistance = distance;
            }
        }
        // Two edits catch a dropped or swapped letter; more would suggest unrelated names for short ones.
        return best != null && bestDistance <= Math.max(2, lowerName.length() / 5)
                ? " (did you mean \"" + settings.get(best).name() + "\"?)"
                : "";
    }

    private static int editDistance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[b.length()];
    }

    private static double bound(String text, double otherwise) {
        return text == null ? otherwise : Double.parseDouble(text);
    }

    /** "64kB", "100ms", "16 × 8kB", or a bare number for a setting without a unit. */
    private static String amount(double value, String unit) {
        String number = value == Math.rint(value) && Math.abs(value) < 1e15
                ? Long.toString((long) value)
                : Double.toString(value);
        if (unit == null || unit.isEmpty()) {
            return number;
        }
        return Character.isDigit(unit.charAt(0)) ? number + " × " + unit : number + unit;
    }

    /** A value as written: bare when it is a plain number, else in quotes. */
    private static String shown(String value) {
        return PLAIN_NUMBER.matcher(value).matches() ? value : "\"" + value + "\"";
    }

    private static String lower(String name) {
        return name.toLowerCase(Locale.ROOT);
    }

    private static String text(Object value) {
        return value == null ? null : value.toString();
    }

    /** pgjdbc returns text[] as a java.sql.Array; other paths may hand over its text form, "{a,b}". */
    static List<String> enumvals(Object value) throws SQLException {
        if (value == null) {
            return List.of();
        }
        if (value instanceof Array array) {
            return Arrays.stream((Object[]) array.getArray())
                    .map(String::valueOf)
                    .toList();
        }
        return arrayLiteral(value.toString());
    }

    /** The elements of a postgres array literal: "{a,\"b c\"}" is [a, b c]. */
    static List<String> arrayLiteral(String text) {
        String inner = text.strip();
        if (inner.startsWith("{") && inner.endsWith("}")) {
            inner = inner.substring(1, inner.length() - 1);
        }
        List<String> elements = new ArrayList<>();
        StringBuilder element = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < inner.length(); i++) {
            char c = inner.charAt(i);
            if (c == '\\' && i + 1 < inner.length()) {
                element.append(inner.charAt(++i));
            } else if (c == '"') {
                quoted = !quoted;
            } else if (c == ',' && !quoted) {
                elements.add(element.toString());
                element.setLength(0);
            } else {
                element.append(c);
            }
        }
        if (!inner.isEmpty()) {
            elements.add(element.toString());
        }
        return List.copyOf(elements);
    }
}
