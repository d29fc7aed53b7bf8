package io.warden.router;

import io.warden.common.Clock;
import io.warden.dcs.Dcs;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A router driven from outside its package, as the simulation drives it: built without starting its threads, stepped
 * with literal times, handed the watch's events, and asked where a client's read-write bytes would go right now.
 */
public final class RouterDriver {
    private RouterDriver() {}

    /** A router with the default ttl (3 s) whose listeners bind wherever the kernel says, on loopback. */
    public static Router router(String id, Dcs dcs, Clock clock) {
        return new Router(config(id, Duration.ofSeconds(3)), dcs, clock);
    }

    /**
     * A router config for tests: listeners on loopback wherever the kernel says (ports 0), an etcd nobody reaches
     * (the tests hand the router a fake DCS), the file's defaults for everything else, the epoll transport.
     */
    static RouterConfig config(String id, Duration ttl) {
        return config(id, ttl, ClientRange.EVERYONE);
    }

    /** As {@link #config(String, Duration)}, accepting clients only from {@code allowedClients}. */
    static RouterConfig config(String id, Duration ttl, List<ClientRange> allowedClients) {
        return new RouterConfig(
                id,
                "fake",
                "127.0.0.1",
                0,
                0,
                0,
                List.of("http://127.0.0.1:1"),
                java.util.Optional.empty(),
                ttl,
                16L << 20,
                true,
                2000,
                Duration.ofSeconds(10),
                Duration.ofSeconds(2),
                Duration.ofSeconds(10),
                "epoll",
                allowedClients);
    }

    /** One round of the topology thread at {@code now}; returns the nanoseconds until the next is due. */
    public static long step(Router router, long now) {
        return router.step(now);
    }

    /** What the router's watch would call with the keys that changed (empty: the watch failed). */
    public static void changed(Router router, List<String> keys) {
        router.changed(keys);
    }

    /**
     * The node a read-write session of this router may forward a client's bytes to right now: the topology's
     * primary while the router is not fenced and its lease holds ({@link Router#mayForwardWrites}, checked on every
     * relay read); nobody otherwise. Open sessions follow {@code primary}, a superset of where new ones go
     * (a primary handing over gets no new session but keeps its open ones).
     */
    public static Optional<String> writesGoTo(Router router) {
        return router.mayForwardWrites() ? primary(router) : Optional.empty();
    }

    /**
     * Where writes would go if the router did not check its lease deadline on each read: while it has not fenced
     * itself, which a frozen router has not. Only for showing that the simulation's checks can fail.
     */
    public static Optional<String> writesGoToIgnoringTheLease(Router router) {
        return router.serving() ? primary(router) : Optional.empty();
    }

    /**
     * The node whose read-write sessions through this router are still open: a fence or a change of primary closes
     * them, so a commit's answer reaches its client only while this still names the node it ran on.
     */
    public static Optional<String> sessionsOpenTo(Router router) {
        return router.serving() ? primary(router) : Optional.empty();
    }

    private static Optional<String> primary(Router router) {
        Object primary = router.describe().get("primary");
        return primary == null || primary.toString().isEmpty() ? Optional.empty() : Optional.of(primary.toString());
    }
}
