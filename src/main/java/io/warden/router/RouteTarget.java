package io.warden.router;

/** A postgres node a session can be routed to. */
public record RouteTarget(String name, String host, int port) {
    @Override
    public String toString() {
        return name + "@" + host + ":" + port;
    }
}
