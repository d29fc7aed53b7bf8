package io.warden.it;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * When any test fails, the end of every running test cluster's logs goes to stderr, which is what CI keeps: each
 * integration test gets this without asking for it (registered for every test through the service loader and
 * {@code junit.jupiter.extensions.autodetection.enabled}; with no cluster running, as in unit tests, it prints
 * nothing).
 */
public final class LogTailsOnFailure implements TestWatcher {
    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        TestCluster.running().forEach(TestCluster::printLogTails);
    }
}
