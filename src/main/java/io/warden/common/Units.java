package io.warden.common;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The human forms of sizes ("16MB", "1048576") and durations ("500ms", "3s"): parsed from what people write. */
public final class Units {
    private static final Pattern SIZE = Pattern.compile("\\s*(\\d+)\\s*([kmgt]?i?b?)?\\s*", Pattern.CASE_INSENSITIVE);
    private static final Pattern DURATION = Pattern.compile("\\s*(\\d+)\\s*(ms|s|m|h)?\\s*", Pattern.CASE_INSENSITIVE);

    private Units() {}

    /** Bytes in "1048576", "512kB", "16MB", "1GiB" (units are powers of 1024, as in postgres). */
    public static long bytes(String text) {
        Matcher m = SIZE.matcher(text == null ? "" : text);
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "not a size: '" + text + "' (use bytes, or a number with kB, MB, GB, TB)");
        }
        long number = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "" : m.group(2).toLowerCase(Locale.ROOT);
        return switch (unit.isEmpty() ? ' ' : unit.charAt(0)) {
            case 'k' -> number << 10;
            case 'm' -> number << 20;
            case 'g' -> number << 30;
            case 't' -> number << 40;
            default -> number;
        };
    }

    /** {@code bytes} in the largest unit that holds it whole ("1GiB", "640MiB"), or bare bytes; 0 as "0". */
    public static String bytesText(long bytes) {
        String[] units = {"TiB", "GiB", "MiB", "kiB"};
        for (int i = 0; i < units.length; i++) {
            long unit = 1L << (10 * (4 - i));
            if (bytes > 0 && bytes % unit == 0) {
                return bytes / unit + units[i];
            }
        }
        return Long.toString(bytes);
    }

    /** A duration in "250ms", "3s", "2m", "1h"; a bare number is seconds. */
    public static Duration duration(String text) {
        Matcher m = DURATION.matcher(text == null ? "" : text);
        if (!m.matches()) {
            throw new IllegalArgumentException("not a duration: '" + text + "' (use e.g. 500ms, 3s, 2m)");
        }
        long number = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2).toLowerCase(Locale.ROOT);
        return switch (unit) {
            case "ms" -> Duration.ofMillis(number);
            case "m" -> Duration.ofMinutes(number);
            case "h" -> Duration.ofHours(number);
            default -> Duration.ofSeconds(number);
        };
    }

    /** {@code duration} as people write it: whole seconds as "3s", anything finer in milliseconds ("2900ms"). */
    public static String format(Duration duration) {
        return duration.toMillis() % 1000 == 0 ? duration.toSeconds() + "s" : duration.toMillis() + "ms";
    }
}
