package io.warden.runtime;

import java.util.List;

/**
 * A machine containers run on, as a runtime sees it now: where it is reached, what it can give its containers, its
 * state, and which containers it holds (none for a spare; one at most for a host of a cluster's member, since two
 * members never share a host).
 *
 * @param capacity the CPU and memory the host can give (on the local runtime every host shares this machine's)
 */
public record Host(String id, String address, ResourceLimits capacity, State state, List<String> containers) {
    public Host {
        containers = List.copyOf(containers);
    }

    public boolean spare() {
        return containers.isEmpty();
    }

    /** What a host can be in. */
    public enum State {
        /** Running and reachable. */
        UP,
        /** Gone, or killed (everything on it ended) until its container is started again. */
        DOWN,
        /** Running but cut off the network. */
        ISOLATED,
        /** Paused: its processes hold still until it is thawed. */
        FROZEN
    }
}
