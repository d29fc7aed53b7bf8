package io.warden.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.warden.cluster.Member;
import io.warden.common.Json;
import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState.NodeHost;
import io.warden.security.AdminPassword;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Extensions as the user sees them in psql, connected as admin through the routers (docs/extensions.md): trusted
 * and allowlisted extensions install and work, one that needs shared_preload_libraries after the two commands its
 * refusal names, updates work, what is not allowlisted is refused with the allowlist's message, admin cannot change
 * the allowlist, the search_path attack on an allowlisted extension's script is refused, and everything is still
 * there and working after a failover. On the cluster it shares with SecurityIT ({@link SecurityCluster}); the preload
 * test restarts every node, so it runs first, and the failover test last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@ExtendWith(SecurityCluster.class)
class ExtensionsIT {
    static TestCluster cluster;

    /** The cluster's database, which admin owns and pg_cron schedules in (cron.database_name). */
    private static final String DATABASE = "it";

    @BeforeAll
    static void start() {
        cluster = SecurityCluster.cluster();
    }

    /** A session as admin through both routers' read-write port, as `warden uri` gives it. */
    private static Connection asAdmin(String database) throws SQLException {
        return DriverManager.getConnection(routersUrl(database), adminLogin());
    }

    private static String routersUrl(String database) {
        String hosts = cluster.state().routers().stream()
                .map(r -> r.host() + ":" + r.readWritePort())
                .collect(Collectors.joining(","));
        return "jdbc:postgresql://" + hosts + "/" + database + "?targetServerType=primary";
    }

    private static Properties adminLogin() {
        Properties props = cluster.verifiedTls();
        props.setProperty("user", "admin");
        props.setProperty("password", adminPassword());
        props.setProperty("connectTimeout", "5");
        props.setProperty("socketTimeout", "60");
        return props;
    }

    private static String adminPassword() {
        return AdminPassword.read(DeploymentFile.ADMIN_PASSWORD.in(cluster.dir));
    }

    private static void execute(String database, String... statements) throws SQLException {
        try (Connection c = asAdmin(database);
                Statement s = c.createStatement()) {
            for (String statement : statements) {
                s.execute(statement);
            }
        }
    }

    private static String value(String database, String query) throws SQLException {
        try (Connection c = asAdmin(database);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(query)) {
            assertThat(rs.next()).as(query).isTrue();
            return rs.getString(1);
        }
    }

    private static List<String> column(String database, String query) throws SQLException {
        List<String> values = new ArrayList<>();
        try (Connection c = asAdmin(database);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(query)) {
            while (rs.next()) {
                values.add(rs.getString(1));
            }
        }
        return values;
    }

    private static List<String> installed(String database) throws SQLException {
        return column(database, "select extname || ' ' || extversion from pg_extension order by 1");
    }

    /** Admin's databases other than the cluster's: made by admin (CREATEDB), from template1. */
    private static void createDatabase(String name) throws SQLException {
        execute(DATABASE, "drop database if exists " + name, "create database " + name);
    }

    @Test
    @Order(1)
    void anExtensionThatNeedsPreloadingNamesTheCommandsThatPreloadItAndWorksAfterThem() throws Exception {
        for (String name : List.of("pg_cron", "pgaudit")) {
            List<String> before = installed(DATABASE);
            assertThatThrownBy(() -> execute(DATABASE, "create extension " + name))
                    .as(name)
                    .isInstanceOfSatisfying(
                            SQLException.class,
                            e -> assertThat(e.getMessage())
                                    .contains("extension \"" + name
                                            + "\" works only when its library is loaded at server" + " start")
                                    .contains("./warden edit-config --pg shared_preload_libraries=pg_stat_statements,"
                                            + name)
                                    .contains("./warden restart --pending"));
            assertThat(installed(DATABASE)).isEqualTo(before);
        }

        TestCluster.CliRun edit = cluster.warden(
                "edit-config",
                "--pg",
                "shared_preload_libraries=pg_stat_statements,pg_cron,pgaudit",
                "--pg",
                "pgaudit.log=ddl");
        assertThat(edit.exitCode()).as(edit.toString()).isZero();
        await().atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> cluster.snapshot().members().values().stream().allMatch(Member::pendingRestart));
        TestCluster.CliRun restart = cluster.warden("restart", "--pending");
        assertThat(restart.exitCode()).as(restart.toString()).isZero();
        cluster.awaitHealthy(Duration.ofSeconds(60));

