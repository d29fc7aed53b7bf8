package io.warden.cli;

import io.warden.dcs.EtcdDcs;
import java.util.logging.Logger;

/**
 * Logs, once per process start, a WARNING for each known lease defect of the etcd release its members run (see
 * {@link io.warden.dcs.EtcdVersions}; docs/dcs.md, "etcd versions"). Agents and routers both run it.
 */
final class EtcdVersionCheck {
    private static final Logger LOG = Logger.getLogger(EtcdVersionCheck.class.getName());

    private EtcdVersionCheck() {}

    /**
     * Starts the check on a thread of its own: it is only a diagnosis, and an etcd that does not answer yet (common
     * at start-up) must not delay the process by a request timeout per member.
     */
    static void start(EtcdDcs dcs) {
        Thread.ofVirtual().name("etcd-version-check").start(() -> {
            try {
                dcs.versionWarnings().forEach(LOG::warning);
            } catch (RuntimeException e) {
                LOG.warning("could not check the etcd version: " + e);
            }
        });
    }
}
