package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.warden.cluster.NodeTags;
import io.warden.common.WardenException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.AbstractListAssert;
import org.assertj.core.api.ObjectAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link AgentConfig#load}: defaults, the full key set, and every error a person can make in the file. */
class AgentConfigTest {

    private static final String MINIMAL = """
            name: n1
            port: 5432
            api_port: 8008
            etcd: [http://127.0.0.1:2379]
            data_dir: /var/lib/warden/n1/data
            """;

    @TempDir
    Path dir;

    private Path write(String yaml) throws IOException {
        Path file = dir.resolve("node.yaml");
        Files.writeString(file, yaml);
        return file;
    }

    private AgentConfig load(String yaml) throws IOException {
        return AgentConfig.load(write(yaml));
    }

    private WardenException failure(String yaml) throws IOException {
        Path file = write(yaml);
        WardenException e = catchThrowableOfType(WardenException.class, () -> AgentConfig.load(file));
        assertThat(e).as("loading should fail for:\n%s", yaml).isNotNull();
        assertThat(e.getMessage()).as("message names the file").contains(file.toString());
        assertThat(e.nextStep()).isNotBlank();
        return e;
    }

    /** What AgentConfig derives from the keys as read: durations parsed, paths resolved, the API's URL, in order. */
    private static AbstractListAssert<?, List<?>, Object, ObjectAssert<Object>> assertThatDerived(AgentConfig c) {
        return assertThat(c)
                .extracting(
                        AgentConfig::ttlDuration,
                        AgentConfig::loopWaitDuration,
                        AgentConfig::primaryStartTimeoutDuration,
                        AgentConfig::watchdogRequired,
                        AgentConfig::workPath,
                        AgentConfig::watchdogSocket,
                        AgentConfig::apiUrl);
    }

    /**
     * Loading {@code yaml} fails: the message names the unknown {@code key} and a line, and the next step names
     * each of {@code suggested} (the keys it may have meant, and what to check).
     */
    private void assertRefusedAsUnknownKey(String yaml, String key, String... suggested) throws IOException {
        WardenException e = failure(yaml);
        assertThat(e.getMessage()).contains("unknown key '" + key + "'").containsPattern("at line \\d+");
        assertThat(e.nextStep()).contains(suggested);
    }

