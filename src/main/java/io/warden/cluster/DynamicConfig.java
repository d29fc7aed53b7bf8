package io.warden.cluster;

import java.util.List;
import java.util.Map;

/**
 * Cluster-wide settings kept in {@code config}, changed only by compare-and-swap (see docs/configuration.md).
 *
 * @param maximumLagOnFailover a replica further behind the last known primary position than this many bytes
 *     is not promoted automatically
 * @param synchronousMode whether commits wait for synchronous standbys, see {@link SyncMode}
 * @param synchronousNodeCount how many synchronous standbys the leader keeps when it can
 * @param pause maintenance mode: no automatic failover, no automatic start or restart of postgres
 * @param parameters postgres parameters applied on every member
 * @param allowedExtensions the extensions admin may install although they need a superuser (see {@link
 *     ExtensionAllowlist}); absent in a stored config, Warden's catalogue
 * @param replicas the intended number of replicas beside the primary, which the repair controller heals the cluster
 *     back to; absent (0) in a stored config, {@link RepairSettings#DEFAULT_REPLICAS}
 * @param repair the repair controller's grace periods by condition name ({@link RepairSettings}); a name left out
 *     has its default
 * @param autoRepair whether the repair controller replaces abnormal nodes by itself; absent (null) in a stored
 *     config, on
 * @param scaling the scaling controller's units and policy by name ({@link ScalingSettings}); a name left out has
 *     its default
 */
public record DynamicConfig(
        long maximumLagOnFailover,
        SyncMode synchronousMode,
        int synchronousNodeCount,
        boolean pause,
        Map<String, String> parameters,
        List<String> allowedExtensions,
        Integer replicas,
        Map<String, String> repair,
        Boolean autoRepair,
        Map<String, String> scaling) {
    public static final DynamicConfig DEFAULTS = new DynamicConfig(
            1L << 20,
            SyncMode.OFF,
            1,
            false,
            Map.of(),
            ExtensionAllowlist.DEFAULT,
            RepairSettings.DEFAULT_REPLICAS,
            null,
            true,
            null);

    public DynamicConfig {
        if (maximumLagOnFailover < 0) {
            throw new IllegalArgumentException("maximum_lag_on_failover must be >= 0, got " + maximumLagOnFailover);
        }
        synchronousMode = synchronousMode == null ? SyncMode.OFF : synchronousMode;
        if (synchronousNodeCount < 1) {
            throw new IllegalArgumentException("synchronous_node_count must be >= 1, got " + synchronousNodeCount);
        }
        parameters = parameters == null ? Map.of() : Map.copyOf(parameters);
        allowedExtensions = allowedExtensions == null ? ExtensionAllowlist.DEFAULT : List.copyOf(allowedExtensions);
        // Absent in a config stored before the field existed; 0 only by an operator's --force (the primary alone).
        replicas = replicas == null ? RepairSettings.DEFAULT_REPLICAS : replicas;
        if (replicas < 0) {
            throw new IllegalArgumentException("replicas must be >= 0, got " + replicas);
        }
        repair = repair == null ? Map.of() : Map.copyOf(repair);
        autoRepair = autoRepair == null || autoRepair;
        scaling = scaling == null ? Map.of() : Map.copyOf(scaling);
    }

    /** With the default units and scaling policy. */
    public DynamicConfig(
            long maximumLagOnFailover,
            SyncMode synchronousMode,
            int synchronousNodeCount,
            boolean pause,
            Map<String, String> parameters,
            List<String> allowedExtensions,
            Integer replicas,
            Map<String, String> repair,
            Boolean autoRepair) {
        this(
                maximumLagOnFailover,
                synchronousMode,
                synchronousNodeCount,
                pause,
                parameters,
                allowedExtensions,
                replicas,
                repair,
                autoRepair,
                null);
    }

    /** The scaling settings read (tolerantly: this is what a program stored). */
    public ScalingSettings scalingSettings() {
        return ScalingSettings.of(scaling);
    }

    /** With {@code settings} replacing the stored scaling settings. */
    public DynamicConfig withScaling(Map<String, String> settings) {
        return new DynamicConfig(
                maximumLagOnFailover,
                synchronousMode,
                synchronousNodeCount,
                pause,
                parameters,
                allowedExtensions,
                replicas,
                repair,
                autoRepair,
                settings);
    }

    /** With the default intended size and grace periods. */
    public DynamicConfig(
            long maximumLagOnFailover,
            SyncMode synchronousMode,
            int synchronousNodeCount,
            boolean pause,
            Map<String, String> parameters,
            List<String> allowedExtensions) {
        this(
                maximumLagOnFailover,
                synchronousMode,
                synchronousNodeCount,
                pause,
                parameters,
                allowedExtensions,
                RepairSettings.DEFAULT_REPLICAS,
                null,
                true);
    }

    /** Warden's extension catalogue as the allowlist. */
    public DynamicConfig(
            long maximumLagOnFailover,
            SyncMode synchronousMode,
            int synchronousNodeCount,
            boolean pause,
            Map<String, String> parameters) {
        this(maximumLagOnFailover, synchronousMode, synchronousNodeCount, pause, parameters, null);
    }

    /** The asynchronous defaults with another maximum lag: the common case in tests. */
    public DynamicConfig(long maximumLagOnFailover, Map<String, String> parameters) {
        this(maximumLagOnFailover, SyncMode.OFF, 1, false, parameters);
    }

    public boolean synchronous() {
        return synchronousMode != SyncMode.OFF;
    }

    public DynamicConfig withPause(boolean paused) {
        return new DynamicConfig(
                maximumLagOnFailover,
                synchronousMode,
                synchronousNodeCount,
                paused,
                parameters,
                allowedExtensions,
                replicas,
                repair,
                autoRepair,
                scaling);
    }
}
