package io.warden.http;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text format (version 0.0.4) for tests, with Warden's naming rules on top. The
 * Prometheus Java client ships writers only, and promtool is not on the build machines, so this is the check:
 * anything it does not know is an {@link AssertionError} naming the line.
 *
 * <p>What it insists on: every family opens with {@code # HELP} (non-empty) followed at once by its {@code # TYPE};
 * a family appears once; every sample belongs to the family just opened (a counter's sample is the family name,
 * which ends in {@code _total}; a histogram's are {@code _bucket} with {@code le}, {@code _count} and {@code _sum});
 * no sample or label set twice; histogram buckets rise to {@code +Inf}, whose count is {@code _count}; a name that
 * mentions a unit ends with it ({@code _seconds}, {@code _bytes}, before {@code _total} for counters).
 */
public final class PrometheusText {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Pattern HELP = Pattern.compile("# HELP (" + NAME + ") (\\S.*)");
    private static final Pattern TYPE =
            Pattern.compile("# TYPE (" + NAME + ") (counter|gauge|histogram|summary|untyped)");
    private static final Pattern SAMPLE = Pattern.compile("(" + NAME + ")(?:\\{(.*)})? (\\S+)(?: -?[0-9]+)?");
    private static final List<String> UNITS = List.of("seconds", "bytes");

    /** One sample line: its name (with the histogram suffix, if any), labels and value. */
    public record Sample(String name, Map<String, String> labels, double value) {}

    /** One metric family: what its HELP and TYPE say, and its samples in the order written. */
    public record Family(String name, String type, String help, List<Sample> samples) {
        /** The value of the sample {@code name} whose labels are exactly {@code labels} (name, value, ...). */
        public Optional<Double> sample(String name, String... labels) {
            Map<String, String> wanted = labels(labels);
            return samples.stream()
                    .filter(s -> s.name().equals(name) && s.labels().equals(wanted))
                    .map(Sample::value)
                    .findFirst();
        }

        /** The value of this family's own sample with {@code labels}: a gauge's or a counter's. */
        public Optional<Double> value(String... labels) {
            return sample(name, labels);
        }
    }

    private PrometheusText() {}

    /** The families of {@code text} by name, in the order written; fails on the first line that breaks a rule. */
    public static Map<String, Family> parse(String text) {
        if (!text.isEmpty() && !text.endsWith("\n")) {
            throw new AssertionError("the text does not end with a newline:\n" + text);
        }
        Map<String, Family> families = new LinkedHashMap<>();
        Set<String> seen = new HashSet<>();
        Family family = null;
        String pendingHelp = null;
        String helpName = null;
        String[] lines = text.isEmpty()
                ? new String[0]
                : text.substring(0, text.length() - 1).split("\n", -1);
        for (int number = 1; number <= lines.length; number++) {
            String line = lines[number - 1];
            String where = "line " + number + " '" + line + "'";
            Matcher help = HELP.matcher(line);
            Matcher type = TYPE.matcher(line);
            Matcher sample = SAMPLE.matcher(line);
            if (pendingHelp != null && !type.matches()) {
                throw new AssertionError(where + ": # HELP " + helpName + " is not followed by its # TYPE");
            }
            if (help.matches()) {
                helpName = help.group(1);
                pendingHelp = help.group(2);
                if (families.containsKey(helpName)) {
                    throw new AssertionError(where + ": family " + helpName + " appears twice");
                }
            } else if (type.matches()) {
                if (pendingHelp == null || !type.group(1).equals(helpName)) {
                    throw new AssertionError(where + ": # TYPE without the # HELP of the same family just before it");
                }
                family = new Family(helpName, type.group(2), pendingHelp, new ArrayList<>());
                checkName(family, where);
                families.put(family.name(), family);
                pendingHelp = null;
            } else if (sample.matches()) {
                if (family == null) {
                    throw new AssertionError(where + ": a sample before any # HELP and # TYPE");
                }
                Sample parsed = new Sample(
                        sample.group(1), parseLabels(sample.group(2), where), parseValue(sample.group(3), where));
                checkBelongs(family, parsed, where);
                if (!seen.add(parsed.name() + new TreeMap<>(parsed.labels()))) {
                    throw new AssertionError(where + ": the same sample twice");
                }
                family.samples().add(parsed);
            } else {
                throw new AssertionError(where + ": neither # HELP, # TYPE nor a sample");
            }
        }
        if (pendingHelp != null) {
            throw new AssertionError("# HELP " + helpName + " at the end has no # TYPE");
        }
        families.values().stream().filter(f -> f.type().equals("histogram")).forEach(PrometheusText::checkHistogram);
        return families;
    }

    private static void checkName(Family family, String where) {
        if (family.type().equals("counter") && !family.name().endsWith("_total")) {
            throw new AssertionError(where + ": counter " + family.name() + " does not end in _total");
        }
        if (!family.type().equals("counter") && family.name().endsWith("_total")) {
            throw new AssertionError(
                    where + ": " + family.type() + " " + family.name() + " ends in _total, which only counters may");
        }
        String base = family.name().replaceFirst("_total$", "");
        for (String unit : UNITS) {
            if (base.contains(unit) && !base.endsWith("_" + unit)) {
                throw new AssertionError(where + ": " + family.name() + " mentions " + unit + " but does not end with _"
                        + unit + (family.type().equals("counter") ? "_total" : ""));
            }
        }
    }

    private static void checkBelongs(Family family, Sample sample, String where) {
        boolean belongs = switch (family.type()) {
            case "histogram" ->
                sample.name().equals(family.name() + "_bucket")
                                && sample.labels().containsKey("le")
                        || sample.name().equals(family.name() + "_count")
                        || sample.name().equals(family.name() + "_sum");
            case "counter", "gauge", "untyped" -> sample.name().equals(family.name());
            default -> false;
        };
        if (!belongs) {
            throw new AssertionError(
                    where + ": sample " + sample.name() + " does not belong to " + family.type() + " " + family.name());
        }
    }

    /** Per label set: buckets with rising bounds and counts, the last at +Inf and equal to _count; a _sum. */
    private static void checkHistogram(Family family) {
        Map<Map<String, String>, List<Sample>> buckets = new LinkedHashMap<>();
        for (Sample sample : family.samples()) {
            if (sample.name().endsWith("_bucket")) {
                Map<String, String> series = new TreeMap<>(sample.labels());
                series.remove("le");
                buckets.computeIfAbsent(series, k -> new ArrayList<>()).add(sample);
            }
        }
        if (buckets.isEmpty() && !family.samples().isEmpty()) {
            throw new AssertionError("histogram " + family.name() + " has samples but no buckets");
        }
        buckets.forEach((series, list) -> {
            double bound = Double.NEGATIVE_INFINITY;
            double count = 0;
            for (Sample bucket : list) {
                double le = parseValue(bucket.labels().get("le"), family.name() + " le");
                if (le <= bound || bucket.value() < count) {
                    throw new AssertionError("histogram " + family.name() + series + ": buckets do not rise at le="
                            + bucket.labels().get("le"));
                }
                bound = le;
                count = bucket.value();
            }
            if (bound != Double.POSITIVE_INFINITY) {
                throw new AssertionError("histogram " + family.name() + series + " has no +Inf bucket");
            }
            String[] labels = series.entrySet().stream()
                    .flatMap(e -> java.util.stream.Stream.of(e.getKey(), e.getValue()))
                    .toArray(String[]::new);
            double total = count;
            if (family.sample(family.name() + "_count", labels)
                            .filter(c -> c == total)
                            .isEmpty()
                    || family.sample(family.name() + "_sum", labels).isEmpty()) {
                throw new AssertionError("histogram " + family.name() + series + ": _count is not the +Inf bucket ("
                        + total + "), or no _sum");
            }
        });
    }

    private static double parseValue(String text, String where) {
        return switch (text) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> {
                try {
                    yield Double.parseDouble(text);
                } catch (NumberFormatException e) {
                    throw new AssertionError(where + ": '" + text + "' is not a sample value");
                }
            }
        };
    }

    /** {@code a="1",b="x\"y"}: label names once each, values with the format's three escapes. */
    private static Map<String, String> parseLabels(String text, String where) {
        Map<String, String> labels = new LinkedHashMap<>();
        if (text == null) {
            return labels;
        }
        int at = 0;
        while (at < text.length()) {
            int eq = text.indexOf("=\"", at);
            if (eq < 0 || !LABEL_NAME.matcher(text.substring(at, eq)).matches()) {
                throw new AssertionError(where + ": malformed label at '" + text.substring(at) + "'");
            }
            String name = text.substring(at, eq);
            StringBuilder value = new StringBuilder();
            int i = eq + 2;
            for (; i < text.length() && text.charAt(i) != '"'; i++) {
                char c = text.charAt(i);
                if (c == '\\') {
                    char next = i + 1 < text.length() ? text.charAt(++i) : ' ';
                    switch (next) {
                        case '\\', '"' -> value.append(next);
                        case 'n' -> value.append('\n');
                        default -> throw new AssertionError(where + ": unknown escape \\" + next + " in label " + name);
                    }
                } else {
                    value.append(c);
                }
            }
            if (i >= text.length()) {
                throw new AssertionError(where + ": label " + name + " has no closing quote");
            }
            if (labels.put(name, value.toString()) != null) {
                throw new AssertionError(where + ": label " + name + " twice");
            }
            at = i + 1;
            if (at < text.length()) {
                if (text.charAt(at) != ',') {
                    throw new AssertionError(where + ": labels not separated by ',' at '" + text.substring(at) + "'");
                }
                at++;
            }
        }
        return labels;
    }

    private static Map<String, String> labels(String... pairs) {
        if (pairs.length % 2 != 0) {
            throw new IllegalArgumentException("labels come in name, value pairs");
        }
        Map<String, String> labels = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            labels.put(pairs[i], pairs[i + 1]);
        }
        return labels;
    }
}
