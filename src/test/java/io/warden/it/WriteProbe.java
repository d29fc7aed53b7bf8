package io.warden.it;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Inserts rows with increasing ids through a connection supplier and records which were acknowledged and when,
 * and which failed. By default each insert gets its own connection (as a client that reconnects after every error
 * would); {@link #onOneSession} keeps one session for all of them and stops at its first error. Used to prove that
 * no acknowledged write is lost and that two nodes never accept writes at the same instant.
 */
final class WriteProbe implements AutoCloseable {
    /**
     * An acknowledged write: its id, the System.nanoTime() and the instant at which the commit returned, and the
     * address of the server that committed it, as that server said ({@code inet_server_addr()}).
     */
    record Ack(long id, long atNanos, java.time.Instant at, String server) {}

    interface ConnectionSource {
        Connection open() throws SQLException;
    }

    private final ConnectionSource source;
    private final String table;
    private final AtomicLong nextId;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Ack> acks = new CopyOnWriteArrayList<>();
    private final List<SQLException> failures = new CopyOnWriteArrayList<>();
    private final Thread thread;

    WriteProbe(String table, long firstId, ConnectionSource source) {
        this(table, firstId, source, false);
    }

    private WriteProbe(String table, long firstId, ConnectionSource source, boolean oneSession) {
        this.source = source;
        this.table = table;
        this.nextId = new AtomicLong(firstId);
        this.thread = Thread.ofPlatform()
                .daemon()
                .name("probe-" + table)
                .start(oneSession ? this::runOnOneSession : this::run);
    }

    /** A probe that opens one session and writes on it until the first error, which ends it. */
    static WriteProbe onOneSession(String table, long firstId, ConnectionSource source) {
        return new WriteProbe(table, firstId, source, true);
    }

    private void run() {
        while (running.get()) {
            try (Connection c = source.open()) {
                insert(c);
            } catch (SQLException e) {
                // An outage: the next attempt opens a new connection, as a real client would.
                failures.add(e);
            }
            if (!pause()) {
                return;
            }
        }
    }

    private void runOnOneSession() {
        try (Connection c = source.open()) {
            while (running.get()) {
                insert(c);
                if (!pause()) {
                    return;
                }
            }
        } catch (SQLException e) {
            failures.add(e);
        }
    }

    private void insert(Connection c) throws SQLException {
        long id = nextId.getAndIncrement();
        String server = null;
        try (Statement s = c.createStatement()) {
            // execute, not executeQuery: a connection that runs statements through psql (NamespaceConnection) has no
            // result set, and its acknowledgements name no server.
            if (s.execute("insert into " + table + "(id) values (" + id + ") returning host(inet_server_addr())")) {
                try (java.sql.ResultSet rs = s.getResultSet()) {
                    rs.next();
                    server = rs.getString(1);
                }
            }
        }
        acks.add(new Ack(id, System.nanoTime(), java.time.Instant.now(), server == null ? "" : server));
    }

    private static boolean pause() {
        try {
            Thread.sleep(20);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    List<Ack> acks() {
        return List.copyOf(acks);
    }

    List<Long> ackedIds() {
        return acks.stream().map(Ack::id).toList();
    }

    /** The errors seen, oldest first; a one-session probe has at most one, the one that ended it. */
    List<SQLException> failures() {
        return List.copyOf(failures);
    }

    /** A one-session probe that has stopped (its session failed or the probe was closed). */
    boolean ended() {
        return !thread.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        thread.join(15_000);
    }
}
