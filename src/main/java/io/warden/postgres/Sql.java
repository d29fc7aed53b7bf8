package io.warden.postgres;

import io.warden.cluster.Lsn;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * The one way the agent runs SQL on its own postgres: one pgjdbc connection, reopened when it breaks. Not
 * thread-safe; only the HA loop uses it.
 */
public final class Sql implements AutoCloseable {
    private final String url;
    private final Properties properties = new Properties();
    private Connection connection;

    public Sql(String host, int port, String user, String password, Optional<Path> caFile) {
        this(host, port, "postgres", user, password, caFile);
    }

    /**
     * A connection to {@code database} (the agents' own is postgres). With the deployment's {@code caFile} it uses
     * TLS and verifies the server's certificate and address ({@code verify-full}); without, no TLS.
     */
    public Sql(String host, int port, String database, String user, String password, Optional<Path> caFile) {
        this.url = "jdbc:postgresql://" + host + ":" + port + "/"
                + java.net.URLEncoder.encode(database, java.nio.charset.StandardCharsets.UTF_8);
        properties.setProperty("user", user);
        properties.setProperty("password", password);
        properties.setProperty("connectTimeout", "2");
        properties.setProperty("socketTimeout", "5");
        properties.setProperty("ApplicationName", "warden-agent");
        caFile.ifPresentOrElse(
                ca -> {
                    properties.setProperty("sslmode", "verify-full");
                    properties.setProperty("sslrootcert", ca.toString());
                    // No client certificate: pgjdbc would otherwise look for one in ~/.postgresql.
                    properties.setProperty("sslcert", "");
                },
                () -> properties.setProperty("sslmode", "disable"));
    }

    /**
     * A TLS session that logs in by a client certificate ({@code cert} in pg_hba.conf; no password), verifying the
     * server against {@code caFile} ({@code verify-full}). {@code certificate} holds the certificate (PEM) and the
     * key as pgjdbc reads it (PKCS#8 DER).
     */
    public static Sql byCertificate(
            String host, int port, String database, String user, Path caFile, ClientCertificate certificate) {
        Sql sql = new Sql(host, port, database, user, "", Optional.of(caFile));
        sql.properties.remove("password");
        sql.properties.setProperty("sslcert", certificate.certificate().toString());
        sql.properties.setProperty("sslkey", certificate.derKey().toString());
        return sql;
    }

    /** A client certificate and its key in the form pgjdbc reads. */
    public record ClientCertificate(Path certificate, Path derKey) {}

    /** Rows of a query, each a column-name to value map, in order. */
    public List<Map<String, Object>> query(String sql) throws SQLException {
        try (Statement statement = connection().createStatement();
                ResultSet rs = statement.executeQuery(sql)) {
            ResultSetMetaData meta = rs.getMetaData();
            List<Map<String, Object>> rows = new ArrayList<>();
            while (rs.next()) {
                Map<String, Object> row = new LinkedHashMap<>();
                for (int i = 1; i <= meta.getColumnCount(); i++) {
                    row.put(meta.getColumnLabel(i), rs.getObject(i));
                }
                rows.add(row);
            }
            return rows;
        } catch (SQLException e) {
            close();
            throw e;
        }
    }

    public void execute(String sql) throws SQLException {
        try (Statement statement = connection().createStatement()) {
            statement.execute(sql);
        } catch (SQLException e) {
            close();
            throw e;
        }
    }

    /**
     * Two CHECKPOINTs, one after the other, each given {@code timeout}; false when one did not complete in time. The
     * checkpointer handles a pending reload at the top of each round of its loop, before it starts a checkpoint it was
     * asked for, and each CHECKPOINT waits for one that starts after the request. The first may have begun in a round
     * that had already looked for a reload before the signal came; the second begins in a round after that one, so once
     * it completes, every reload signalled before this call has been applied (PostgreSQL 15's checkpointer.c).
     */
    boolean twoCheckpoints(Duration timeout) throws SQLException {
        try (Statement statement = connection().createStatement()) {
            statement.setQueryTimeout((int) Math.max(1, timeout.toSeconds()));
            statement.execute("CHECKPOINT");
            statement.execute("CHECKPOINT");
            return true;
        } catch (SQLException e) {
            if ("57014".equals(e.getSQLState())) {
                return false;
            }
            close();
            throw e;
        }
    }

    /**
     * A probe commit (see {@link Postgres#probeCommit}): one logical message written and committed with
     * synchronous_commit on; the commit's wait for the standbys is cancelled after {@code timeout} (the driver sends a
     * cancel request), and then the answer is empty. The standbys' flush positions are read in the same round trip,
     * by the same backend right after the COMMIT returns: a later query would give a fast standby time to flush a
     * commit that never waited for it.
     */
    Optional<ProbeCommit> probeCommit(Duration timeout) throws SQLException {
        Connection c = connection();
        try {
            c.setAutoCommit(false);
            try (Statement statement = c.createStatement()) {
                statement.execute("SET LOCAL synchronous_commit = on");
                statement.execute("SELECT pg_logical_emit_message(true, 'warden', 'synchronous replication probe')");
            }
            Optional<ProbeCommit> probe;
            try (Statement commit = c.createStatement()) {
                commit.setQueryTimeout((int) Math.max(1, timeout.toSeconds()));
                commit.execute("""
                        COMMIT;
                        SELECT pg_current_wal_lsn()::text AS at, r.application_name, r.state, r.sync_state,
                          coalesce(r.flush_lsn, '0/0')::text AS flush
                        FROM (SELECT 1) AS one LEFT JOIN pg_stat_replication AS r ON true""");
                boolean cancelled = warns(commit.getWarnings()) || warns(c.getWarnings());
                if (!commit.getMoreResults()) {
                    throw new SQLException("the probe commit's standby positions did not come back");
                }
                probe = cancelled ? Optional.empty() : Optional.of(probeResult(commit.getResultSet()));
            }
            c.setAutoCommit(true);
            return probe;
        } catch (SQLException e) {
            close();
            throw e;
        }
    }

    private static ProbeCommit probeResult(ResultSet rs) throws SQLException {
        Lsn at = Lsn.ZERO;
        List<Standby> standbys = new ArrayList<>();
        while (rs.next()) {
            at = Lsn.parse(rs.getString("at"));
            if (rs.getString("application_name") != null) {
                standbys.add(new Standby(
                        rs.getString("application_name"),
                        rs.getString("state"),
                        rs.getString("sync_state"),
                        Lsn.parse(rs.getString("flush"))));
            }
        }
        return new ProbeCommit(at, standbys);
    }

    /** Postgres warns "canceling wait for synchronous replication" when a commit's wait was cancelled. */
    private static boolean warns(java.sql.SQLWarning warning) {
        for (java.sql.SQLWarning w = warning; w != null; w = w.getNextWarning()) {
            if (w.getMessage() != null && w.getMessage().contains("synchronous replication")) {
                return true;
            }
        }
        return false;
    }

    private Connection connection() throws SQLException {
        if (connection == null || connection.isClosed()) {
            connection = DriverManager.getConnection(url, properties);
            connection.setAutoCommit(true);
        }
        return connection;
    }

    @Override
    public void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // Already broken; a new one is opened on next use.
            }
            connection = null;
        }
    }

    /** Quotes a literal for the few statements that cannot take bind parameters (ALTER ROLE ... PASSWORD). */
    public static String literal(String value) {
        return "'" + value.replace("'", "''") + "'";
    }

    /** Quotes an identifier (a database's name) for the statements that cannot take it as a parameter. */
    public static String identifier(String name) {
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("an identifier cannot hold a NUL character");
        }
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }
}
