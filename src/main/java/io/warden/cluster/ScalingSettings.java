package io.warden.cluster;

import io.warden.common.Units;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The scaling controller's units and policy as the cluster config holds them ({@code scaling} in {@code config}),
 * read into one value. A unit is a slice of disk, the memory that disk implies at {@code memory_ratio} (1 GB of RAM
 * per 10 GB of disk by default) and a share of a CPU; a node gets {@code units} of them, each resource clamped to
 * its own minimum and maximum (a minimum equal to the maximum turns that resource's scaling off). The floors keep a
 * small database at the sizes a node had before units existed: 1 GiB of memory and one core.
 *
 * <p>Stored as people write them ("1GiB", "500m", "1h", "20%"); a name left out has its default, and a stored value
 * that cannot be read (a program's or an older version's) reads as its default, while {@link #problems} refuses a
 * person's.
 *
 * @param unitDiskBytes a unit's disk
 * @param memoryRatio disk bytes per byte of memory (10 for 1:10)
 * @param unitCpuMillis a unit's CPU, 1000 = one core
 * @param units how many units every node has: what the controller applies, and raises when disks run short
 * @param diskMax 0: no maximum but the units'; likewise memoryMax and cpuMax
 * @param interval how often the regular check runs (hourly: the service's promise)
 * @param sample how often the volumes are sampled between checks (for the emergency path and the growth fit)
 * @param triggerFree a step is taken at a check when less than this fraction of a volume is free
 * @param targetFree after a step at least this fraction is free
 * @param emergencyFree between checks, a step is taken at once when less than this is free
 * @param auto whether the controller adds units by itself; {@code warden scale} works either way
 */
public record ScalingSettings(
        long unitDiskBytes,
        int memoryRatio,
        long unitCpuMillis,
        int units,
        int minUnits,
        int maxUnits,
        long diskMin,
        long diskMax,
        long memoryMin,
        long memoryMax,
        long cpuMin,
        long cpuMax,
        Duration interval,
        Duration sample,
        Duration cooldown,
        double triggerFree,
        double targetFree,
        double emergencyFree,
        boolean auto) {
    public static final String UNIT_DISK = "unit_disk";
    public static final String MEMORY_RATIO = "memory_ratio";
    public static final String UNIT_CPU = "unit_cpu";
    public static final String UNITS = "units";
    public static final String MIN_UNITS = "min_units";
    public static final String MAX_UNITS = "max_units";
    public static final String DISK_MIN = "disk_min";
    public static final String DISK_MAX = "disk_max";
    public static final String MEMORY_MIN = "memory_min";
    public static final String MEMORY_MAX = "memory_max";
    public static final String CPU_MIN = "cpu_min";
    public static final String CPU_MAX = "cpu_max";
    public static final String INTERVAL = "interval";
    public static final String SAMPLE = "sample";
    public static final String COOLDOWN = "cooldown";
    public static final String TRIGGER_FREE = "trigger_free";
    public static final String TARGET_FREE = "target_free";
    public static final String EMERGENCY_FREE = "emergency_free";
    public static final String AUTO = "auto";

    /** Every name with its default as stored text, in the order docs/scaling.md lists them. */
    public static final Map<String, String> DEFAULTS = defaults();

    public static final ScalingSettings DEFAULT = of(Map.of());

    /** The most units a node can have: 1 TiB of disk at the default unit, far past what one machine holds. */
    static final int UNITS_CEILING = 1024;

    private static Map<String, String> defaults() {
        Map<String, String> all = new LinkedHashMap<>();
        all.put(UNIT_DISK, "1GiB");
        all.put(MEMORY_RATIO, "1:10");
        all.put(UNIT_CPU, "500m");
        all.put(UNITS, "1");
        all.put(MIN_UNITS, "1");
        all.put(MAX_UNITS, "16");
        all.put(DISK_MIN, "0");
        all.put(DISK_MAX, "0");
        all.put(MEMORY_MIN, "1GiB");
        all.put(MEMORY_MAX, "0");
        all.put(CPU_MIN, "1000m");
        all.put(CPU_MAX, "0");
        all.put(INTERVAL, "1h");
        all.put(SAMPLE, "15s");
        all.put(COOLDOWN, "1h");
        all.put(TRIGGER_FREE, "20%");
        all.put(TARGET_FREE, "30%");
        all.put(EMERGENCY_FREE, "5%");
        all.put(AUTO, "true");
        return java.util.Collections.unmodifiableMap(all);
    }

    /**
     * The settings {@code stored} (a config's {@code scaling}) holds, each unreadable or absent name at its default:
     * tolerant, since a program wrote it and a person's values were checked by {@link #problems}.
     */
    public static ScalingSettings of(Map<String, String> stored) {
        Map<String, String> merged = new LinkedHashMap<>(DEFAULTS);
        stored.forEach((name, value) -> {
            if (DEFAULTS.containsKey(name) && readable(name, value).isEmpty()) {
                merged.put(name, value);
            }
        });
        ScalingSettings read = read(merged);
        // A stored combination that contradicts itself (min over max) falls back whole: half of it could size a
        // node by a limit nobody meant.
        return consistency(read).isEmpty() || stored.isEmpty() ? read : read(DEFAULTS);
    }

    /** Why {@code wanted} (a person's whole {@code scaling} settings, stored ones included) cannot be stored. */
    public static List<String> problems(Map<String, String> wanted) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> entry : new TreeMap<>(wanted).entrySet()) {
            if (!DEFAULTS.containsKey(entry.getKey())) {
                problems.add("scaling: unknown setting '" + entry.getKey() + "'; known: "
                        + String.join(", ", DEFAULTS.keySet()));
                continue;
            }
            readable(entry.getKey(), entry.getValue())
                    .ifPresent(why -> problems.add("scaling." + entry.getKey() + ": " + why));
        }
        if (problems.isEmpty()) {
            Map<String, String> merged = new LinkedHashMap<>(DEFAULTS);
            merged.putAll(wanted);
            problems.addAll(consistency(read(merged)));
        }
        return problems;
    }

    /** The disk a node of {@code n} units gets. */
    public long disk(int n) {
        return clamp(n * unitDiskBytes, diskMin, diskMax);
    }

    /** The memory limit of a node of {@code n} units: its disk over the ratio, within the floor and the maximum. */
    public long memory(int n) {
        return clamp(n * unitDiskBytes / memoryRatio, memoryMin, memoryMax);
    }

    /** The CPU quota (1000 = one core) of a node of {@code n} units. */
    public long cpu(int n) {
        return clamp(n * unitCpuMillis, cpuMin, cpuMax);
    }

    /** With another number of units (within the minimum and maximum: the caller checked). */
    public ScalingSettings withUnits(int n) {
        return new ScalingSettings(
                unitDiskBytes,
                memoryRatio,
                unitCpuMillis,
                n,
                minUnits,
                maxUnits,
                diskMin,
                diskMax,
                memoryMin,
                memoryMax,
                cpuMin,
                cpuMax,
                interval,
                sample,
                cooldown,
                triggerFree,
                targetFree,
                emergencyFree,
                auto);
    }

    /** Every setting as people write it: what {@code show-config} prints and a patch takes back. */
    public Map<String, String> view() {
        Map<String, String> out = new LinkedHashMap<>();
        out.put(UNIT_DISK, Units.bytesText(unitDiskBytes));
        out.put(MEMORY_RATIO, "1:" + memoryRatio);
        out.put(UNIT_CPU, unitCpuMillis + "m");
        out.put(UNITS, Integer.toString(units));
        out.put(MIN_UNITS, Integer.toString(minUnits));
        out.put(MAX_UNITS, Integer.toString(maxUnits));
        out.put(DISK_MIN, Units.bytesText(diskMin));
        out.put(DISK_MAX, Units.bytesText(diskMax));
        out.put(MEMORY_MIN, Units.bytesText(memoryMin));
        out.put(MEMORY_MAX, Units.bytesText(memoryMax));
        out.put(CPU_MIN, cpuMin + "m");
        out.put(CPU_MAX, cpuMax + "m");
        out.put(INTERVAL, longForm(interval));
        out.put(SAMPLE, longForm(sample));
        out.put(COOLDOWN, longForm(cooldown));
        out.put(TRIGGER_FREE, pct(triggerFree));
        out.put(TARGET_FREE, pct(targetFree));
        out.put(EMERGENCY_FREE, pct(emergencyFree));
        out.put(AUTO, Boolean.toString(auto));
        return out;
    }

    /** A duration as people write it in these settings: "1h", "30m", "15s". */
    public static String longForm(Duration d) {
        return d.toSeconds() >= 3600 && d.toSeconds() % 3600 == 0
                ? d.toHours() + "h"
                : d.toSeconds() >= 60 && d.toSeconds() % 60 == 0 ? d.toMinutes() + "m" : Units.format(d);
    }

    private static long clamp(long value, long min, long max) {
        long floored = Math.max(value, min);
        return max > 0 ? Math.min(floored, max) : floored;
    }

    /** Why {@code value} is not a value for {@code name}; empty when it is. */
    private static java.util.Optional<String> readable(String name, String value) {
        String text = value == null ? "" : value.strip();
        try {
            switch (name) {
                case UNIT_DISK -> {
                    if (Units.bytes(text) < (16L << 20)) {
                        return java.util.Optional.of("a unit's disk must be at least 16MiB, not '" + value + "'");
                    }
                }
                case DISK_MIN, DISK_MAX, MEMORY_MIN, MEMORY_MAX -> Units.bytes(text);
                case MEMORY_RATIO -> ratio(text);
                case UNIT_CPU -> {
                    if (cpuMillis(text) < 10) {
                        return java.util.Optional.of(
                                "a unit's CPU must be at least 10m (1 % of a core), not '" + value + "'");
                    }
                }
                case CPU_MIN, CPU_MAX -> cpuMillis(text);
                case UNITS, MIN_UNITS, MAX_UNITS -> {
                    if (!text.matches("\\d{1,5}")
                            || Integer.parseInt(text) < 1
                            || Integer.parseInt(text) > UNITS_CEILING) {
                        return java.util.Optional.of(
                                "must be a whole number of units from 1 to " + UNITS_CEILING + ", not '" + value + "'");
                    }
                }
                case INTERVAL, SAMPLE, COOLDOWN -> {
                    if (!Units.duration(text).isPositive()) {
                        return java.util.Optional.of("must be longer than 0, not '" + value + "'");
                    }
                }
                case TRIGGER_FREE, TARGET_FREE, EMERGENCY_FREE -> percent(text);
                case AUTO -> {
                    if (!text.equals("true") && !text.equals("false")) {
                        return java.util.Optional.of("must be true or false, not '" + value + "'");
                    }
                }
                default -> {
                    return java.util.Optional.of("unknown setting");
                }
            }
            return java.util.Optional.empty();
        } catch (IllegalArgumentException e) {
            return java.util.Optional.of(e.getMessage());
        }
    }

    /** Reads settings every one of which is readable. */
    private static ScalingSettings read(Map<String, String> all) {
        return new ScalingSettings(
                Units.bytes(all.get(UNIT_DISK)),
                ratio(all.get(MEMORY_RATIO)),
                cpuMillis(all.get(UNIT_CPU)),
                Integer.parseInt(all.get(UNITS).strip()),
                Integer.parseInt(all.get(MIN_UNITS).strip()),
                Integer.parseInt(all.get(MAX_UNITS).strip()),
                Units.bytes(all.get(DISK_MIN)),
                Units.bytes(all.get(DISK_MAX)),
                Units.bytes(all.get(MEMORY_MIN)),
                Units.bytes(all.get(MEMORY_MAX)),
                cpuMillis(all.get(CPU_MIN)),
                cpuMillis(all.get(CPU_MAX)),
                Units.duration(all.get(INTERVAL)),
                Units.duration(all.get(SAMPLE)),
                Units.duration(all.get(COOLDOWN)),
                percent(all.get(TRIGGER_FREE)),
                percent(all.get(TARGET_FREE)),
                percent(all.get(EMERGENCY_FREE)),
                all.get(AUTO).strip().equals("true"));
    }

    /** What contradicts itself in settings each of which is readable on its own. */
    private static List<String> consistency(ScalingSettings s) {
        List<String> problems = new ArrayList<>();
        if (s.minUnits > s.maxUnits) {
            problems.add("scaling.min_units " + s.minUnits + " is above max_units " + s.maxUnits);
        } else if (s.units < s.minUnits || s.units > s.maxUnits) {
            problems.add("scaling.units " + s.units + " is outside min_units " + s.minUnits + " to max_units "
                    + s.maxUnits + "; change the bounds first, or give units within them");
        }
        bounds(problems, "disk", s.diskMin, s.diskMax, Units::bytesText);
        bounds(problems, "memory", s.memoryMin, s.memoryMax, Units::bytesText);
        bounds(problems, "cpu", s.cpuMin, s.cpuMax, m -> m + "m");
        if (s.diskMax > 0 && s.diskMax < (16L << 20)) {
            problems.add("scaling.disk_max must be at least 16MiB (or 0 for none)");
        }
        if (s.memoryMin > 0 && s.memoryMin < (64L << 20) || s.memoryMax > 0 && s.memoryMax < (64L << 20)) {
            // Postgres with its default shared_buffers does not start in less.
            problems.add("scaling.memory_min and memory_max must be at least 64MiB (or 0 for none)");
        }
        if (!(s.emergencyFree < s.triggerFree && s.triggerFree < s.targetFree)) {
            problems.add("scaling needs emergency_free < trigger_free < target_free (a step must leave more free than"
                    + " the level that triggers it), not " + pct(s.emergencyFree) + ", " + pct(s.triggerFree) + ", "
                    + pct(s.targetFree));
        }
        if (s.targetFree > 0.9) {
            problems.add("scaling.target_free above 90% would grow a volume ten times over what it holds");
        }
        if (s.sample.compareTo(s.interval) > 0) {
            problems.add("scaling.sample (" + Units.format(s.sample) + ") is longer than interval ("
                    + Units.format(s.interval) + "): the volumes must be sampled at least once between checks");
        }
        return problems;
    }

    private static void bounds(
            List<String> problems, String resource, long min, long max, java.util.function.LongFunction<String> f) {
        if (max > 0 && min > max) {
            problems.add(
                    "scaling." + resource + "_min " + f.apply(min) + " is above " + resource + "_max " + f.apply(max));
        }
    }

    private static String pct(double fraction) {
        double percent = Math.round(fraction * 10000) / 100.0;
        return (percent == Math.rint(percent) ? Long.toString((long) percent) : Double.toString(percent)) + "%";
    }

    /** "1:10" (memory : disk) as 10; a bare "10" reads the same. */
    static int ratio(String text) {
        String t = text == null ? "" : text.strip();
        String disk = t.matches("1\\s*:\\s*\\d{1,4}")
                ? t.substring(t.indexOf(':') + 1).strip()
                : t;
        if (!disk.matches("\\d{1,4}") || Integer.parseInt(disk) < 1) {
            throw new IllegalArgumentException("not a memory ratio: '" + text
                    + "' (memory to disk as 1:N, e.g. 1:10 for 1 GB of RAM per 10 GB" + " of disk)");
        }
        return Integer.parseInt(disk);
    }

    /** "500m" (millicores), "1" or "1.5" (cores). */
    static long cpuMillis(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        if (t.matches("\\d{1,7}m")) {
            return Long.parseLong(t.substring(0, t.length() - 1));
        }
        if (t.matches("\\d{1,4}(\\.\\d{1,3})?")) {
            return Math.round(Double.parseDouble(t) * 1000);
        }
        throw new IllegalArgumentException(
                "not a CPU amount: '" + text + "' (cores as 1 or 1.5, or millicores as 500m)");
    }

    /** "20%" or "20" as 0.2. */
    static double percent(String text) {
        String t = text == null ? "" : text.strip();
        String digits = t.endsWith("%") ? t.substring(0, t.length() - 1).strip() : t;
        if (!digits.matches("\\d{1,2}(\\.\\d{1,2})?") || Double.parseDouble(digits) <= 0) {
            throw new IllegalArgumentException(
                    "not a share of the volume: '" + text + "' (a percentage above 0 and below 100, e.g. 20%)");
        }
        return Double.parseDouble(digits) / 100;
    }
}
