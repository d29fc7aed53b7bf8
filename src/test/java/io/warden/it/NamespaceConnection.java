package io.warden.it;

import io.warden.common.Processes;
import io.warden.runtime.DeploymentState.NodeHost;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Runs a statement on a node from inside its network namespace with psql, for a node the test JVM cannot reach
 * once its link is cut. {@link #open()} returns a minimal {@link Connection} whose statements go through psql.
 */
final class NamespaceConnection {
    private final NodeHost node;
    private final Map<String, String> environment;

    /** @param environment how psql logs in as the superuser ({@link TestCluster#superuserEnvironment}) */
    NamespaceConnection(NodeHost node, Map<String, String> environment) {
        this.node = node;
        this.environment = environment;
    }

    Connection open() throws SQLException {
        return (Connection) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(),
                new Class<?>[] {Connection.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "createStatement" -> statement();
                    case "close" -> null;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    private java.sql.Statement statement() {
        return (java.sql.Statement) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(),
                new Class<?>[] {java.sql.Statement.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "execute" -> run((String) args[0]);
                    case "close" -> null;
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    private boolean run(String sql) throws SQLException {
        var result = Processes.run(
                List.of(
                        "ip",
                        "netns",
                        "exec",
                        node.netns(),
                        "psql",
                        "-X",
                        "-q",
                        "-v",
                        "ON_ERROR_STOP=1",
                        "host=127.0.0.1 port=" + node.port() + " user=postgres dbname=postgres connect_timeout=1",
                        "-c",
                        sql),
                environment,
                Duration.ofSeconds(5));
        if (!result.ok()) {
            throw new SQLException("psql in " + node.netns() + " failed: " + result.tail());
        }
        return false;
    }
}
