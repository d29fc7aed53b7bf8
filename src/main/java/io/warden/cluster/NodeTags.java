package io.warden.cluster;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Per-node tags, as in Patroni.
 *
 * @param nofailover never promoted automatically (nor by a manual failover request)
 * @param noloadbalance the routers send it no reads
 * @param nosync never chosen as a synchronous standby
 * @param failoverPriority among candidates equally far ahead, the higher one is promoted; 0 means never, like
 *     nofailover
 */
public record NodeTags(boolean nofailover, boolean noloadbalance, boolean nosync, int failoverPriority) {
    public static final NodeTags NONE = new NodeTags(false, false, false, 1);

    @JsonCreator
    public static NodeTags of(
            @JsonProperty("nofailover") Boolean nofailover,
            @JsonProperty("noloadbalance") Boolean noloadbalance,
            @JsonProperty("nosync") Boolean nosync,
            @JsonProperty("failover_priority") Integer failoverPriority) {
        return new NodeTags(
                Boolean.TRUE.equals(nofailover),
                Boolean.TRUE.equals(noloadbalance),
                Boolean.TRUE.equals(nosync),
                failoverPriority == null ? 1 : failoverPriority);
    }

    public NodeTags {
        if (failoverPriority < 0) {
            throw new IllegalArgumentException("failover_priority must be >= 0, got " + failoverPriority);
        }
    }

    public NodeTags(boolean nofailover, boolean noloadbalance, boolean nosync) {
        this(nofailover, noloadbalance, nosync, 1);
    }

    /** May this node ever be promoted, automatically or on request? */
    public boolean canFailover() {
        return !nofailover && failoverPriority > 0;
    }
}