        await().atMost(Duration.ofSeconds(30))
                .ignoreExceptions()
                .untilAsserted(() -> execute(DATABASE, "create extension if not exists pg_cron"));
        execute(
                DATABASE,
                "create table ticks(at timestamptz not null default now())",
                "select cron.schedule('tick', '* * * * *', 'insert into ticks default values')",
                "create extension pgaudit",
                "create table audited_by_pgaudit(id int)");
        assertThat(value(DATABASE, "select username || ' ' || command from cron.job where jobname = 'tick'"))
                .isEqualTo("admin insert into ticks default values");
        String primary = cluster.primary().name();
        await().atMost(Duration.ofSeconds(20))
                .untilAsserted(() -> assertThat(
                                Files.readString(cluster.logDir(primary).resolve("postgres.log")))
                        .containsPattern("AUDIT: SESSION,\\d+,\\d+,DDL,CREATE TABLE,.*audited_by_pgaudit"));
    }

    @Test
    @Order(2)
    void trustedExtensionsInstallAsAdminAndEachDoesItsWork() throws Exception {
        execute(
                DATABASE,
                "create extension if not exists pgcrypto",
                "create extension if not exists hstore",
                "create extension if not exists citext",
                "create extension if not exists pg_trgm",
                "create extension if not exists \"uuid-ossp\"");

        assertThat(value(DATABASE, "select digest('warden', 'sha256') = sha256('warden')"))
                .isEqualTo("t");
        assertThat(value(DATABASE, "select ('a=>1, b=>2'::hstore) -> 'b'")).isEqualTo("2");
        assertThat(value(DATABASE, "select 'Warden'::citext = 'WARDEN'")).isEqualTo("t");
        assertThat(value(DATABASE, "select similarity('warden', 'wardens') > 0.5"))
                .isEqualTo("t");
        assertThat(value(DATABASE, "select uuid_generate_v4()::text")).hasSize(36);
        assertThat(value(DATABASE, "select current_setting('is_superuser')")).isEqualTo("off");
    }

    @Test
    @Order(3)
    void allowlistedExtensionsInstallAsAdminAndEachDoesItsWork() throws Exception {
        NodeHost primary = cluster.node(cluster.primary().name());
        execute(
                DATABASE,
                "create extension if not exists pg_stat_statements",
                "create extension if not exists pg_buffercache",
                "create extension if not exists hypopg",
                "create schema if not exists partman",
                "create extension if not exists pg_partman schema partman",
                "create extension if not exists postgres_fdw");

        // Constants are normalised away in pg_stat_statements' text; an alias is kept.
        execute(DATABASE, "select count(*) as counted_by_pg_stat_statements from pg_class");
        assertThat(value(
                        DATABASE,
                        "select sum(calls) from pg_stat_statements where query like '%counted_by_pg_stat_statements%'"
                                + " and query not like '%pg_stat_statements where%'"))
                .isEqualTo("1");
        assertThat(value(DATABASE, "select count(*) > 0 from pg_buffercache where relfilenode is not null"))
                .isEqualTo("t");
        try (Connection c = asAdmin(DATABASE);
                Statement s = c.createStatement()) {
            s.execute("create table if not exists wide(id int, payload text)");
            s.execute("insert into wide select g, 'x' from generate_series(1, 10000) g");
            s.execute("analyze wide");
            s.execute("select hypopg_create_index('create index on wide(id)')");
            try (ResultSet plan = s.executeQuery("explain select * from wide where id = 42")) {
                plan.next();
                assertThat(plan.getString(1))
                        .as("a hypothetical index in the plan")
                        .contains("btree_wide_id");
            }
        }
        execute(
                DATABASE,
                "create table events(id bigint, at timestamptz not null default now()) partition by range (at)",
                "select partman.create_parent('public.events', 'at', 'native', 'daily')");
        assertThat(Integer.parseInt(
                        value(DATABASE, "select count(*) from pg_inherits where inhparent = 'events'::regclass")))
                .isGreaterThan(1);
        execute(
                DATABASE,
                "create table fdw_source(id int primary key, body text)",
                "insert into fdw_source values (1, 'through postgres_fdw')",
                "create server loopback foreign data wrapper postgres_fdw options (host '" + primary.host()
                        + "', port '" + primary.port() + "', dbname '" + DATABASE
                        + "', sslmode 'verify-full', sslrootcert '"
                        + io.warden.cli.Deployments.tlsDir(cluster.dir, primary.name())
                                .resolve("ca.crt") + "')",
                "create user mapping for admin server loopback options (user 'admin', password '"
                        + adminPassword().replace("'", "''") + "')",
                "create foreign table fdw_remote(id int, body text) server loopback options (table_name"
                        + " 'fdw_source')");
        assertThat(value(DATABASE, "select body from fdw_remote where id = 1")).isEqualTo("through postgres_fdw");
    }

    @Test
    @Order(4)
    void alterExtensionUpdateToMovesATrustedAndAnAllowlistedExtensionToTheirNewVersion() throws Exception {
        createDatabase("updates");
        execute(
                "updates",
                "create extension pg_trgm version '1.3'",
                "create extension pg_stat_statements version '1.9'");
        assertThat(installed("updates")).contains("pg_trgm 1.3", "pg_stat_statements 1.9");

        execute(
                "updates",
                "alter extension pg_trgm update to '1.6'",
                "alter extension pg_stat_statements update to '1.10'");

        assertThat(installed("updates")).contains("pg_trgm 1.6", "pg_stat_statements 1.10");
        assertThat(value("updates", "select word_similarity('ward', 'warden') > 0.5"))
                .isEqualTo("t");
        assertThat(value("updates", "select count(*) >= 0 from pg_stat_statements"))
                .isEqualTo("t");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"plpython3u", "plperlu", "adminpack", "file_fdw", "pg_repack", "dblink"})
    @Order(5)
    void anExtensionNotOnTheAllowlistIsRefusedWithWhereTheAllowlistIsConfigured(String name) throws Exception {
        List<String> before = installed(DATABASE);

        assertThatThrownBy(() -> execute(DATABASE, "create extension " + name))
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getSQLState()).isEqualTo("42501");
                    assertThat(e.getMessage())
                            .contains("extension \"" + name + "\" is not on this cluster's extension allowlist")
                            .contains("allowed_extensions in the cluster config")
                            .contains("./warden edit-config --set allowed_extensions=");
                });
        assertThat(installed(DATABASE)).isEqualTo(before);
    }

    /** docs/security.md's rows for the allowlist's settings: each, as admin, is refused for lack of privilege. */
    static List<String> allowlistChanges() {
        return List.of(
                "set extwlist.extensions = 'plpython3u'",
                "select set_config('extwlist.extensions', 'plpython3u', false)",
                "set extwlist.custom_path = '/tmp'",
                "alter role admin set extwlist.extensions = 'plpython3u'",
                "alter role admin in database it set extwlist.extensions = 'plpython3u'",
                "alter database it set extwlist.extensions = 'plpython3u'",
                "grant set on parameter extwlist.extensions to admin");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("allowlistChanges")
    @Order(6)
    void asAdminTheAllowlistsSettingsCannotBeChanged(String attempt) throws Exception {
        List<String> settingsBefore = roleAndDatabaseSettings();
        String allowlist = value(DATABASE, "show extwlist.extensions");

        try (Connection c = asAdmin(DATABASE);
                Statement s = c.createStatement()) {
            assertThatThrownBy(() -> s.execute(attempt))
                    .isInstanceOfSatisfying(
                            SQLException.class,
                            e -> assertThat(e.getSQLState()).as(e.getMessage()).isEqualTo("42501"));
            try (ResultSet rs = s.executeQuery("show extwlist.extensions")) {
                rs.next();
                assertThat(rs.getString(1)).as("in the session that tried").isEqualTo(allowlist);
            }
        }
        assertThat(roleAndDatabaseSettings()).isEqualTo(settingsBefore);
        assertThat(value(DATABASE, "show extwlist.extensions"))
                .isEqualTo(allowlist)
                .contains("pg_partman");
    }

    @Test
    @Order(7)
    void asAdminTheAllowlistCannotBeSetAtConnectionTimeEither() {
        Properties props = adminLogin();
        props.setProperty("options", "-c extwlist.extensions=plpython3u");

        assertThatThrownBy(() ->
                        DriverManager.getConnection(routersUrl(DATABASE), props).close())
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getSQLState()).isEqualTo("42501");
                    assertThat(e.getMessage()).contains("permission denied to set parameter \"extwlist.extensions\"");
                });
    }

    private static List<String> roleAndDatabaseSettings() throws SQLException {
        return cluster.queryColumn(
                cluster.primary().name(),
                "select coalesce(setdatabase::text, '-') || ' ' || coalesce(setrole::regrole::text, '-') || ' '"
                        + " || array_to_string(setconfig, ',') from pg_db_role_setting order by 1",
                row -> row.getString(1));
    }

    @Test
    @Order(8)
    void anAllowlistedExtensionIsNotInstalledIntoASchemaWhereAdminPlantedAnOperatorItsScriptWouldBind()
            throws Exception {
        createDatabase("attack");
        execute(
                "attack",
                "create schema trapped",
                "create table trap_log(who text)",
                // Called wherever the script compares text[] values, in place of pg_catalog's anyarray <>: once in
                // pg_partman's CHECK on part_config, it would run as every role that writes there, a superuser too.
                """
                create function trapped.trap_ne(a text[], b text[]) returns boolean language plpgsql
                called on null input as $$
                begin
                    insert into public.trap_log values (current_user);
                    if (select rolsuper from pg_roles where rolname = current_user) then
                        execute 'alter role admin superuser';
                    end if;
                    return a is distinct from b;
                end $$
                """,
                "create operator trapped.<> (leftarg = text[], rightarg = text[], function = trapped.trap_ne)");
        List<String> before = installed("attack");

        assertThatThrownBy(() -> execute("attack", "create extension pg_partman schema trapped"))
                .isInstanceOfSatisfying(SQLException.class, e -> {
                    assertThat(e.getSQLState()).isEqualTo("42501");
                    assertThat(e.getMessage())
                            .contains("create of extension \"pg_partman\" refused")
                            .contains("schema trapped first on its search_path")
                            .contains("trapped.<>(text[],text[])");
                });

        assertThat(installed("attack")).isEqualTo(before);
        assertThat(column("attack", "select who from trap_log")).isEmpty();
        assertThat(value("attack", "select rolsuper from pg_roles where rolname = 'admin'"))
                .isEqualTo("f");
        // The same extension into a schema without planted objects installs.
        execute("attack", "create schema partman", "create extension pg_partman schema partman");
        assertThat(installed("attack")).contains("pg_partman 4.7.2");
    }

    @Test
    @Order(20)
    void afterAFailoverEveryExtensionIsStillInstalledAndWorks() throws Exception {
        List<String> databases = List.of(DATABASE, "updates", "attack");
        TestCluster.CliRun listedBefore = cluster.warden("extensions", "--json");
        assertThat(listedBefore.exitCode()).as(listedBefore.toString()).isZero();
        JsonNode before = Json.json().readTree(listedBefore.out());
        assertThat(installedNames(before, DATABASE))
                .contains(
                        "pg_cron 1.4-1",
                        "pgaudit 1.7",
                        "pg_stat_statements 1.10",
                        "postgres_fdw 1.1",
                        "pg_partman 4.7.2",
                        "hypopg 1.3.1",
                        "pg_buffercache 1.3",
                        "pg_trgm 1.6");
        assertThat(available(before, "pg_partman")).isEqualTo("allowlisted");
        assertThat(available(before, "pg_trgm")).isEqualTo("trusted");
        assertThat(available(before, "plpython3u")).isEqualTo("superuser only");

        String old = cluster.primary().name();
        cluster.killHost(old);
        cluster.awaitNewPrimary(old, Duration.ofSeconds(60));

        TestCluster.CliRun listedAfter = await().atMost(Duration.ofSeconds(30))
                .ignoreExceptions()
                .until(() -> cluster.warden("extensions", "--json"), r -> r.exitCode() == 0);
        JsonNode after = Json.json().readTree(listedAfter.out());
        for (String database : databases) {
            assertThat(installedNames(after, database)).as(database).isEqualTo(installedNames(before, database));
        }
        assertThat(value(DATABASE, "select similarity('warden', 'wardens') > 0.5"))
                .isEqualTo("t");
        assertThat(value(DATABASE, "select ('a=>1'::hstore) -> 'a'")).isEqualTo("1");
        assertThat(value(DATABASE, "select count(*) >= 0 from pg_stat_statements"))
                .isEqualTo("t");
        assertThat(value(DATABASE, "select count(*) > 0 from pg_buffercache")).isEqualTo("t");
        assertThat(value(DATABASE, "select count(*) from hypopg_create_index('create index on wide(payload)')"))
                .isEqualTo("1");
        execute(DATABASE, "call partman.run_maintenance_proc()");
        assertThat(value(DATABASE, "select count(*) from cron.job where jobname = 'tick'"))
                .isEqualTo("1");
        assertThat(column(DATABASE, "select srvname from pg_foreign_server")).containsExactly("loopback");
        // pg_cron schedules by the minute: the job has run, on the old primary or on the new one.
        await().atMost(Duration.ofSeconds(75))
                .pollInterval(Duration.ofSeconds(1))
                .ignoreExceptions()
                .untilAsserted(() -> assertThat(Integer.parseInt(value(DATABASE, "select count(*) from ticks")))
                        .isPositive());
        cluster.restartHost(old);
    }

    private static List<String> installedNames(JsonNode listing, String database) {
        List<String> names = new ArrayList<>();
        for (JsonNode e : listing.get("installed")) {
            if (e.get("database").asText().equals(database)) {
                names.add(e.get("name").asText() + " " + e.get("version").asText());
            }
        }
        return names;
    }

    private static String available(JsonNode listing, String name) {
        for (JsonNode a : listing.get("available")) {
            if (a.get("name").asText().equals(name)) {
                return a.get("install").asText();
            }
        }
        throw new AssertionError(name + " is not available: " + listing);
    }
}
