package io.warden.runtime;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What gives a node the means to prove who it is (its TLS key and certificate): called by the runtime for each
 * node before its agent starts, and again by whoever changes the addresses it is reached at (routers added, a node
 * moved). Implemented by the composition root with the deployment's certificate authority, which the runtime never
 * holds.
 */
@FunctionalInterface
public interface NodeIdentity {
    /** No certificates: postgres then runs without TLS (a deployment made by hand, or a unit test). */
    NodeIdentity NONE = (node, names, nodeDir) -> Map.of();

    /**
     * Issues, or renews when due, the identity of {@code node} for the host names and addresses {@code names}, in
     * {@code nodeDir}; returns the lines its agent config needs to use it (e.g. {@code tls_dir}).
     */
    Map<String, String> issue(String node, List<String> names, Path nodeDir);
}
