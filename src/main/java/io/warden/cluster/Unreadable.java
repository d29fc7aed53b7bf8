package io.warden.cluster;

/**
 * A DCS value this version could not read: the key reads as absent, and whoever acts on the cluster handles it
 * conservatively (see the table in docs/dcs.md). The revision tells one bad write from the next, so a reader logs
 * each once, not once per loop.
 *
 * @param key relative to the cluster prefix ({@code config}, {@code members/node-3})
 * @param modRevision the revision that wrote the value
 * @param problem what is wrong with it, for the log
 */
public record Unreadable(String key, long modRevision, String problem) {}
