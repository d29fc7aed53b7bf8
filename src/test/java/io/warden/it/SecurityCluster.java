package io.warden.it;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The one netns cluster that {@link SecurityIT} and {@link ExtensionsIT} share: both attack and use a running cluster
 * through its routers as admin, neither needs a fresh one, and a bootstrap with its teardown costs half a minute of
 * the suite's budget. Started by whichever class runs first and stopped when the whole run ends (JUnit closes what
 * the root store holds), whatever the outcome. Its controller checks the certificates every 2 s, for SecurityIT's
 * renewal test.
 */
final class SecurityCluster implements BeforeAllCallback {
    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(SecurityCluster.class);

    private static volatile TestCluster cluster;

    private record Running(TestCluster cluster) implements AutoCloseable {
        @Override
        public void close() {
            cluster.close();
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        cluster = context.getRoot()
                .getStore(NAMESPACE)
                .getOrComputeIfAbsent(
                        "cluster",
                        key -> new Running(
                                TestCluster.start("security", 3, 14100, "netns", Map.of(), Duration.ofSeconds(2))),
                        Running.class)
                .cluster();
        // The class before may have failed over and restarted nodes (ExtensionsIT's last test does): each class
        // starts on a primary with every replica streaming again.
        cluster.awaitHealthy(Duration.ofMinutes(2));
    }

    /** The shared cluster; set before any {@code @BeforeAll} of a class that extends with this. */
    static TestCluster cluster() {
        if (cluster == null) {
            throw new IllegalStateException("annotate the test class with @ExtendWith(SecurityCluster.class)");
        }
        return cluster;
    }
}
