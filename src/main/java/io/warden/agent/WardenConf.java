package io.warden.agent;

import static io.warden.agent.Results.check;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.ExtensionAllowlist;
import io.warden.cluster.Member;
import io.warden.cluster.MemoryParameters;
import io.warden.cluster.SyncMode;
import io.warden.postgres.Postgres;
import io.warden.postgres.PostgresCtl.LocalServer;
import io.warden.postgres.PostgresCtl.Upstream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the agent has {@link Postgres} write into this node's warden.conf, and the one place it asks: the cluster's
 * parameters from the snapshot the cycle decides from, this node's own, the upstream, and the synchronous standbys a
 * primary's commits wait for (the file's format is {@link Postgres}'s business). Touched by the HA loop's thread only.
 */
final class WardenConf {
    private static final Logger LOG = LoggerFactory.getLogger(WardenConf.class);

    private final AgentConfig config;
    private final Postgres postgres;
    private final LocalServer node;
    /** The snapshot this cycle decides from; the config it carries is what every config write applies. */
    private final Supplier<ClusterSnapshot> current;
    /** P: the standbys this primary's commits wait for (see SyncPlanner). */
    private SyncPlanner.Configure syncStandbys = new SyncPlanner.Configure(List.of(), false);

    WardenConf(AgentConfig config, Postgres postgres, Supplier<ClusterSnapshot> current) {
        this.config = java.util.Objects.requireNonNull(config, "config is null");
        this.postgres = java.util.Objects.requireNonNull(postgres, "postgres is null");
        this.current = java.util.Objects.requireNonNull(current, "current is null");
        this.node = new LocalServer(config.name(), config.host(), config.port(), false);
    }

    /** The primary a replica of {@code leader} streams from. */
    static Upstream upstream(Member leader) {
        return new Upstream(leader.host(), leader.port());
    }

    /** Reads back, from the file as last written, the standbys postgres waits for now. */
    void readSynchronousStandbys() {
        syncStandbys = SyncPlanner.parse(postgres.configuredSetting("synchronous_standby_names"));
    }

    SyncPlanner.Configure synchronousStandbys() {
        return syncStandbys;
    }

    /** Sets the standbys a primary's commits wait for, from the next write on. */
    void synchronousStandbys(SyncPlanner.Configure standbys) {
        syncStandbys = java.util.Objects.requireNonNull(standbys, "standbys is null");
    }

    /** Writes the file for a primary: no upstream, no standby.signal. Returns whether it changed. */
    boolean writePrimary() {
        return write(true, Optional.empty());
    }

    /** Writes the file for a replica streaming from {@code leader}. Returns whether it changed. */
    boolean writeFollowing(Member leader) {
        return write(false, Optional.of(upstream(leader)));
    }

    /** Writes the file with a primary's or a replica's parameters; standby.signal only with an upstream. Returns whether it changed. */
    boolean write(boolean primary, Optional<Upstream> upstream) {
        return written(postgres.writeConfig(node, parameters(primary), upstream, memberHosts()));
    }

    /**
     * The postmaster that was running when a write changed the files and nothing reloaded them; 0 when none is
     * pending. A write made while postgres runs (at a promotion, say) may let a member in that joined since the last
     * reload; until postgres loads pg_hba.conf again it refuses that member's replication.
     */
    private long unloadedBy;

    /** Reloads postgres after a write of its caller's (nothing is pending after it). */
    io.warden.common.Processes.Result reload() {
        io.warden.common.Processes.Result result = postgres.reload();
        if (result.ok()) {
            unloadedBy = 0;
        }
        return result;
    }

    private boolean written(boolean changed) {
        if (changed) {
            unloadedBy = postgres.postmasterPid().orElse(0L);
        }
        return changed;
    }

