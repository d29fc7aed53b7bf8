package io.warden.runtime;

import java.util.List;
import java.util.Optional;

/**
 * Where a deployment's containers run: the hosts and the containers placed on them, which {@code warden up}, the CLI,
 * the controllers and the tests all drive through this and nothing else. A runtime knows processes, volumes and
 * networks, not the cluster: which node leads, and what to do about a node that fails, is for the agents and the
 * controllers to decide. Every create and remove is recorded as an intent before it starts, so a caller killed half
 * way leaves a trace the next one can finish or undo ({@link #intents}).
 *
 * <p>The local runtime ({@code runtime.local.LocalRuntime}) makes a host of a network namespace and a container of
 * nested cgroups and a loop-mounted volume; docs/runtime.md maps the same operations onto Kubernetes.
 */
public interface Runtime {
    /** Every host, spares included, with its state now. */
    List<Host> hosts();

    /** A new spare host, which reaches etcd and every other host as the first ones do. */
    Host addHost();

    /** Every node's container, with its state now. */
    List<Container> containers();

    Optional<Container> container(String name);

    /**
     * Makes a new node's container under a name never used before, on a spare host (a new one when none is left):
     * its volume (and key), its limits and its config; it does not start it.
     */
    Container create(ContainerSpec spec);

    /** Starts a made or stopped container; returns it running. */
    Container start(String name);

    /** Stops it as a container runtime does: its supervisor stops the agent, then postgres. Its volume stays. */
    void stop(String name);

    /** How full its volume is, as {@code df} inside the node would say; empty when it has none or it is not mounted. */
    Optional<VolumeUsage> volumeUsage(String name);

    /**
     * Grows its volume to {@code bytes} (never shrinks it), and has the parameters its size implies (WAL and temp
     * file limits) written for its next start. A running container's volume grows online where the kernel allows it;
     * where it does not, the answer is {@link VolumeGrowth.How#NEEDS_STOP} and the caller stops the container (after
     * a switchover, for the primary), calls again, and starts it. Calling again after any of these is safe: a volume
     * that has the size already answers {@link VolumeGrowth.How#ALREADY}.
     */
    VolumeGrowth growVolume(String name, long bytes);

    /** Changes its limits while it runs. */
    Container resize(String name, ResourceLimits limits);

    /**
     * Removes it: whatever of it still runs ends, its volume, key, limits and config go, and its host becomes a
     * spare. What the cluster must do first (detach it, drop its slot) is the caller's.
     */
    void remove(String name);

    /**
     * Removes it as {@link #remove} does, except its volume: that is detached and kept, with its key, until
     * {@code until} ({@link QuarantinedVolume}); its host becomes a spare all the same.
     */
    QuarantinedVolume quarantine(String name, String reason, java.time.Instant until);

    /** The volumes kept by {@link #quarantine}, oldest first. */
    List<QuarantinedVolume> quarantined();

    /** Deletes a quarantined volume and its key for good; refuses a name that has none. */
    void discard(String node);

    /** Replaces the container's labels (as when a replacement becomes one of the cluster's own). */
    Container label(String name, java.util.Map<String, String> labels);

    /** Inflicts {@code fault} on the container's host; returns a sentence saying what it did, or refuses with why. */
    String drill(Fault fault, String name);

    /**
     * From now on this runtime acts for the controller whose leadership began at {@code epoch} (etcd's fencing
     * token): the epoch is recorded as the highest seen, and every later create, start, stop, remove, quarantine
     * and discard through this runtime is refused once a higher one has been recorded. A controller that stalled
     * past its lease thus cannot act after its successor began to. Refused when a higher epoch is recorded already.
     */
    void fence(long epoch);

    /** The creates and removes that began and have not finished. */
    List<DeploymentState.Intent> intents();

    /**
     * Finishes or undoes every intent whose process is gone: a create is undone (what it made removed, its host a
     * spare again, its name still used), a remove or a quarantine is finished. Returns a sentence for each.
     */
    List<String> resolveIntents();

    /**
     * What a new container is to be.
     *
     * @param host the spare host to place it on; empty to let the runtime pick one
     * @param volumeBytes its volume's size (ignored where containers get no volume)
     * @param labels recorded with it and shown by {@link Container#labels()}
     * @param tags its agent's tags (a replacement inherits the node it replaces)
     */
    record ContainerSpec(
            Optional<String> host,
            ResourceLimits limits,
            long volumeBytes,
            java.util.Map<String, String> labels,
            io.warden.cluster.NodeTags tags) {
        public ContainerSpec {
            labels = labels == null ? java.util.Map.of() : java.util.Map.copyOf(labels);
            tags = tags == null ? io.warden.cluster.NodeTags.NONE : tags;
        }

        public ContainerSpec(
                Optional<String> host, ResourceLimits limits, long volumeBytes, java.util.Map<String, String> labels) {
            this(host, limits, volumeBytes, labels, null);
        }

        public ContainerSpec(Optional<String> host, ResourceLimits limits, long volumeBytes) {
            this(host, limits, volumeBytes, null, null);
        }
    }

    /**
     * A volume's measures.
     *
     * @param provisionedBytes its size (the image, the claim); {@code totalBytes} is what its filesystem offers of it
     */
    record VolumeUsage(long provisionedBytes, long totalBytes, long usedBytes) {}

    /** What {@link #growVolume} did, and a sentence for the log that says which path it took and why. */
    record VolumeGrowth(How how, String detail) {
        public enum How {
            /** It had the size already. */
            ALREADY,
            /** Grown while it ran. */
            ONLINE,
            /** Grown while the container was stopped. */
            OFFLINE,
            /** Online growth is refused here: stop the container and call again. */
            NEEDS_STOP
        }
    }
}
