package io.warden.cli;

import io.warden.dcs.EtcdDcs;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs, once per process start, a WARNING for each known lease defect of the etcd release its members run (see
 * {@link io.warden.dcs.EtcdVersions}; docs/dcs.md, "etcd versions"). Agents and routers both run it.
 */
final class EtcdVersionCheck {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdVersionCheck.class);

    private EtcdVersionCheck() {}

    /**
     * Starts the check on a thread of its own: it is only a diagnosis, and an etcd that does not answer yet (common
     * at start-up) must not delay the process by a request timeout per member.
     */
    static void start(EtcdDcs dcs) {
        Thread.ofVirtual().name("etcd-version-check").start(() -> {
            try {
                dcs.versionWarnings().forEach(LOG::warn);
            } catch (RuntimeException e) {
                LOG.warn("could not check the etcd version", e);
            }
        });
    }
}
