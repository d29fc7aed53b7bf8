package io.warden.postgres;

import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How PostgreSQL reads the number in an integer or real setting (guc.c parse_int and parse_real): C's strtol or
 * strtod, whitespace, then an optional unit converted into the setting's base unit. The quirks are PostgreSQL's and
 * are kept on purpose, so that {@link ParameterValidator} accepts exactly what the server will: "010" is octal,
 * "0x1F" is hex, "1e3" and "1.5" are read as reals even for an integer setting, and unit names are case-sensitive.
 */
final class GucNumbers {
    /** A number read from the front of a value, and what follows it with leading whitespace removed. */
    record Scanned(double value, String rest) {}

    private static final Pattern INFINITY = Pattern.compile("(?i)inf(inity)?");
    // strtod takes the exponent only when digits follow it: "1e" reads as 1 followed by the text "e".
    private static final Pattern DECIMAL_REAL = Pattern.compile("(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d+)?");
    private static final Pattern HEX_REAL =
            Pattern.compile("0[xX]([0-9a-fA-F]+\\.?[0-9a-fA-F]*|\\.[0-9a-fA-F]+)([pP][+-]?\\d+)?");

    private GucNumbers() {}

    /**
     * The number as parse_int reads it: strtol in base 0 (so a leading 0 means octal and 0x hex); when that stops
     * at '.', 'e' or 'E', or overflows a 64-bit long, the whole value is read again as a real. Empty when no number
     * can be read or it is out of double range; the caller rounds and checks the 32-bit range.
     */
    static Optional<Scanned> scanInteger(String text) {
        int i = skipSpace(text, 0);
        int signEnd = i < text.length() && (text.charAt(i) == '+' || text.charAt(i) == '-') ? i + 1 : i;
        int radix = 10;
        int digitsStart = signEnd;
        if (text.startsWith("0x", signEnd) || text.startsWith("0X", signEnd)) {
            if (digit(text, signEnd + 2, 16)) {
                radix = 16;
                digitsStart = signEnd + 2;
            } else {
                radix = 8; // strtol reads the "0" and stops at the "x"
            }
        } else if (text.startsWith("0", signEnd)) {
            radix = 8;
        }
        int end = digitsStart;
        while (digit(text, end, radix)) {
            end++;
        }
        if (end == digitsStart) {
            // No digits: strtol leaves its end at the very start, so only a value that begins with '.' is re-read.
            return text.startsWith(".") ? scanReal(text) : Optional.empty();
        }
        boolean stoppedAtFraction = end < text.length() && ".eE".indexOf(text.charAt(end)) >= 0;
        try {
            long value = Long.parseLong(text.substring(i, signEnd) + text.substring(digitsStart, end), radix);
            return stoppedAtFraction ? scanReal(text) : Optional.of(new Scanned(value, rest(text, end)));
        } catch (NumberFormatException overflow) {
            return scanReal(text);
        }
    }

