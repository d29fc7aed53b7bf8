package io.warden.dcs;

/** Per-node tags, as in Patroni: {@code nofailover} keeps a node from ever being promoted automatically. */
public record NodeTags(boolean nofailover, boolean noloadbalance, boolean nosync) {
    public static final NodeTags NONE = new NodeTags(false, false, false);
}