    /** MINIMAL with one line replaced or added ("key: value"); a null value removes the key. */
    private static String minimalWith(String key, String value) {
        StringBuilder out = new StringBuilder();
        boolean replaced = false;
        for (String line : MINIMAL.split("\n")) {
            if (line.startsWith(key + ":")) {
                replaced = true;
                if (value != null) {
                    out.append(key).append(": ").append(value).append('\n');
                }
            } else {
                out.append(line).append('\n');
            }
        }
        if (!replaced && value != null) {
            out.append(key).append(": ").append(value).append('\n');
        }
        return out.toString();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Defaults and mapping
    // ------------------------------------------------------------------------------------------------------------

    @Test
    void minimalFileGetsDefaults() throws IOException {
        AgentConfig c = load(MINIMAL);

        assertThat(c.name()).isEqualTo("n1");
        assertThat(c.port()).isEqualTo(5432);
        assertThat(c.apiPort()).isEqualTo(8008);
        assertThat(c.etcd()).containsExactly("http://127.0.0.1:2379");
        assertThat(c.dataDir()).isEqualTo("/var/lib/warden/n1/data");

        assertThat(c.cluster()).isEqualTo("main");
        assertThat(c.host()).isEqualTo("127.0.0.1");
        assertThat(c.apiHost()).isEqualTo("127.0.0.1");
        assertThat(c.workDir()).isEqualTo("/var/lib/warden/n1");
        assertThat(c.binDir()).isEqualTo("/usr/lib/postgresql/15/bin");
        assertThat(c.superuserPassword()).isEqualTo("postgres");
        assertThat(c.replicationPassword()).isEqualTo("replicator");
        assertThat(c.ttl()).isEqualTo("3s");
        assertThat(c.loopWait()).isEqualTo("1s");
        assertThat(c.primaryStartTimeout()).isEqualTo("30s");
        assertThat(c.watchdog()).isEqualTo("required");
        assertThat(c.postgresUser()).isNull();
        assertThat(c.tags()).isEqualTo(NodeTags.NONE);
        assertThat(c.parameters()).isEmpty();
    }

    @Test
    void minimalFileDerivedValues() throws IOException {
        AgentConfig c = load(MINIMAL);

        assertThatDerived(c)
                .containsExactly(
                        Duration.ofSeconds(3),
                        Duration.ofSeconds(1),
                        Duration.ofSeconds(30),
                        true,
                        Path.of("/var/lib/warden/n1"),
                        Path.of("/var/lib/warden/n1/watchdog.sock"),
                        "http://127.0.0.1:8008");
        assertThat(c.ttlDuration()).isEqualTo(AgentConfig.DEFAULT_TTL);
        assertThat(c.dataPath()).isEqualTo(Path.of("/var/lib/warden/n1/data"));
    }

    @Test
    void relativeDataDirDefaultsWorkDirToItsAbsoluteParent() throws IOException {
        AgentConfig c = load(minimalWith("data_dir", "nodes/n1/data"));

        assertThat(c.dataDir()).isEqualTo("nodes/n1/data");
        assertThat(Path.of(c.workDir()))
                .isAbsolute()
                .isEqualTo(Path.of("nodes/n1").toAbsolutePath());
    }

    @Test
    void apiHostDefaultsToHost() throws IOException {
        AgentConfig c = load(minimalWith("host", "10.1.2.3"));

        assertThat(c.host()).isEqualTo("10.1.2.3");
        assertThat(c.apiHost()).isEqualTo("10.1.2.3");
        assertThat(c.apiUrl()).isEqualTo("http://10.1.2.3:8008");
    }

    @Test
    void everyKeyIsMapped() throws IOException {
        AgentConfig c = load("""
                name: db-2.east_1
                cluster: orders
                host: 10.0.0.2
                port: 6432
                api_host: 10.0.1.2
                api_port: 9008
                etcd:
                  - http://10.0.0.10:2379
                  - http://10.0.0.11:2379
                  - http://10.0.0.12:2379
                data_dir: /srv/pg/data
                work_dir: /srv/warden
                bin_dir: /usr/lib/postgresql/17/bin
                superuser_password: s3cret
                replication_password: r3pl
                ttl: 10s
                loop_wait: 2s
                primary_start_timeout: 2m
                watchdog: "off"
                postgres_user: postgres
                tags:
                  nofailover: true
                  noloadbalance: true
                  nosync: false
                parameters:
                  max_connections: 200
                  shared_buffers: 256MB
                  log_line_prefix: "%m [%p] "
                """);

        assertThat(c.name()).isEqualTo("db-2.east_1");
        assertThat(c.cluster()).isEqualTo("orders");
        assertThat(c.host()).isEqualTo("10.0.0.2");
        assertThat(c.port()).isEqualTo(6432);
        assertThat(c.apiHost()).isEqualTo("10.0.1.2");
        assertThat(c.apiPort()).isEqualTo(9008);
        assertThat(c.etcd()).containsExactly("http://10.0.0.10:2379", "http://10.0.0.11:2379", "http://10.0.0.12:2379");
        assertThat(c.dataDir()).isEqualTo("/srv/pg/data");
        assertThat(c.workDir()).isEqualTo("/srv/warden");
        assertThat(c.binDir()).isEqualTo("/usr/lib/postgresql/17/bin");
        assertThat(c.superuserPassword()).isEqualTo("s3cret");
        assertThat(c.replicationPassword()).isEqualTo("r3pl");
        assertThat(c.ttl()).isEqualTo("10s");
        assertThat(c.loopWait()).isEqualTo("2s");
        assertThat(c.primaryStartTimeout()).isEqualTo("2m");
        assertThat(c.watchdog()).isEqualTo("off");
        assertThat(c.postgresUser()).isEqualTo("postgres");
        assertThat(c.tags()).isEqualTo(new NodeTags(true, true, false));
        assertThat(c.parameters())
                .containsExactlyInAnyOrderEntriesOf(
                        Map.of("max_connections", "200", "shared_buffers", "256MB", "log_line_prefix", "%m [%p] "));

        assertThatDerived(c)
                .containsExactly(
                        Duration.ofSeconds(10),
                        Duration.ofSeconds(2),
                        Duration.ofMinutes(2),
                        false,
                        Path.of("/srv/warden"),
                        Path.of("/srv/warden/watchdog.sock"),
                        "http://10.0.1.2:9008");
    }

    @Test
    void loadedListsAndMapsAreImmutable() throws IOException {
        AgentConfig c = load(minimalWith("parameters", "{work_mem: 4MB}"));

        assertThat(c.etcd()).isUnmodifiable();
        assertThat(c.parameters()).isUnmodifiable();
    }

    @Test
    void partialTagsDefaultToFalse() throws IOException {
        AgentConfig c = load(minimalWith("tags", "{nofailover: true}"));

        assertThat(c.tags()).isEqualTo(new NodeTags(true, false, false));
    }

    @Test
    void bareNumbersAreAcceptedForDurations() throws IOException {
        AgentConfig c = load(MINIMAL + "ttl: 4\nloop_wait: 2\n");

        assertThat(c.ttl()).isEqualTo("4");
        assertThat(c.ttlDuration()).isEqualTo(Duration.ofSeconds(4));
        assertThat(c.loopWaitDuration()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void watchdogRequiredCanBeExplicit() throws IOException {
        AgentConfig c = load(minimalWith("watchdog", "required"));

        assertThat(c.watchdog()).isEqualTo("required");
        assertThat(c.watchdogRequired()).isTrue();
    }

    @Test
    void loopWaitOfExactlyHalfTheTtlIsAccepted() throws IOException {
        AgentConfig c = load(MINIMAL + "ttl: 4s\nloop_wait: 2s\n");

        assertThat(c.loopWaitDuration()).isEqualTo(Duration.ofSeconds(2));
    }

    @Test
    void ttlInWholeSecondsWrittenInMillisecondsIsAccepted() throws IOException {
        AgentConfig c = load(MINIMAL + "ttl: 2000ms\nloop_wait: 500ms\n");

        assertThat(c.ttlDuration()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.loopWaitDuration()).isEqualTo(Duration.ofMillis(500));
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 65535})
    void portBoundsAreAccepted(int port) throws IOException {
        assertThat(load(minimalWith("port", String.valueOf(port))).port()).isEqualTo(port);
        assertThat(load(minimalWith("api_port", String.valueOf(port))).apiPort())
                .isEqualTo(port);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "a",
                "n1",
                "node-1",
                "node_1",
                "db.example",
                "9lives",
                "A23456789012345678901234567890123456789012345678901234567890123"
            })
    void validNamesAreAccepted(String name) throws IOException {
        assertThat(load(minimalWith("name", name)).name()).isEqualTo(name);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Errors
    // ------------------------------------------------------------------------------------------------------------

    @Test
    void unknownKeyIsNamedWithItsLineAndTheKnownKeys() throws IOException {
        assertRefusedAsUnknownKey(
                MINIMAL + "loop_wiat: 1s\n",
                "loop_wiat",
                "spelling",
                "known keys",
                "loop_wait",
                "data_dir",
                "api_port",
                "primary_start_timeout",
                "superuser_password");
    }

    /**
     * BUG (reported, not fixed): records are built through a property-based creator, for which Jackson buffers
     * unknown properties and reports them only when the enclosing mapping has been read, so the line given is
     * where that mapping ends (here 5, the end of the file), not the line of the key.
     */
    @Test
    void unknownKeyInTheMiddleOfTheFileNamesItsOwnLine() throws IOException {
        WardenException e = failure("""
                name: n1
                port: 5432
                datadir: /tmp/x
                api_port: 8008
                """);

        assertThat(e.getMessage()).contains("'datadir'").endsWith("at line 3");
    }

    @Test
    void unknownKeyInTheMiddleOfTheFileIsNamed() throws IOException {
        assertRefusedAsUnknownKey("""
                name: n1
                port: 5432
                datadir: /tmp/x
                api_port: 8008
                """, "datadir", "data_dir");
    }

    @Test
    void camelCaseKeyIsUnknown() throws IOException {
        WardenException e = failure(MINIMAL + "dataDir: /tmp/x\n");

        assertThat(e.getMessage()).contains("'dataDir'");
        assertThat(e.nextStep()).contains("data_dir");
    }

    @Test
    void unknownTagIsRejected() throws IOException {
        assertRefusedAsUnknownKey(
                MINIMAL + "tags:\n  nofailiver: true\n", "nofailiver", "nofailover", "noloadbalance", "nosync");
    }

    @Test
    void malformedYamlNamesTheLine() throws IOException {
        WardenException e = failure("""
                name: n1
                port: 5432
                etcd: [http://127.0.0.1:2379
                data_dir: /tmp/x
                """);

        assertThat(e.getMessage()).contains("malformed config file").containsPattern("at line [34]");
        assertThat(e.nextStep()).contains("YAML syntax");
    }

    @Test
    void badIndentationIsMalformed() throws IOException {
        WardenException e = failure("name: n1\nport: 5432\n  api_port: 8008\n");

        assertThat(e.getMessage()).contains("malformed config file").contains("at line");
    }

    @Test
    void wrongValueTypeIsReportedWithItsLine() throws IOException {
        WardenException e = failure(minimalWith("port", "five-four-three-two"));

        assertThat(e.getMessage()).contains("line").contains("five-four-three-two");
    }

    @Test
    void topLevelListIsMalformed() throws IOException {
        WardenException e = failure("- name: n1\n- port: 5432\n");

        assertThat(e.getMessage()).contains("malformed config file").contains("line 1");
    }

    @ParameterizedTest
    @ValueSource(strings = {"name", "port", "api_port", "data_dir"})
    void missingRequiredKeyIsNamed(String key) throws IOException {
        WardenException e = failure(minimalWith(key, null));

        assertThat(e.getMessage()).isEqualTo("missing key '" + key + "' in " + dir.resolve("node.yaml"));
        assertThat(e.nextStep()).contains("docs/configuration.md");
    }

    @Test
    void missingEtcdIsNamedWithAnExample() throws IOException {
        WardenException e = failure(minimalWith("etcd", null));

        assertThat(e.getMessage()).contains("missing key 'etcd'");
        assertThat(e.nextStep()).contains("etcd endpoints").contains("https://127.0.0.1:2379");
    }

    @Test
    void emptyEtcdListIsMissing() throws IOException {
        WardenException e = failure(minimalWith("etcd", "[]"));

        assertThat(e.getMessage()).contains("missing key 'etcd'");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "-n1",
                "_n1",
                ".n1",
                "node 1",
                "node/1",
                "nöde",
                "A234567890123456789012345678901234567890123456789012345678901234"
            })
    void invalidNameIsRejected(String name) throws IOException {
        WardenException e = failure(minimalWith("name", "'" + name + "'"));

        assertThat(e.getMessage()).contains("invalid name '" + name + "'");
        assertThat(e.nextStep()).contains("letters, digits").contains("63");
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, 65536, 100000})
    void portOutOfRangeIsRejected(int port) throws IOException {
        WardenException e = failure(minimalWith("port", String.valueOf(port)));

        assertThat(e.getMessage()).contains("port " + port).contains("out of range");
        assertThat(e.nextStep()).contains("between 1 and 65535");
    }