    /**
     * Brings a changed cluster config to the running postgres: writes the file as {@link #write} does and reloads
     * postgres when it changed.
     */
    void apply(boolean primary, Optional<Upstream> upstream) {
        boolean changed = postgres.writeConfig(node, parameters(primary), upstream, memberHosts());
        // A postmaster started after the pending write read the files at its start.
        boolean pending =
                unloadedBy != 0 && unloadedBy == postgres.postmasterPid().orElse(0L);
        if (changed || pending) {
            // Pending until the reload worked: one that failed is tried again next cycle.
            unloadedBy = postgres.postmasterPid().orElse(0L);
            check(postgres.reload(), "reloading changed parameters");
            unloadedBy = 0;
            LOG.info(
                    changed
                            ? "the configuration changed: reloaded postgres"
                            : "reloaded postgres with the configuration written while it ran");
        }
    }

    /** Writes the file for a standby (standby.signal present even with no upstream). Returns whether it changed. */
    boolean writeStandby(boolean primaryParameters, Optional<Upstream> upstream) {
        return written(postgres.writeConfig(
                new LocalServer(node.name(), node.host(), node.port(), true),
                parameters(primaryParameters),
                upstream,
                memberHosts()));
    }

    /**
     * Where replication may come from (pg_hba.conf): the addresses of the members in the snapshot this cycle decides
     * from, and this node's own. A member that joins is let in at the next cycle that writes the file; its clone's
     * first attempt may be refused before that, and is tried again.
     */
    private java.util.Set<String> memberHosts() {
        java.util.Set<String> hosts = new java.util.TreeSet<>();
        current.get().members().values().forEach(m -> hosts.add(m.host()));
        hosts.add(config.host());
        return hosts;
    }

    /**
     * What the catalogue's extensions need unless the cluster's parameters say otherwise: pg_stat_statements
     * preloaded; pg_cron, once preloaded, scheduling in the cluster's database (admin's, where it creates the
     * extension) and running jobs in background workers, since a job connecting over TCP would need the password of
     * the role that scheduled it.
     */
    private Map<String, String> extensionDefaults() {
        return Map.of(
                "shared_preload_libraries", "pg_stat_statements",
                "cron.database_name", config.cluster(),
                "cron.use_background_workers", "on");
    }

    /**
     * The postgres parameters for this node's config file: those its container's memory implies
     * ({@link MemoryParameters}), the cluster's (dynamic config), then this node's own from its config file, then synchronous_standby_names, which only a primary sets and only the agent manages.
     */
    private Map<String, String> parameters(boolean primary) {
        ClusterSnapshot cluster = current.get();
        Map<String, String> merged = new LinkedHashMap<>(extensionDefaults());
        // Sized by the container's memory limit as it is now: the scaling controller raises it, and the next write
        // (reloaded at once; shared_buffers at the restart it needs) follows.
        config.postgresCgroupSet()
                .flatMap(group -> {
                    java.util.OptionalLong limit = group.memoryLimit();
                    return limit.isPresent() ? Optional.of(limit.getAsLong()) : Optional.<Long>empty();
                })
                .ifPresent(limit -> merged.putAll(MemoryParameters.forMemory(limit)));
        merged.putAll(cluster.config().parameters());
        merged.putAll(config.parameters());
        // Managed: ParameterValidator refuses extwlist.* in the cluster's parameters; Postgres turns it into
        // pgextwlist's settings (or drops it when pgextwlist is not installed).
        merged.put(
                "extwlist.extensions",
                ExtensionAllowlist.setting(cluster.config().allowedExtensions()));
        SyncPlanner.Configure standbys = syncStandbys;
        if (primary
                && cluster.config().synchronousMode() == SyncMode.STRICT
                && standbys.names().isEmpty()
                && !standbys.wildcard()) {
            // A strict primary never runs a moment without waiting for some standby, not even right after a restart.
            standbys = new SyncPlanner.Configure(List.of(), true);
        }
        merged.put("synchronous_standby_names", primary && cluster.config().synchronous() ? standbys.setting() : "");
        return merged;
    }
}
