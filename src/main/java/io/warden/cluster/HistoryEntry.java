package io.warden.cluster;

/** One timeline change: the new timeline, the LSN where it forked, who was promoted, when, and why. */
public record HistoryEntry(long timeline, String lsn, String member, String at, String reason) {}
