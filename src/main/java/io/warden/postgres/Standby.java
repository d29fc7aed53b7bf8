package io.warden.postgres;

import io.warden.cluster.Lsn;

/** One row of a primary's {@code pg_stat_replication}: a standby as the primary sees it. */
public record Standby(String name, String state, String syncState, Lsn flush) {}
