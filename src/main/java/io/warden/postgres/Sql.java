package io.warden.postgres;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The one way the agent runs SQL on its own postgres: one pgjdbc connection, reopened when it breaks. Not
 * thread-safe; only the HA loop uses it.
 */
public final class Sql implements AutoCloseable {
    private final String url;
    private final Properties properties = new Properties();
    private Connection connection;

    public Sql(String host, int port, String user, String password) {
        this.url = "jdbc:postgresql://" + host + ":" + port + "/postgres";
        properties.setProperty("user", user);
        properties.setProperty("password", password);
        properties.setProperty("connectTimeout", "2");
        properties.setProperty("socketTimeout", "5");
        properties.setProperty("ApplicationName", "warden-agent");
        properties.setProperty("sslmode", "disable");
    }

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
}
