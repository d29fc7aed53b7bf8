package io.warden.cluster;

import io.warden.common.Units;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The repair controller's grace periods as the cluster config holds them ({@code repair} in {@code config}): how long
 * each abnormal condition must last before its node is replaced, and the limits of the states a node may be stuck
 * in. Stored as people write durations ("10s", "2m"); a name left out has its default. The defaults keep a host
 * loss within the 60 s goal of docs/repair.md: 10 s to judge, then a clone of a small database and its start.
 */
public final class RepairSettings {
    public static final String HOST_GONE = "host_gone";
    public static final String HOST_ISOLATED = "host_isolated";
    public static final String AGENT_UNREACHABLE = "agent_unreachable";
    public static final String CRASH_LOOP_WINDOW = "crash_loop_window";
    public static final String REPLICATION_BROKEN = "replication_broken";
    public static final String CANNOT_REJOIN = "cannot_rejoin";
    public static final String DATA_UNUSABLE = "data_unusable";
    public static final String CLONING = "cloning";
    public static final String STARTING = "starting";

    /** Not a grace period: how long the volume of a removed former primary that may hold lost commits is kept. */
    public static final String QUARANTINE = "quarantine";

    /** Not a duration: at most this many repairs begin within any hour. */
    public static final String MAX_PER_HOUR = "max_per_hour";

    public static final int DEFAULT_MAX_PER_HOUR = 6;

    /** Every name, in the order docs/repair.md lists them, with its default. */
    public static final Map<String, Duration> DEFAULTS = defaults();

    /** The intended number of replicas (three nodes in all) when the config names none. */
    public static final int DEFAULT_REPLICAS = 2;

    private RepairSettings() {}

    private static Map<String, Duration> defaults() {
        Map<String, Duration> all = new LinkedHashMap<>();
        all.put(HOST_GONE, Duration.ofSeconds(10));
        all.put(HOST_ISOLATED, Duration.ofSeconds(15));
        all.put(AGENT_UNREACHABLE, Duration.ofSeconds(20));
        all.put(CRASH_LOOP_WINDOW, Duration.ofMinutes(2));
        all.put(REPLICATION_BROKEN, Duration.ofSeconds(60));
        all.put(CANNOT_REJOIN, Duration.ofSeconds(10));
        all.put(DATA_UNUSABLE, Duration.ofSeconds(10));
        all.put(CLONING, Duration.ofMinutes(5));
        all.put(STARTING, Duration.ofMinutes(2));
        all.put(QUARANTINE, Duration.ofDays(7));
        return java.util.Collections.unmodifiableMap(all);
    }

    /**
     * The grace period {@code name} has in {@code stored} (a config's {@code repair}), its default when absent or
     * unreadable: what a program wrote is read tolerantly, and a person's value was checked by {@link #problems}.
     */
    public static Duration grace(Map<String, String> stored, String name) {
        String text = stored.get(name);
        if (text != null) {
            try {
                Duration value = Units.duration(text);
                if (value.isPositive()) {
                    return value;
                }
            } catch (IllegalArgumentException ignored) {
                // fall through to the default
            }
        }
        return DEFAULTS.get(name);
    }

    /** The most repairs an hour {@code stored} allows; the default when absent or unreadable. */
    public static int maxPerHour(Map<String, String> stored) {
        try {
            int value = Integer.parseInt(stored.getOrDefault(MAX_PER_HOUR, "").strip());
            return value > 0 ? value : DEFAULT_MAX_PER_HOUR;
        } catch (NumberFormatException e) {
            return DEFAULT_MAX_PER_HOUR;
        }
    }

    /** Why {@code wanted} (a person's {@code repair} settings) cannot be stored; empty when it can. */
    public static List<String> problems(Map<String, String> wanted) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> entry : new TreeMap<>(wanted).entrySet()) {
            if (entry.getKey().equals(MAX_PER_HOUR)) {
                String text = entry.getValue().strip();
                if (!text.matches("\\d{1,4}") || Integer.parseInt(text) < 1) {
                    problems.add("repair." + MAX_PER_HOUR + " must be a whole number from 1 to 9999 (repairs an hour),"
                            + " not '" + entry.getValue() + "'");
                }
                continue;
            }
            if (!DEFAULTS.containsKey(entry.getKey())) {
                problems.add("repair: unknown setting '" + entry.getKey() + "'; known: "
                        + String.join(", ", DEFAULTS.keySet()) + ", " + MAX_PER_HOUR);
                continue;
            }
            try {
                Duration value = Units.duration(entry.getValue());
                if (!value.isPositive()) {
                    problems.add("repair." + entry.getKey() + " must be longer than 0 (a grace period of 0 would"
                            + " replace a node at its first missed beat), not '" + entry.getValue() + "'");
                }
            } catch (IllegalArgumentException e) {
                problems.add("repair." + entry.getKey() + ": " + e.getMessage());
            }
        }
        return problems;
    }
}
