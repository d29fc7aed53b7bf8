package io.warden.cluster;

/** A PostgreSQL write-ahead-log position, as printed by postgres ("16/B374D848"). */
public record Lsn(long value) implements Comparable<Lsn> {
    public static final Lsn ZERO = new Lsn(0);

    public static Lsn parse(String text) {
        if (text == null || text.isBlank()) {
            return ZERO;
        }
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("not an LSN (expected HIGH/LOW in hex): " + text);
        }
        long high = Long.parseLong(text.substring(0, slash), 16);
        long low = Long.parseLong(text.substring(slash + 1), 16);
        return new Lsn((high << 32) | low);
    }

    /** Bytes this position is behind {@code other}; zero when it is level or ahead. */
    public long bytesBehind(Lsn other) {
        return Math.max(0, other.value - value);
    }

    @Override
    public int compareTo(Lsn other) {
        return Long.compareUnsigned(value, other.value);
    }

    @Override
    public String toString() {
        return Long.toHexString(value >>> 32).toUpperCase() + "/"
                + Long.toHexString(value & 0xFFFFFFFFL).toUpperCase();
    }
}
