package io.warden.cli;

import io.warden.cluster.ExtensionAllowlist;
import io.warden.common.Json;
import io.warden.common.WardenException;
import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState;
import io.warden.security.AdminPassword;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "extensions",
        description = "The extensions installed in each database, with their versions and schemas, and those admin may"
                + " install (trusted, or on the cluster config's allowed_extensions), read as admin through the"
                + " routers from the primary.")
final class ExtensionsCommand extends DeploymentCommand {
    @Option(names = "--json", description = "print {installed: [...], available: [...]} for scripts")
    boolean json;

    /** One extension in one database. */
    record Installed(String database, String name, String version, String schema) {}

    /**
     * One extension this server has the files of, and how admin may install it: {@code trusted}, {@code allowlisted},
     * or {@code superuser only}; {@code preload} is the library it needs in shared_preload_libraries, if any, and
     * {@code preloaded} whether it is there now.
     */
    record Available(String name, String defaultVersion, String install, Optional<String> preload, boolean preloaded) {}

    record Listing(List<Installed> installed, List<Available> available) {}

    @Override
    int run(Path deployment, DeploymentState state) throws SQLException {
        Listing listing = read(deployment, state);
        if (json) {
            System.out.println(Json.writePretty(listing));
            return 0;
        }
        System.out.printf("%-14s %-22s %-10s %s%n", "DATABASE", "INSTALLED", "VERSION", "SCHEMA");
        for (Installed e : listing.installed()) {
            System.out.printf("%-14s %-22s %-10s %s%n", e.database(), e.name(), e.version(), e.schema());
        }
        System.out.println();
        System.out.printf("%-22s %-10s %s%n", "AVAILABLE", "DEFAULT", "INSTALL AS ADMIN");
        for (Available a : listing.available()) {
            String how = a.install()
                    + a.preload()
                            .map(l -> a.preloaded() ? "" : " (needs shared_preload_libraries with " + l + ")")
                            .orElse("");
            System.out.printf("%-22s %-10s %s%n", a.name(), a.defaultVersion(), how);
        }
        return 0;
    }

    /** Reads everything as admin: each database it may connect to, then the server's available extensions once. */
    static Listing read(Path deployment, DeploymentState state) throws SQLException {
        Path passwordFile = DeploymentFile.ADMIN_PASSWORD.in(deployment);
        if (!Files.exists(passwordFile)) {
            throw new WardenException(
                    "this deployment has no admin role (" + passwordFile + " is missing)",
                    "a cluster bootstrapped by ./warden up from now on has one");
        }
        String password = AdminPassword.read(passwordFile);
        List<Installed> installed = new ArrayList<>();
        List<String> databases;
        try (Connection c = connect(deployment, state, state.cluster(), password)) {
            databases = column(
                    c,
                    "select datname from pg_database where datallowconn and not datistemplate"
                            + " and has_database_privilege(datname, 'connect') order by 1");
        }
        for (String database : databases) {
            try (Connection c = connect(deployment, state, database, password);
                    Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("select e.extname, e.extversion, n.nspname from pg_extension e"
                            + " join pg_namespace n on n.oid = e.extnamespace order by 1")) {
                while (rs.next()) {
                    installed.add(new Installed(database, rs.getString(1), rs.getString(2), rs.getString(3)));
                }
            }
        }
        return new Listing(installed, available(deployment, state, password));
    }

    private static List<Available> available(Path deployment, DeploymentState state, String password)
            throws SQLException {
        List<Available> available = new ArrayList<>();
        try (Connection c = connect(deployment, state, state.cluster(), password);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select a.name, a.default_version, bool_or(v.trusted),"
                        + " coalesce(current_setting('extwlist.extensions', true), ''),"
                        + " current_setting('shared_preload_libraries')"
                        + " from pg_available_extensions a join pg_available_extension_versions v using (name)"
                        + " group by 1, 2 order by 1")) {
            while (rs.next()) {
                String name = rs.getString(1);
                List<String> allowlist = names(rs.getString(4));
                List<String> preloadedLibraries = names(rs.getString(5));
                Optional<String> preload = ExtensionAllowlist.preloadLibrary(name);
                String install =
                        rs.getBoolean(3) ? "trusted" : allowlist.contains(name) ? "allowlisted" : "superuser only";
                boolean preloaded = preload.map(preloadedLibraries::contains).orElse(true);
                available.add(new Available(name, rs.getString(2), install, preload, preloaded));
            }
        }
        return available;
    }

    private static List<String> names(String list) {
        return Arrays.stream(list.split(","))
                .map(String::strip)
                .filter(n -> !n.isEmpty())
                .toList();
    }

    private static List<String> column(Connection c, String sql) throws SQLException {
        List<String> values = new ArrayList<>();
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                values.add(rs.getString(1));
            }
        }
        return values;
    }

    /** As admin through both routers' read-write port, as {@code warden uri} connects. */
    private static Connection connect(Path deployment, DeploymentState state, String database, String password)
            throws SQLException {
        String hosts = state.routers().stream()
                .map(r -> r.host() + ":" + r.readWritePort())
                .collect(Collectors.joining(","));
        Properties props = AdminSessions.properties(deployment, password, "warden extensions");
        props.setProperty("targetServerType", "primary");
        return AdminSessions.open(hosts, database, props);
    }
}
