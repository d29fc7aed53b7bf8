package io.warden.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.ExtensionAllowlist;
import io.warden.cluster.RepairSettings;
import io.warden.cluster.ScalingSettings;
import io.warden.cluster.SyncMode;
import io.warden.common.Json;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiFunction;

/**
 * Applies an operator's change to the dynamic config, as a JSON merge patch (RFC 7386: a key set to null is
 * removed), and validates the result as a whole before anything is written. Pure: parameter values are checked
 * through the function it is given (the agent's {@code pg_settings}-based validator).
 *
 * <p>Accepted keys: {@code maximum_lag_on_failover}, {@code synchronous_mode}, {@code synchronous_node_count},
 * {@code pause}, {@code parameters}, and Patroni's spelling {@code postgresql.parameters} for the latter, and
 * {@code allowed_extensions} (a JSON array of names or one comma-separated string; null restores Warden's catalogue),
 * {@code replicas} (the intended number beside the primary, at least 1), {@code auto_repair} (true or false),
 * {@code repair} (grace periods by condition, see {@link RepairSettings}; a name set to null gets its default back)
 * and {@code scaling} (units and policy, see {@link ScalingSettings}, checked as a whole with what is stored).
 */
public final class ConfigPatch {
    private ConfigPatch() {}

    private static final Set<String> KEYS = Set.of(
            "maximum_lag_on_failover",
            "synchronous_mode",
            "synchronous_node_count",
            "pause",
            "parameters",
            "postgresql",
            "allowed_extensions",
            "replicas",
            "repair",
            "auto_repair",
            "scaling");

    /** The patched config, or every reason it was refused. */
    public record Result(Optional<DynamicConfig> config, List<String> problems) {
        public boolean ok() {
            return problems.isEmpty();
        }
    }

    /**
     * @param check returns why a parameter value is invalid, or empty when it is fine
     */
    public static Result apply(
            DynamicConfig current, JsonNode patch, BiFunction<String, String, Optional<String>> check) {
        return apply(current, patch, check, false);
    }