    @Test
    void apiPortOutOfRangeIsRejected() throws IOException {
        WardenException e = failure(minimalWith("api_port", "70000"));

        assertThat(e.getMessage()).contains("port 70000").contains("out of range");
    }

    @ParameterizedTest
    @ValueSource(strings = {"1500ms", "2500ms", "2001ms"})
    void ttlNotInWholeSecondsIsRejected(String ttl) throws IOException {
        WardenException e = failure(MINIMAL + "ttl: " + ttl + "\nloop_wait: 500ms\n");

        assertThat(e.getMessage()).contains("ttl " + ttl).contains("whole number of seconds");
        assertThat(e.nextStep()).contains("resolution of one second");
    }

    @ParameterizedTest
    @ValueSource(strings = {"1s", "0s", "1"})
    void ttlBelowTwoSecondsIsRejected(String ttl) throws IOException {
        WardenException e = failure(MINIMAL + "ttl: " + ttl + "\nloop_wait: 0s\n");

        assertThat(e.getMessage()).contains("ttl " + ttl).contains("at least 2s");
    }

    @Test
    void loopWaitMoreThanHalfTheTtlIsRejected() throws IOException {
        WardenException e = failure(MINIMAL + "ttl: 3s\nloop_wait: 2s\n");

        assertThat(e.getMessage()).contains("loop_wait 2s is more than half of ttl 3s");
        assertThat(e.nextStep()).contains("renew at least twice per ttl").contains("lower loop_wait or raise ttl");
    }

