package io.warden.it;

import io.warden.common.Processes;
import io.warden.runtime.LocalDeployment;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * What a node's own write-ahead log says happened, read with {@code pg_waldump} from its data directory: when each
 * transaction committed (the time postgres wrote into the commit record) and when a promotion ended recovery (the
 * END_OF_RECOVERY record a promoted standby writes just before it accepts writes). Both are stamped by postgres
 * from the host's clock, so on one host they order events on two nodes without trusting any client.
 *
 * <p>Read a node's WAL while nothing rewrites it: before a fenced former primary is rewound.
 */
final class WalEvidence {
    /** One WAL record as pg_waldump describes it. */
    record Entry(String rmgr, long xid, String lsn, String description) {}

    /** A commit record: the transaction and the time postgres stamped into it. */
    record Commit(long xid, Instant at) {}

    private static final Pattern LINE = Pattern.compile(
            "^rmgr: (\\S+)\\s+len \\(rec/tot\\):\\s*\\d+/\\s*\\d+, tx:\\s*(\\d+), lsn: (\\S+), prev \\S+, desc: (.*)$");
    private static final Pattern COMMIT =
            Pattern.compile("^COMMIT (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{6}) UTC");
    private static final Pattern END_OF_RECOVERY = Pattern.compile(
            "^END_OF_RECOVERY tli (\\d+); prev tli \\d+; time (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{6}) UTC");
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS");

    private final List<Entry> entries;
    private final String dump;

    private WalEvidence(List<Entry> entries, String dump) {
        this.entries = entries;
        this.dump = dump;
    }

    /**
     * Every record on {@code timeline} from {@code fromLsn} to the end of the WAL in {@code dataDir}. pg_waldump ends
     * with an error at the first invalid record, which is how the end of a WAL looks.
     */
    static WalEvidence read(Path dataDir, long timeline, String fromLsn) {
        var result = Processes.run(
                List.of(
                        LocalDeployment.POSTGRES_BIN + "/pg_waldump",
                        "-p",
                        dataDir.resolve("pg_wal").toString(),
                        "-t",
                        Long.toString(timeline),
                        "-s",
                        fromLsn),
                Map.of("TZ", "UTC"),
                java.time.Duration.ofSeconds(60));
        List<Entry> entries = result.output()
                .lines()
                .map(LINE::matcher)
                .filter(Matcher::matches)
                .map(m -> new Entry(m.group(1), Long.parseLong(m.group(2)), m.group(3), m.group(4)))
                .toList();
        if (entries.isEmpty()) {
            throw new AssertionError("pg_waldump found no records on timeline " + timeline + " from " + fromLsn + " in "
                    + dataDir + ":\n" + result.tail());
        }
        return new WalEvidence(entries, result.output());
    }

    /**
     * When a node promoted to {@code timeline} stopped being a standby: the END_OF_RECOVERY record at the start of
     * that timeline (its switch point is the last line of the timeline's history file).
     */
    static Instant promotedAt(Path dataDir, long timeline) {
        Path history = dataDir.resolve("pg_wal").resolve(String.format("%08X.history", timeline));
        String switchPoint;
        try {
            List<String> lines = Files.readAllLines(history).stream()
                    .filter(l -> !l.isBlank())
                    .toList();
            switchPoint = lines.getLast().split("\t")[1];
        } catch (IOException e) {
            throw new UncheckedIOException("no history file for timeline " + timeline + " in " + dataDir, e);
        }
        WalEvidence wal = read(dataDir, timeline, switchPoint);
        return wal.entries.stream()
                .map(e -> END_OF_RECOVERY.matcher(e.description()))
                .filter(m -> m.find() && Long.parseLong(m.group(1)) == timeline)
                .map(m -> time(m.group(2)))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no END_OF_RECOVERY record at the start of timeline " + timeline
                        + " in " + dataDir + " (from " + switchPoint + "):\n"
                        + wal.dump.lines().limit(10).collect(Collectors.joining("\n"))));
    }

    /** Every commit, in WAL order. */
    List<Commit> commits() {
        return entries.stream()
                .filter(e -> e.rmgr().equals("Transaction"))
                .flatMap(e -> {
                    Matcher m = COMMIT.matcher(e.description());
                    return m.find()
                            ? java.util.stream.Stream.of(new Commit(e.xid(), time(m.group(1))))
                            : java.util.stream.Stream.empty();
                })
                .toList();
    }

    /** The commits of transactions that wrote to the relation whose file is {@code relationPath} (pg_relation_filepath). */
    List<Commit> commitsWriting(String relationPath) {
        // pg_relation_filepath says base/<db>/<filenode>; WAL block references name the default tablespace, 1663.
        String reference = "rel 1663/" + relationPath.substring("base/".length()) + " ";
        Set<Long> writers = entries.stream()
                .filter(e -> e.xid() != 0 && (e.description() + " ").contains(reference))
                .map(Entry::xid)
                .collect(Collectors.toSet());
        return commits().stream().filter(c -> writers.contains(c.xid())).toList();
    }

    /** The last commit, if any. */
    Optional<Commit> lastCommit() {
        List<Commit> all = commits();
        return all.isEmpty() ? Optional.empty() : Optional.of(all.getLast());
    }

    private static Instant time(String text) {
        return LocalDateTime.parse(text, TIME).toInstant(ZoneOffset.UTC);
    }
}
