package io.warden.runtime;

/**
 * A database node's container as a runtime sees it now: the host it is placed on, its address, its limits, its
 * volume, and whether its supervisor runs.
 *
 * @param limits what its postgres part may use ({@link ResourceLimits#NONE} on a runtime without limits)
 * @param volumeBytes its volume's size; 0 when its data lives on the machine's own filesystem
 * @param labels what its maker recorded with it: the repair controller its epoch and the repair it is for, so that a
 *     controller that takes over can tell its predecessor's half-made containers from the cluster's own
 */
public record Container(
        String name,
        String host,
        String address,
        ResourceLimits limits,
        long volumeBytes,
        boolean encrypted,
        State state,
        java.util.Map<String, String> labels) {
    public Container {
        labels = labels == null ? java.util.Map.of() : java.util.Map.copyOf(labels);
    }

    /** What a container can be in. */
    public enum State {
        /** Its supervisor runs (and keeps the agent, which keeps postgres, running). */
        RUNNING,
        /** Made, or stopped: nothing of it runs, its volume and config are kept. */
        STOPPED
    }
}