    /**
     * @param check returns why a parameter value is invalid, or empty when it is fine
     * @param force allow what is refused only to keep the cluster from harming itself: {@code replicas: 0}, a
     *     primary alone
     */
    public static Result apply(
            DynamicConfig current, JsonNode patch, BiFunction<String, String, Optional<String>> check, boolean force) {
        List<String> problems = new ArrayList<>();
        if (patch == null || !patch.isObject()) {
            return new Result(
                    Optional.empty(),
                    List.of("the body must be a JSON object, e.g. {\"parameters\": {\"work_mem\": \"8MB\"}}"));
        }
        ObjectNode body = ((ObjectNode) patch).deepCopy();
        JsonNode postgresql = body.remove("postgresql");
        if (postgresql != null) {
            if (!postgresql.isObject() || postgresql.size() != 1 || !postgresql.has("parameters")) {
                problems.add("'postgresql' may only hold 'parameters'");
            } else if (body.has("parameters")) {
                problems.add("give parameters either as 'parameters' or as 'postgresql.parameters', not both");
            } else {
                body.set("parameters", postgresql.get("parameters"));
            }
        }
        for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!KEYS.contains(name)) {
                problems.add("unknown key '" + name + "'; known keys: " + new java.util.TreeSet<>(KEYS));
            }
        }
        if (!problems.isEmpty()) {
            return new Result(Optional.empty(), problems);
        }

        long maxLag = current.maximumLagOnFailover();
        SyncMode mode = current.synchronousMode();
        int count = current.synchronousNodeCount();
        boolean pause = current.pause();
        Map<String, String> parameters = new TreeMap<>(current.parameters());
        List<String> extensions = current.allowedExtensions();
        int replicas = current.replicas();
        boolean autoRepair = current.autoRepair();
        Map<String, String> repair = new TreeMap<>(current.repair());
        Map<String, String> scaling = new TreeMap<>(current.scaling());

        if (body.has("maximum_lag_on_failover")) {
            JsonNode v = body.get("maximum_lag_on_failover");
            if (v.isNull()) {
                maxLag = DynamicConfig.DEFAULTS.maximumLagOnFailover();
            } else if (!(v.isIntegralNumber() && v.canConvertToLong() || isIntegerText(v)) || asLong(v) < 0) {
                problems.add("maximum_lag_on_failover must be a whole number of bytes >= 0, not " + v);
            } else {
                maxLag = asLong(v);
            }
        }
        if (body.has("synchronous_mode")) {
            JsonNode v = body.get("synchronous_mode");
            try {
                mode = v.isNull() ? SyncMode.OFF : SyncMode.parse(v.isBoolean() ? v.asBoolean() : v.asText());
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
        }
        if (body.has("synchronous_node_count")) {
            JsonNode v = body.get("synchronous_node_count");
            if (v.isNull()) {
                count = 1;
            } else if (!(v.isIntegralNumber() || isIntegerText(v)) || asLong(v) < 1 || asLong(v) > 16) {
                problems.add("synchronous_node_count must be a whole number from 1 to 16, not " + v);
            } else {
                count = (int) asLong(v);
            }
        }
        if (body.has("pause")) {
            JsonNode v = body.get("pause");
            if (v.isNull()) {
                pause = false;
            } else if (v.isBoolean()) {
                pause = v.asBoolean();
            } else {
                problems.add("pause must be true or false, not " + v);
            }
        }
        if (body.has("parameters")) {
            JsonNode v = body.get("parameters");
            if (v.isNull()) {
                parameters.clear();
            } else if (!v.isObject()) {
                problems.add("parameters must be an object of name to value, not " + v);
            } else {
                for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    String name = e.getKey().toLowerCase(java.util.Locale.ROOT);
                    JsonNode value = e.getValue();
                    if (value.isNull()) {
                        parameters.remove(name);
                        continue;
                    }
                    if (value.isContainerNode()) {
                        problems.add(name + ": a value must be a string, number or boolean, not " + value);
                        continue;
                    }
                    String text = value.getNodeType() == JsonNodeType.BOOLEAN
                            ? (value.asBoolean() ? "on" : "off")
                            : value.asText();
                    check.apply(name, text).ifPresentOrElse(problems::add, () -> parameters.put(name, text));
                }
            }
        }
        if (body.has("allowed_extensions")) {
            Optional<List<String>> names = extensionNames(body.get("allowed_extensions"), problems);
            if (names.isPresent()) {
                List<String> wrong = ExtensionAllowlist.problems(names.get());
                problems.addAll(wrong);
                extensions = wrong.isEmpty() ? names.get() : extensions;
            }
        }
        if (body.has("replicas")) {
            JsonNode v = body.get("replicas");
            if (v.isNull()) {
                replicas = RepairSettings.DEFAULT_REPLICAS;
            } else if (!(v.isIntegralNumber() || isIntegerText(v)) || asLong(v) > 16) {
                problems.add(
                        "replicas must be a whole number from 1 to 16 (the replicas beside the primary), not " + v);
            } else if (asLong(v) < 0) {
                problems.add(
                        "replicas must be a whole number from 1 to 16 (the replicas beside the primary), not " + v);
            } else if (asLong(v) < 1 && !force) {
                // One node alone has no copy to fail over to, nor one a repair could clone from.
                problems.add("replicas " + v + " would leave the primary without a copy to fail over to or to repair"
                        + " from; keep at least 1 (or pass --force to run the primary alone)");
            } else {
                replicas = (int) asLong(v);
            }
        }
        if (body.has("auto_repair")) {
            JsonNode v = body.get("auto_repair");
            if (v.isNull()) {
                autoRepair = true;
            } else if (v.isBoolean()) {
                autoRepair = v.asBoolean();
            } else {
                problems.add("auto_repair must be true or false, not " + v);
            }
        }
        if (body.has("repair")) {
            JsonNode v = body.get("repair");
            if (v.isNull()) {
                repair.clear();
            } else if (!v.isObject()) {
                problems.add(
                        "repair must be an object of condition name to grace period, e.g. {\"host_gone\": \"10s\"},"
                                + " not " + v);
            } else {
                Map<String, String> wanted = new TreeMap<>();
                for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (e.getValue().isNull()) {
                        repair.remove(e.getKey());
                    } else if (e.getValue().isContainerNode()) {
                        problems.add(
                                "repair." + e.getKey() + " must be a duration such as \"10s\", not " + e.getValue());
                    } else {
                        wanted.put(e.getKey(), e.getValue().asText());
                    }
                }
                List<String> wrong = RepairSettings.problems(wanted);
                problems.addAll(wrong);
                repair.putAll(wrong.isEmpty() ? wanted : Map.of());
            }
        }
        if (body.has("scaling")) {
            JsonNode v = body.get("scaling");
            if (v.isNull()) {
                scaling.clear();
            } else if (!v.isObject()) {
                problems.add("scaling must be an object of setting name to value, e.g. {\"max_units\": 8}, not " + v);
            } else {
                Map<String, String> wanted = new TreeMap<>(scaling);
                for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
                    Map.Entry<String, JsonNode> e = it.next();
                    if (e.getValue().isNull()) {
                        wanted.remove(e.getKey());
                    } else if (e.getValue().isContainerNode()) {
                        problems.add("scaling." + e.getKey() + " must be a value such as \"2GiB\" or 8, not "
                                + e.getValue());
                    } else {
                        wanted.put(e.getKey(), e.getValue().asText());
                    }
                }
                List<String> wrong = ScalingSettings.problems(wanted);
                problems.addAll(wrong);
                if (wrong.isEmpty()) {
                    scaling = wanted;
                }
            }
        }
        String commit = parameters.getOrDefault("synchronous_commit", "on").toLowerCase(java.util.Locale.ROOT);
        if (mode != SyncMode.OFF
                && (commit.equals("off")
                        || commit.equals("local")
                        || commit.equals("false")
                        || commit.equals("no")
                        || commit.equals("0"))) {
            // Those commit without waiting for any standby: synchronous mode's promise (no acknowledged commit lost on
            // failover) would be broken by the cluster's own setting.
            problems.add("synchronous_commit '" + commit
                    + "' does not wait for the synchronous standby, which synchronous_mode " + mode.label()
                    + " promises; use on, remote_write or remote_apply, or turn synchronous_mode off first");
        }
        if (!problems.isEmpty()) {
            return new Result(Optional.empty(), problems);
        }
        return new Result(
                Optional.of(new DynamicConfig(
                        maxLag, mode, count, pause, parameters, extensions, replicas, repair, autoRepair, scaling)),
                List.of());
    }

    /** The names a patch gives for allowed_extensions: null is Warden's catalogue. */
    private static Optional<List<String>> extensionNames(JsonNode value, List<String> problems) {
        if (value.isNull()) {
            return Optional.of(ExtensionAllowlist.DEFAULT);
        }
        if (value.isTextual()) {
            return Optional.of(ExtensionAllowlist.parse(value.asText()));
        }
        if (value.isArray()) {
            List<String> names = new ArrayList<>();
            for (JsonNode element : value) {
                if (!element.isTextual()) {
                    problems.add("allowed_extensions: every element must be a name, not " + element);
                    return Optional.empty();
                }
                names.add(element.asText());
            }
            return Optional.of(names);
        }
        problems.add(
                "allowed_extensions must be a list of extension names (or one comma-separated string), not " + value);
        return Optional.empty();
    }

    /** Parses the body of a PATCH request; a malformed one is a problem, not an exception. */
    public static Optional<JsonNode> parse(String text, List<String> problems) {
        try {
            JsonNode node = Json.json().readTree(text);
            if (node == null || node.isMissingNode()) {
                problems.add("the body is empty; send a JSON object");
                return Optional.empty();
            }
            return Optional.of(node);
        } catch (java.io.IOException e) {
            problems.add("the body is not valid JSON: "
                    + e.getMessage().lines().findFirst().orElse(""));
            return Optional.empty();
        }
    }

    /** The config as the API shows it: the same keys a patch takes. */
    public static Map<String, Object> view(DynamicConfig config) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("maximum_lag_on_failover", config.maximumLagOnFailover());
        out.put("synchronous_mode", config.synchronousMode().label());
        out.put("synchronous_node_count", config.synchronousNodeCount());
        out.put("pause", config.pause());
        out.put("parameters", new TreeMap<>(config.parameters()));
        out.put("allowed_extensions", config.allowedExtensions());
        out.put("replicas", config.replicas());
        out.put("auto_repair", config.autoRepair());
        Map<String, String> repair = new LinkedHashMap<>();
        RepairSettings.DEFAULTS.keySet().forEach(name -> {
            java.time.Duration value = RepairSettings.grace(config.repair(), name);
            // Days of quarantine read better in hours than in six-figure seconds.
            repair.put(
                    name,
                    value.toHours() >= 1 && value.toSeconds() % 3600 == 0
                            ? value.toHours() + "h"
                            : io.warden.common.Units.format(value));
        });
        repair.put(RepairSettings.MAX_PER_HOUR, Integer.toString(RepairSettings.maxPerHour(config.repair())));
        out.put("repair", repair);
        out.put("scaling", config.scalingSettings().view());
        return out;
    }

    private static boolean isIntegerText(JsonNode v) {
        return v.isTextual() && v.asText().trim().matches("\\d{1,18}");
    }

    private static long asLong(JsonNode v) {
        return v.isTextual() ? Long.parseLong(v.asText().trim()) : v.asLong();
    }
}
