package io.warden.dcs;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.HistoryEntry;
import io.warden.cluster.Member;
import io.warden.cluster.Optime;
import io.warden.cluster.RouterStatus;
import io.warden.cluster.Switchover;
import io.warden.cluster.SyncState;
import io.warden.cluster.Unreadable;
import java.time.Duration;

/**
 * The distributed configuration store: the only shared truth of a cluster. Each method states its atomicity
 * contract; every write that decides leadership is a compare-and-swap.
 *
 * <p>Every call either completes within the client's request timeout or throws {@link DcsException}; callers
 * never block longer than that, which the fencing arithmetic relies on.
 */
public interface Dcs extends AutoCloseable {

    /** Reads every key of the cluster at a single revision. */
    ClusterSnapshot read();

    /** Grants a new lease of {@code ttl}; returns its id. */
    long grantLease(Duration ttl);

    /**
     * Renews a lease once, waiting at most {@code timeout}. Returns the remaining TTL in seconds as etcd reports it; zero or less means the lease
     * is gone (expired or revoked) and anything bound to it has been deleted.
     */
    long keepAlive(long leaseId, Duration timeout);

    void revokeLease(long leaseId);

    /**
     * Bootstrap race: atomically creates {@code initialize} (marked as in progress) and {@code leader} bound to the
     * lease, only if neither exists. Exactly one caller can ever win for a cluster.
     */
    boolean claimBootstrap(String name, long leaseId);

    /** Replaces the in-progress {@code initialize} value with the system identifier, with no lease. */
    void completeBootstrap(String systemIdentifier);

    /** Takes {@code leader} for {@code name}, bound to the lease, only if the key does not exist. */
    boolean acquireLeader(String name, long leaseId);

    /**
     * Deletes {@code leader} only if it names {@code name} and is bound to {@code leaseId}: another agent that was
     * (wrongly) started under the same name must never remove the real holder's key.
     */
    boolean releaseLeader(String name, long leaseId);

    /**
     * Deletes {@code leader} only if it has not been written since {@code modRevision} (a key read at that revision
     * and found bound to no lease, which no agent writes): a newer write, by anyone, is left alone.
     */
    boolean removeLeader(long modRevision);

    /** Writes {@code members/<name>} bound to the lease (last writer wins: only the member itself writes it). */
    void publishMember(Member member, long leaseId);

    /**
     * Takes a member out of the cluster for good, as the repair controller does with a node it replaced: revokes the
     * lease {@code members/<name>} is bound to (so whatever else that agent bound to it goes too) and deletes the key.
     * The primary then drops the member's slot and leaves it out of the synchronous set. Returns whether there was a
     * record to remove. Only for a member whose agent is stopped: a live one would publish itself again.
     */
    boolean removeMember(String name);

    /** Writes {@code optime}; only the leader calls this, guarded by the leader key still naming it. */
    boolean publishOptime(String leaderName, Optime optime);

    /**
     * Changes {@code config} only if it has not changed since {@code expectedRevision} (0: only if absent).
     * Returns false when another writer got there first.
     */
    boolean compareAndSetConfig(long expectedRevision, DynamicConfig config);

    /** Appends to {@code history} with a compare-and-swap retry loop, keeping the newest 100 entries. */
    void appendHistory(HistoryEntry entry);

    /**
     * Calls {@code onChange} from a client thread whenever {@code leader} changes (taken, released, or expired with its lease). The callback
     * must only wake someone up; it must not block.
     */
    AutoCloseable watch(Runnable onChange);

    /**
     * Creates {@code switchover} bound to a new lease of {@code ttl} (none when null: a scheduled switchover stays
     * until it runs or is cancelled), only if none is pending.
     */
    boolean requestSwitchover(Switchover switchover, Duration ttl);

    /**
     * Writes (or with empty, deletes) {@code sync}, only while {@code leader} names {@code leaderName}: a deposed
     * leader must not rewrite who may be promoted.
     */
    boolean publishSync(String leaderName, java.util.Optional<SyncState> sync);

    /**
     * Deletes {@code switchover} only if it has not been written since {@code modRevision}: the revision the request
     * being cleared was read at ({@link ClusterSnapshot#switchoverRevision}; {@link Unreadable#modRevision} for one
     * that could not be read). A request written after it, such as the next one an operator asked for while this
     * one ran, is left alone, even with the same value. Returns whether it deleted the request; 0 deletes nothing.
     */
    boolean clearSwitchover(long modRevision);

    /** Writes {@code routers/<id>} bound to the router's lease. */
    void publishRouter(RouterStatus status, long leaseId);

    /** Every live router's status (their keys vanish with their leases). */
    java.util.List<RouterStatus> readRouters();

    /**
     * Like {@link #watch} but for every key of the cluster (members, routers, leader): {@code onChange} gets the
     * changed keys, relative to the cluster prefix ({@code leader}, {@code members/node-1}), or an empty list when
     * the watch failed and anything may have changed.
     */
    AutoCloseable watchAll(java.util.function.Consumer<java.util.List<String>> onChange);

    @Override
    void close();
}
