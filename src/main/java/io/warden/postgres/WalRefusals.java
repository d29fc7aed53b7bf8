package io.warden.postgres;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a replica's own log says its upstream's walsender refused: the WAL file named in "requested WAL segment ...
 * has already been removed", in the lines since its last attempt to stream. That is the walsender's own verdict on
 * the exact file this replica asked for, which no computation of a resume point on this side can match when pg_rewind
 * or a restart moved where recovery starts. Read tolerantly: postgres writes this log, a line it does not recognise
 * is skipped, and a log in another language (lc_messages) simply yields nothing.
 */
final class WalRefusals {
    /** The end of the log that is read: a replica retries streaming every few seconds, so its last attempt is near. */
    private static final int TAIL_BYTES = 64 * 1024;

    private static final Pattern REFUSED =
            Pattern.compile("requested WAL segment ([0-9A-F]{24}) has already been removed");
    private static final String STREAM_STARTED = "started streaming WAL from primary at ";

    private WalRefusals() {}

    /** The file the last streaming attempt in {@code log} was refused; empty when it was not, or the log is unreadable. */
    static Optional<String> lastRefused(Path log) {
        try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
            long start = Math.max(0, file.length() - TAIL_BYTES);
            byte[] tail = new byte[(int) (file.length() - start)];
            file.seek(start);
            file.readFully(tail);
            return lastRefused(new String(tail, StandardCharsets.UTF_8).lines().toList());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The file refused after the last line that starts a streaming attempt; empty when none was. */
    static Optional<String> lastRefused(List<String> lines) {
        int lastAttempt = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).contains(STREAM_STARTED)) {
                lastAttempt = i;
            }
        }
        if (lastAttempt < 0) {
            return Optional.empty();
        }
        for (String line : lines.subList(lastAttempt, lines.size())) {
            Matcher refused = REFUSED.matcher(line);
            if (refused.find()) {
                return Optional.of(refused.group(1));
            }
        }
        return Optional.empty();
    }
}