    @Test
    void loopWaitMoreThanHalfTheDefaultTtlIsRejected() throws IOException {
        WardenException e = failure(MINIMAL + "loop_wait: 1501ms\n");

        assertThat(e.getMessage()).contains("loop_wait 1501ms").contains("ttl 3s");
    }

    @ParameterizedTest
    @ValueSource(strings = {"on", "optional", "REQUIRED", "yes-please"})
    void badWatchdogModeIsRejected(String mode) throws IOException {
        WardenException e = failure(minimalWith("watchdog", "'" + mode + "'"));

        assertThat(e.getMessage()).contains("watchdog '" + mode + "'").contains("not a mode");
        assertThat(e.nextStep()).contains("'required' or 'off'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"ttl", "loop_wait", "primary_start_timeout"})
    void badDurationTextIsRejectedWithItsKey(String key) throws IOException {
        WardenException e = failure(minimalWith(key, "three seconds"));

        assertThat(e.getMessage())
                .contains("bad value for '" + key + "'")
                .contains("not a duration")
                .contains("three seconds");
        assertThat(e.nextStep()).contains("3s").contains("500ms");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "\n", "# nothing here yet\n", "---\n", "~\n"})
    void emptyFileIsRejected(String text) throws IOException {
        WardenException e = failure(text);

        assertThat(e.getMessage()).contains("is empty");
        assertThat(e.nextStep()).contains("name, port, etcd and data_dir");
    }

    @Test
    void missingFileIsRejected() {
        Path missing = dir.resolve("nope.yaml");

        WardenException e = catchThrowableOfType(WardenException.class, () -> AgentConfig.load(missing));

        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("cannot read config file " + missing);
        assertThat(e.nextStep()).contains("--config");
    }

    @Test
    void directoryInsteadOfFileIsRejected() {
        WardenException e = catchThrowableOfType(WardenException.class, () -> AgentConfig.load(dir));

        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("cannot read config file " + dir);
    }

    @Test
    void describeShowsProblemAndNextStep() throws IOException {
        WardenException e = failure(minimalWith("port", "0"));

        assertThat(e.describe()).startsWith(e.getMessage()).endsWith("\n  -> " + e.nextStep());
    }

    @Test
    void checksStopAtTheFirstProblemInDocumentedOrder() throws IOException {
        // Missing name is reported before anything else is looked at.
        WardenException e = failure("port: 0\nwatchdog: maybe\n");

        assertThat(e.getMessage()).contains("missing key 'name'");
        assertThat(List.of(e.getMessage())).noneMatch(m -> m.contains("watchdog"));
    }

    /** The three files of an etcd client certificate in the temporary directory, the key owner-only. */
    private String etcdClientFiles() throws IOException {
        Path key = dir.resolve("client.key");
        Files.writeString(key, "key");
        Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        return "etcd_ca_file: " + Files.writeString(dir.resolve("ca.crt"), "ca") + "\n"
                + "etcd_cert_file: " + Files.writeString(dir.resolve("client.crt"), "cert") + "\n"
                + "etcd_key_file: " + key + "\n";
    }

    @Test
    void etcdOverTlsTakesTheClientCertificateFiles() throws IOException {
        AgentConfig c =
                load(minimalWith("etcd", "[https://10.0.0.10:2379, https://10.0.0.11:2379]") + etcdClientFiles());

        assertThat(c.etcdTls())
                .contains(new io.warden.dcs.EtcdTls(
                        dir.resolve("ca.crt"), dir.resolve("client.crt"), dir.resolve("client.key")));
    }

    @Test
    void etcdOverTlsWithoutAClientCertificateIsRefusedNamingTheKeysToSet() throws IOException {
        WardenException e = failure(minimalWith("etcd", "[https://10.0.0.10:2379]"));

        assertThat(e.getMessage())
                .contains("etcd_ca_file")
                .contains("etcd_cert_file")
                .contains("etcd_key_file");
        assertThat(e.nextStep()).contains("./warden up");
    }

    @Test
    void plainHttpEtcdNeedsNoCertificate() throws IOException {
        assertThat(load(MINIMAL).etcdTls()).isEmpty();
    }
}
