package io.warden.it;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Inserts rows with increasing ids through a connection supplier, each in its own connection (as a client that
 * reconnects after every error would), and records which were acknowledged and when. Used to prove that no
 * acknowledged write is lost and that two nodes never accept writes at the same instant.
 */
final class WriteProbe implements AutoCloseable {
    /** An acknowledged write: its id and the System.nanoTime() at which the commit returned. */
    record Ack(long id, long atNanos) {}

    interface ConnectionSource {
        Connection open() throws SQLException;
    }

    private final ConnectionSource source;
    private final String table;
    private final AtomicLong nextId;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final List<Ack> acks = new CopyOnWriteArrayList<>();
    private final Thread thread;

    WriteProbe(String table, long firstId, ConnectionSource source) {
        this.source = source;
        this.table = table;
        this.nextId = new AtomicLong(firstId);
        this.thread = Thread.ofPlatform().daemon().name("probe-" + table).start(this::run);
    }

    private void run() {
        while (running.get()) {
            long id = nextId.getAndIncrement();
            try (Connection c = source.open();
                    Statement s = c.createStatement()) {
                s.execute("insert into " + table + "(id) values (" + id + ")");
                acks.add(new Ack(id, System.nanoTime()));
            } catch (SQLException e) {
                // An outage: the next attempt opens a new connection, as a real client would.
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    List<Ack> acks() {
        return List.copyOf(acks);
    }

    List<Long> ackedIds() {
        return acks.stream().map(Ack::id).toList();
    }

    long lastAckNanos() {
        return acks.isEmpty() ? Long.MIN_VALUE : acks.getLast().atNanos();
    }

    @Override
    public void close() throws InterruptedException {
        running.set(false);
        thread.join(15_000);
    }
}
