package io.warden.cluster;

/** The holder of {@code leader}: its name, the lease the key is bound to, and the revision that wrote it. */
public record LeaderKey(String name, long leaseId, long modRevision) {}
