package io.warden.sim;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.HistoryEntry;
import io.warden.cluster.Member;
import io.warden.cluster.Optime;
import io.warden.cluster.RouterStatus;
import io.warden.cluster.Switchover;
import io.warden.cluster.SyncState;
import io.warden.dcs.Dcs;
import io.warden.dcs.DcsException;
import io.warden.dcs.FakeDcs;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One client's connection to the shared {@link FakeDcs}: what one agent or one router sees of etcd. The store is
 * shared; the faults are this client's alone:
 *
 * <ul>
 *   <li>cut off: every request fails, as for a node or router partitioned from etcd; watch events are held back and
 *       on healing reported as one failed watch (anything may have changed), as jetcd resumes a broken watch;
 *   <li>renewals failing, or taking a while before etcd acts on them (the world goes on meanwhile);
 *   <li>lossy answers: a request reaches etcd and takes effect, but its answer is lost and the client sees a failure.
 * </ul>
 *
 * {@link #close()} closes nothing: a client going away leaves the store to everyone else.
 */
final class SimDcs implements Dcs {
    private final FakeDcs store;
    private final Simulation world;
    private final Random random;
    private final String client;
    private boolean cutOff;
    private boolean missedChanges;
    private boolean renewalsFailing;
    private Duration renewalDelay = Duration.ZERO;
    private double lossRate;
    /** What each watch is told when it resumes after missing changes: a failed watch (anything may have changed). */
    private final List<Runnable> resumed = new java.util.ArrayList<>();

    SimDcs(FakeDcs store, Simulation world, Random random, String client) {
        this.store = store;
        this.world = world;
        this.random = random;
        this.client = client;
    }

    void cutOff(boolean cut) {
        boolean healed = cutOff && !cut;
        cutOff = cut;
        if (healed && missedChanges) {
            missedChanges = false;
            List.copyOf(resumed).forEach(Runnable::run);
        }
    }

    void failRenewals(boolean failing) {
        renewalsFailing = failing;
    }

    void delayRenewals(Duration delay) {
        renewalDelay = delay;
    }

    void loseAnswers(double rate) {
        lossRate = rate;
    }

    /** Clears every fault: the client's connection is healthy again. */
    void heal() {
        failRenewals(false);
        delayRenewals(Duration.ZERO);
        loseAnswers(0);
        cutOff(false);
    }

    private <T> T call(String what, Supplier<T> request) {
        if (cutOff) {
            throw new DcsException("simulated partition: " + client + " cannot reach etcd (" + what + ")", null);
        }
        T answer = request.get();
        if (lossRate > 0 && random.nextDouble() < lossRate) {
            throw new DcsException(
                    "simulated lost answer: " + what + " reached etcd but " + client + " never heard back", null);
        }
        return answer;
    }

    private void run(String what, Runnable request) {
        call(what, () -> {
            request.run();
            return null;
        });
    }

    @Override
    public ClusterSnapshot read() {
        return call("read", store::read);
    }

    @Override
    public long grantLease(Duration ttl) {
        return call("lease grant", () -> store.grantLease(ttl));
    }

    @Override
    public long keepAlive(long leaseId, Duration timeout) {
        if (renewalDelay.isPositive()) {
            // The request is on its way (or etcd is slow) while everything else goes on.
            world.pass(renewalDelay);
        }
        return call("lease renewal", () -> {
            if (renewalsFailing) {
                throw new DcsException("simulated renewal failure for " + client, null);
            }
            return store.keepAlive(leaseId, timeout);
        });
    }

    @Override
    public void revokeLease(long leaseId) {
        run("lease revoke", () -> store.revokeLease(leaseId));
    }

    @Override
    public boolean claimBootstrap(String name, long leaseId) {
        return call("bootstrap claim", () -> store.claimBootstrap(name, leaseId));
    }

    @Override
    public void completeBootstrap(String systemIdentifier) {
        run("bootstrap completion", () -> store.completeBootstrap(systemIdentifier));
    }

    @Override
    public boolean acquireLeader(String name, long leaseId) {
        return call("leader acquire", () -> store.acquireLeader(name, leaseId));
    }

    @Override
    public boolean releaseLeader(String name, long leaseId) {
        return call("leader release", () -> store.releaseLeader(name, leaseId));
    }

    @Override
    public boolean removeLeader(long modRevision) {
        return call("leader removal", () -> store.removeLeader(modRevision));
    }

    @Override
    public boolean removeMember(String name) {
        return call("member removal", () -> store.removeMember(name));
    }

    @Override
    public void publishMember(Member member, long leaseId) {
        run("member update", () -> store.publishMember(member, leaseId));
    }

    @Override
    public boolean publishOptime(String leaderName, Optime optime) {
        return call("optime update", () -> store.publishOptime(leaderName, optime));
    }

    @Override
    public boolean compareAndSetConfig(long expectedRevision, DynamicConfig config) {
        return call("config update", () -> store.compareAndSetConfig(expectedRevision, config));
    }

    @Override
    public void appendHistory(HistoryEntry entry) {
        run("history append", () -> store.appendHistory(entry));
    }

    @Override
    public AutoCloseable watch(Runnable onChange) {
        resumed.add(onChange);
        return store.watch(() -> {
            if (cutOff) {
                missedChanges = true;
            } else {
                onChange.run();
            }
        });
    }

    @Override
    public boolean requestSwitchover(Switchover switchover, Duration ttl) {
        return call("switchover request", () -> store.requestSwitchover(switchover, ttl));
    }

    @Override
    public boolean publishSync(String leaderName, Optional<SyncState> sync) {
        return call("sync update", () -> store.publishSync(leaderName, sync));
    }

    @Override
    public boolean clearSwitchover(long modRevision) {
        return call("switchover clear", () -> store.clearSwitchover(modRevision));
    }

    @Override
    public void publishRouter(RouterStatus status, long leaseId) {
        run("router update", () -> store.publishRouter(status, leaseId));
    }

    @Override
    public List<RouterStatus> readRouters() {
        return call("router read", store::readRouters);
    }

    @Override
    public AutoCloseable watchAll(Consumer<List<String>> onChange) {
        resumed.add(() -> onChange.accept(List.of()));
        return store.watchAll(keys -> {
            if (cutOff) {
                missedChanges = true;
            } else {
                onChange.accept(keys);
            }
        });
    }

    @Override
    public void close() {}
}
