package io.warden.cluster;

import com.fasterxml.jackson.annotation.JsonValue;

/** What a node is to the cluster, as published and as shown by {@code warden list}. */
public enum Role {
    PRIMARY,
    REPLICA,
    UNKNOWN;

    @JsonValue
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