    /**
     * The number as strtod reads it: decimal or hex (0x1.8p3) with an optional exponent, or inf/infinity (which then
     * fails the range check). Empty for no number, NaN, or a value that overflows or underflows a double (strtod's
     * ERANGE, which postgres refuses).
     */
    static Optional<Scanned> scanReal(String text) {
        int i = skipSpace(text, 0);
        int signEnd = i < text.length() && (text.charAt(i) == '+' || text.charAt(i) == '-') ? i + 1 : i;
        String sign = text.substring(i, signEnd);
        Matcher infinity = INFINITY.matcher(text).region(signEnd, text.length());
        if (infinity.lookingAt()) {
            double value = sign.equals("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
            return Optional.of(new Scanned(value, rest(text, infinity.end())));
        }
        Matcher hex = HEX_REAL.matcher(text).region(signEnd, text.length());
        Matcher decimal = DECIMAL_REAL.matcher(text).region(signEnd, text.length());
        Matcher number;
        String literal;
        if (hex.lookingAt()) {
            number = hex;
            // Java's hex literal needs the binary exponent that strtod makes optional.
            literal = hex.group() + (hex.group(2) == null ? "p0" : "");
        } else if (decimal.lookingAt()) {
            number = decimal;
            literal = decimal.group();
        } else {
            return Optional.empty(); // also NaN, which postgres treats as a syntax error
        }
        double value = Double.parseDouble(sign + literal);
        boolean underflow =
                Math.abs(value) < Double.MIN_NORMAL && number.group(1).chars().anyMatch(c -> c != '0' && c != '.');
        if (Double.isInfinite(value) || underflow) {
            return Optional.empty();
        }
        return Optional.of(new Scanned(value, rest(text, number.end())));
    }

    private static boolean digit(String text, int index, int radix) {
        // Character.digit would also take non-ASCII digits, which strtol does not.
        return index < text.length() && text.charAt(index) < 128 && Character.digit(text.charAt(index), radix) >= 0;
    }

    /** C's isspace in the C locale. */
    static boolean space(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }

    private static int skipSpace(String text, int from) {
        int i = from;
        while (i < text.length() && space(text.charAt(i))) {
            i++;
        }
        return i;
    }

    private static String rest(String text, int from) {
        return text.substring(skipSpace(text, from));
    }

    /** One unit a value may be written in, and its size in bytes or microseconds. */
    record Scale(String name, long size) {}

    // Largest first: a fractional value is rounded to a whole number of the next smaller unit, as postgres does.
    private static final List<Scale> MEMORY = List.of(
            new Scale("TB", 1L << 40),
            new Scale("GB", 1L << 30),
            new Scale("MB", 1L << 20),
            new Scale("kB", 1L << 10),
            new Scale("B", 1));
    private static final List<Scale> TIME = List.of(
            new Scale("d", 86_400_000_000L),
            new Scale("h", 3_600_000_000L),
            new Scale("min", 60_000_000L),
            new Scale("s", 1_000_000L),
            new Scale("ms", 1_000L),
            new Scale("us", 1));

    /**
     * The base unit of a setting as pg_settings names it ("kB", "8kB", "MB", "ms", "s", "min"), which decides the
     * units a value may carry and what a bare number means.
     */
    record Unit(String name, List<Scale> scales, long size) {
        private static final Pattern NAME = Pattern.compile("(\\d*)(\\D+)");

        /** Empty for a setting without a unit, or with one this code does not know (then it takes no unit). */
        static Optional<Unit> of(String name) {
            Matcher m = NAME.matcher(name == null ? "" : name);
            if (!m.matches()) {
                return Optional.empty();
            }
            long count = m.group(1).isEmpty() ? 1 : Long.parseLong(m.group(1));
            for (List<Scale> scales : List.of(MEMORY, TIME)) {
                for (Scale scale : scales) {
                    if (scale.name().equals(m.group(2))) {
                        return Optional.of(new Unit(name, scales, count * scale.size()));
                    }
                }
            }
            return Optional.empty();
        }

        boolean memory() {
            return scales == MEMORY;
        }

        /**
         * {@code value} written in {@code unit} ("MB", exactly: postgres matches unit names case-sensitively, and
         * allows trailing whitespace), in this base unit, not yet rounded to a whole number; empty for an unknown
         * unit or anything after it.
         */
        OptionalDouble toBase(double value, String unit) {
            int end = unit.length();
            while (end > 0 && space(unit.charAt(end - 1))) {
                end--;
            }
            String name = unit.substring(0, end);
            for (int i = 0; i < scales.size(); i++) {
                if (scales.get(i).name().equals(name)) {
                    double converted = value * multiplier(i);
                    if (i + 1 < scales.size()) {
                        // "1.0001GB" of a kB setting: postgres rounds to a whole MB (1024MB) first.
                        converted = Math.rint(converted / multiplier(i + 1)) * multiplier(i + 1);
                    }
                    return OptionalDouble.of(converted);
                }
            }
            return OptionalDouble.empty();
        }

        // Both sizes are exact in a double, so the one division gives the same constant as guc.c's tables.
        private double multiplier(int index) {
            return (double) scales.get(index).size() / size;
        }

        /** "B, kB, MB, GB or TB" or "us, ms, s, min, h or d". */
        String choices() {
            List<String> names = scales.reversed().stream().map(Scale::name).toList();
            return String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.getLast();
        }
    }
}
