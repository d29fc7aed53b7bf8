package io.warden.cli;

import io.warden.runtime.DeploymentFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * How the CLI logs in as admin, as a user's client would: TLS verifying the node against the deployment's CA when
 * the deployment has one, never as one of Warden's own roles.
 */
final class AdminSessions {
    private AdminSessions() {}

    /** pgjdbc properties for admin with {@code password}, named {@code application} in pg_stat_activity. */
    static Properties properties(Path deployment, String password, String application) {
        Properties props = new Properties();
        props.setProperty("user", "admin");
        props.setProperty("password", password);
        props.setProperty("connectTimeout", "5");
        props.setProperty("socketTimeout", "30");
        props.setProperty("ApplicationName", application);
        Path ca = DeploymentFile.CA_CERTIFICATE.in(deployment);
        if (Files.exists(ca)) {
            // As warden uri: the node reached must hold a certificate from this deployment's CA naming its address.
            props.setProperty("sslmode", "verify-full");
            props.setProperty("sslrootcert", ca.toString());
            props.setProperty("sslcert", "");
        }
        return props;
    }

    /** A session as admin on {@code host:port} (a node, or a list of routers), in {@code database}. */
    static Connection open(String hosts, String database, Properties props) throws SQLException {
        return DriverManager.getConnection(
                "jdbc:postgresql://" + hosts + "/"
                        + java.net.URLEncoder.encode(database, java.nio.charset.StandardCharsets.UTF_8),
                props);
    }
}
