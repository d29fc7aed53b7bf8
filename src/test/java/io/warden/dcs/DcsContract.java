package io.warden.dcs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.argumentSet;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.HistoryEntry;
import io.warden.cluster.LeaderKey;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.NodeTags;
import io.warden.cluster.Optime;
import io.warden.cluster.Role;
import io.warden.cluster.RouterStatus;
import io.warden.cluster.Switchover;
import io.warden.cluster.SyncMode;
import io.warden.cluster.SyncState;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.IntPredicate;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The atomicity contract of {@link Dcs}, a test per sentence of its Javadoc (and of docs/dcs.md), run against every
 * store: the fake the unit tests build on ({@code FakeDcsTest}) and etcd itself ({@code EtcdDcsContractIT}). A
 * sentence etcd breaks is a bug in {@link EtcdDcs}; one the fake breaks makes every test built on it a lie.
 *
 * <p>Time belongs to the subclass. A fake advances its clock and changes at once; a real store lets time pass and
 * answers its watches from another thread, so every outcome that takes time is awaited through {@link #await} or
 * {@link #letLeasesExpire}, which wait for the condition with a deadline.
 */
abstract class DcsContract {
    /** For a lease a test lets expire: the shortest etcd grants, since leases are counted in whole seconds. */
    static final Duration SHORT = Duration.ofSeconds(1);

    /** For a lease that must outlive any one test without a renewal. */
    static final Duration LONG = Duration.ofSeconds(60);

    /** The request timeout of the store each test runs on: long enough never to fire on a healthy store. */
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);

    private static final DynamicConfig CONFIG = new DynamicConfig(4096, Map.of("work_mem", "8MB"));
    private static final DynamicConfig PAUSED = CONFIG.withPause(true);
    private static final DynamicConfig STRICT = new DynamicConfig(4096, SyncMode.STRICT, 2, false, Map.of());

    protected Dcs dcs;

    /** A store over a cluster with no keys, of this test alone, with this request timeout; closed by the caller. */
    protected abstract Dcs newStore(Duration requestTimeout);

    /**
     * Runs {@code body} while {@code store} cannot reach its server (a fake's switch; a real server frozen), and
     * lets it reach it again afterwards, whatever {@code body} did.
     */
    protected abstract void whileCutOff(Dcs store, Runnable body);

    /** Returns once {@code condition} holds; fails, saying {@code what} was awaited, if it does not in time. */
    protected abstract void await(String what, BooleanSupplier condition);

    /**
     * Lets every lease of {@code ttl} that has not been renewed since this call run out, then returns once
     * {@code condition} holds (it states what the expiry did), failing if it does not in time.
     */
    protected abstract void letLeasesExpire(Duration ttl, String what, BooleanSupplier condition);

    @BeforeEach
    final void openStore() {
        dcs = newStore(REQUEST_TIMEOUT);
    }

    @AfterEach
    final void closeStore() {
        dcs.close();
    }

    // ---- every call

    @Test
    void aCallThatCannotReachTheStoreFailsWithinTheRequestTimeout() {
        Duration timeout = Duration.ofMillis(500);
        // The fencing arithmetic allows for one timeout and a margin for the client's own bookkeeping.
        Duration bound = timeout.plusSeconds(1);
        try (Dcs store = newStore(timeout)) {
            long lease = store.grantLease(LONG);
            List<Map.Entry<String, ThrowingCallable>> calls = List.of(
                    Map.entry("read", store::read),
                    Map.entry("grantLease", () -> store.grantLease(LONG)),
                    Map.entry("keepAlive", () -> store.keepAlive(lease, timeout)),
                    Map.entry("acquireLeader", () -> store.acquireLeader("node-1", lease)),
                    Map.entry("releaseLeader", () -> store.releaseLeader("node-1", lease)),
                    Map.entry(
                            "publishMember", () -> store.publishMember(member("node-1", MemberState.RUNNING), lease)));
            whileCutOff(store, () -> {
                for (Map.Entry<String, ThrowingCallable> call : calls) {
                    long start = System.nanoTime();
                    assertThatThrownBy(call.getValue()).as(call.getKey()).isInstanceOf(DcsException.class);
                    assertThat(Duration.ofNanos(System.nanoTime() - start))
                            .as(call.getKey())
                            .isLessThan(bound);
                }
            });
            assertThat(store.keepAlive(lease, REQUEST_TIMEOUT))
                    .as("reachable again")
                    .isPositive();
        }
    }

    // ---- read

    @Test
    void readSeesEveryKeyAtOneRevision() {
        long before = dcs.read().revision();
        long lease = dcs.grantLease(LONG);
        Switchover switchover = new Switchover("node-1", "node-2", "2026-12-01T12:00:00Z");
        SyncState sync = new SyncState("node-1", List.of("node-2"));
        assertThat(dcs.claimBootstrap("node-1", lease)).isTrue();
        dcs.publishMember(member("node-1", MemberState.RUNNING), lease);
        dcs.publishRouter(router("r1"), lease);
        assertThat(dcs.publishOptime("node-1", new Optime("0/3000060", 1))).isTrue();
        assertThat(dcs.compareAndSetConfig(0, CONFIG)).isTrue();
        assertThat(dcs.publishSync("node-1", Optional.of(sync))).isTrue();
        assertThat(dcs.requestSwitchover(switchover, null)).isTrue();
        dcs.appendHistory(entry(2));

        ClusterSnapshot cluster = dcs.read();

        assertThat(cluster.revision()).isGreaterThan(before);
        assertThat(cluster.initialize()).contains(ClusterKeys.BOOTSTRAPPING);
        assertThat(cluster.leader()).hasValueSatisfying(leader -> {
            assertThat(leader.name()).isEqualTo("node-1");
            assertThat(leader.leaseId()).isEqualTo(lease);
            assertThat(leader.modRevision()).isBetween(before + 1, cluster.revision());
        });
        assertThat(cluster.members()).containsExactly(Map.entry("node-1", member("node-1", MemberState.RUNNING)));
        assertThat(cluster.routers()).containsExactly(router("r1"));
        assertThat(cluster.optime()).contains(new Optime("0/3000060", 1));
        assertThat(cluster.config()).isEqualTo(CONFIG);
        assertThat(cluster.configRevision()).isBetween(before + 1, cluster.revision());
        assertThat(cluster.sync()).contains(sync);
        assertThat(cluster.switchover()).contains(switchover);
        assertThat(cluster.history()).containsExactly(entry(2));
    }

    @Test
    void anEmptyClusterReadsAsNoKeysAndTheDefaultConfig() {
        ClusterSnapshot cluster = dcs.read();

        assertThat(cluster.initialize()).isEmpty();
        assertThat(cluster.leader()).isEmpty();
        assertThat(cluster.members()).isEmpty();
        assertThat(cluster.config()).isEqualTo(DynamicConfig.DEFAULTS);
        assertThat(cluster.configRevision()).isZero();
        assertThat(dcs.readRouters()).isEmpty();
    }

    @Test
    void everyWriteMovesTheRevisionForwardAndARefusedOneDoesNot() {
        long lease = dcs.grantLease(LONG);
        long start = dcs.read().revision();
        assertThat(dcs.acquireLeader("node-1", lease)).isTrue();
        long afterLeader = dcs.read().revision();
        dcs.publishMember(member("node-1", MemberState.RUNNING), lease);
        long afterMember = dcs.read().revision();
        assertThat(dcs.acquireLeader("node-2", lease)).isFalse();
        assertThat(dcs.compareAndSetConfig(12345, CONFIG)).isFalse();

        assertThat(afterLeader).isGreaterThan(start);
        assertThat(afterMember).isGreaterThan(afterLeader);
        assertThat(dcs.read().revision()).isEqualTo(afterMember);
    }

    // ---- claimBootstrap, completeBootstrap

    @Test
    void onlyOneOfTwoBootstrapClaimsWins() {
        long first = node1WinsAndNode2IsRefused(Dcs::claimBootstrap).first();

        ClusterSnapshot cluster = dcs.read();
        assertThat(cluster.initialize()).contains(ClusterKeys.BOOTSTRAPPING);
        assertThat(cluster.leader()).map(LeaderKey::name).contains("node-1");
        assertThat(cluster.leader()).map(LeaderKey::leaseId).contains(first);
    }

    /** A way to take the leader key: {@link Dcs#claimBootstrap} or {@link Dcs#acquireLeader}. */
    interface LeaderClaim {
        boolean claim(Dcs store, String name, long leaseId);
    }

    static Stream<Arguments> leaderClaims() {
        return Stream.of(
                argumentSet("bootstrap claims", (LeaderClaim) Dcs::claimBootstrap),
                argumentSet("leader races", (LeaderClaim) Dcs::acquireLeader));
    }

    /** The leases of node-1 and node-2, in that order. */
    record TwoLeases(long first, long second) {}

    /** node-1 and then node-2, each under a lease of its own, {@code claim} the leader key: only node-1 gets it. */
    private TwoLeases node1WinsAndNode2IsRefused(LeaderClaim claim) {
        TwoLeases leases = new TwoLeases(dcs.grantLease(LONG), dcs.grantLease(LONG));

        assertThat(claim.claim(dcs, "node-1", leases.first())).isTrue();
        assertThat(claim.claim(dcs, "node-2", leases.second())).isFalse();
        return leases;
    }

    /**
     * Four nodes, each under a lease of its own, {@code claim} the leader key at once: exactly one wins, and the key
     * names it, under its lease.
     */
    @ParameterizedTest
    @MethodSource("leaderClaims")
    void exactlyOneOfConcurrentClaimsWins(LeaderClaim claim) throws Exception {
        List<Long> leases =
                IntStream.range(0, 4).mapToObj(i -> dcs.grantLease(LONG)).toList();

        List<Boolean> won = race(4, i -> claim.claim(dcs, "node-" + i, leases.get(i)));

        assertThat(won).containsOnlyOnce(true);
        int winner = won.indexOf(true);
        assertThat(dcs.read().leader()).hasValueSatisfying(leader -> {
            assertThat(leader.name()).isEqualTo("node-" + winner);
            assertThat(leader.leaseId()).isEqualTo(leases.get(winner));
        });
    }

    @Test
    void aBootstrapClaimFailsWhileEitherKeyExists() {
        long lease = dcs.grantLease(LONG);
        assertThat(dcs.acquireLeader("node-1", lease)).isTrue();

        assertThat(dcs.claimBootstrap("node-2", lease)).as("leader exists").isFalse();
        assertThat(dcs.read().initialize()).isEmpty();

        assertThat(dcs.releaseLeader("node-1", lease)).isTrue();
        dcs.completeBootstrap("7301");
        assertThat(dcs.claimBootstrap("node-2", lease)).as("initialize exists").isFalse();
        assertThat(dcs.read().leader()).isEmpty();
    }

    @Test
    void completeBootstrapReplacesTheInProgressValueAndOutlivesTheClaimsLease() {
        long lease = dcs.grantLease(LONG);
        assertThat(dcs.claimBootstrap("node-1", lease)).isTrue();

        dcs.completeBootstrap("7301985467201234567");
        assertThat(dcs.read().initialize()).contains("7301985467201234567");
        dcs.revokeLease(lease);

        ClusterSnapshot cluster = dcs.read();
        assertThat(cluster.initialize()).as("no lease: it stays").contains("7301985467201234567");
        assertThat(cluster.leader()).isEmpty();
    }

    @Test
    void anAbandonedBootstrapClaimVanishesWithItsLease() {
        long lease = dcs.grantLease(LONG);
        assertThat(dcs.claimBootstrap("node-1", lease)).isTrue();

        dcs.revokeLease(lease);

        assertThat(dcs.read().initialize()).isEmpty();
        assertThat(dcs.read().leader()).isEmpty();
        assertThat(dcs.claimBootstrap("node-2", dcs.grantLease(LONG))).isTrue();
    }

    // ---- acquireLeader, releaseLeader

    @Test
    void theLeaderKeyIsTakenOnlyWhenAbsent() {
        TwoLeases leases = node1WinsAndNode2IsRefused(Dcs::acquireLeader);
        long first = leases.first();
        long second = leases.second();
        assertThat(dcs.acquireLeader("node-1", first))
                .as("not even by its holder")
                .isFalse();
        assertThat(dcs.read().leader()).map(LeaderKey::leaseId).contains(first);

        assertThat(dcs.releaseLeader("node-1", first)).isTrue();
        assertThat(dcs.acquireLeader("node-2", second)).isTrue();
        assertThat(dcs.read().leader()).map(LeaderKey::name).contains("node-2");
    }

    @Test
    void releaseLeaderNeedsBothTheNameAndTheLease() {
        long holder = dcs.grantLease(LONG);
        long impostor = dcs.grantLease(LONG);
        assertThat(dcs.acquireLeader("node-1", holder)).isTrue();

        assertThat(dcs.releaseLeader("node-2", holder)).as("another name").isFalse();
        assertThat(dcs.releaseLeader("node-1", impostor))
                .as("the same name on another lease")
                .isFalse();
        assertThat(dcs.read().leader()).map(LeaderKey::leaseId).contains(holder);

        assertThat(dcs.releaseLeader("node-1", holder)).isTrue();
        assertThat(dcs.read().leader()).isEmpty();
        assertThat(dcs.releaseLeader("node-1", holder))
                .as("nothing left to release")
                .isFalse();
    }

    @Test
    void removeLeaderDeletesOnlyTheKeyAsItWasAtTheRevisionRead() {
        long first = dcs.grantLease(LONG);
        assertThat(dcs.acquireLeader("node-1", first)).isTrue();
        long seen = dcs.read().leader().orElseThrow().modRevision();
        assertThat(dcs.releaseLeader("node-1", first)).isTrue();
        long second = dcs.grantLease(LONG);
        assertThat(dcs.acquireLeader("node-2", second)).isTrue();

        assertThat(dcs.removeLeader(seen)).as("written again since").isFalse();
        assertThat(dcs.read().leader()).map(LeaderKey::name).contains("node-2");

        assertThat(dcs.removeLeader(dcs.read().leader().orElseThrow().modRevision()))
                .isTrue();
        assertThat(dcs.read().leader()).isEmpty();
        assertThat(dcs.removeLeader(seen)).as("nothing left to remove").isFalse();
    }

    // ---- publishMember, publishRouter, readRouters

    @Test
    void aMemberKeyIsBoundToItsLease() {
        long first = dcs.grantLease(LONG);
        long second = dcs.grantLease(LONG);
        dcs.publishMember(member("node-1", MemberState.RUNNING), first);
        dcs.publishMember(member("node-2", MemberState.STREAMING), second);

        dcs.revokeLease(first);

        assertThat(dcs.read().members()).containsOnlyKeys("node-2");
    }

    @Test
    void removeMemberRevokesTheMembersLeaseAndLeavesTheOthers() {
        long first = dcs.grantLease(LONG);
        long second = dcs.grantLease(LONG);
        dcs.publishMember(member("node-1", MemberState.RUNNING), first);
        dcs.publishMember(member("node-2", MemberState.STREAMING), second);

        assertThat(dcs.removeMember("node-1")).isTrue();

        assertThat(dcs.read().members()).containsOnlyKeys("node-2");
        assertThat(dcs.keepAlive(first, REQUEST_TIMEOUT))
                .as("the removed member's lease is revoked, so nothing else of its agent outlives it")
                .isLessThanOrEqualTo(0);
        assertThat(dcs.removeMember("node-1"))
                .as("a second removal finds nothing")
                .isFalse();
    }

    @Test
    void theLastMemberWriteWins() {
        long lease = dcs.grantLease(LONG);
        dcs.publishMember(member("node-1", MemberState.STARTING), lease);
        dcs.publishMember(member("node-1", MemberState.STREAMING), lease);

        assertThat(dcs.read().members()).containsExactly(Map.entry("node-1", member("node-1", MemberState.STREAMING)));
    }

    @Test
    void aRouterKeyIsBoundToItsLease() {
        long first = dcs.grantLease(LONG);
        long second = dcs.grantLease(LONG);
        dcs.publishRouter(router("r1"), first);
        dcs.publishRouter(router("r2"), second);
        assertThat(dcs.readRouters()).containsExactlyInAnyOrder(router("r1"), router("r2"));

        dcs.revokeLease(first);

        assertThat(dcs.readRouters()).containsExactly(router("r2"));
        assertThat(dcs.read().routers()).containsExactly(router("r2"));
    }

    @Test
    void aWriteBoundToALeaseThatIsGoneIsRefusedAndWritesNothing() {
        long lease = dcs.grantLease(LONG);
        dcs.revokeLease(lease);

        assertThatThrownBy(() -> dcs.publishMember(member("node-1", MemberState.RUNNING), lease))
                .isInstanceOf(DcsException.class);
        assertThatThrownBy(() -> dcs.publishRouter(router("r1"), lease)).isInstanceOf(DcsException.class);
        assertThatThrownBy(() -> dcs.acquireLeader("node-1", lease)).isInstanceOf(DcsException.class);

        ClusterSnapshot cluster = dcs.read();
        assertThat(cluster.members()).isEmpty();
        assertThat(cluster.routers()).isEmpty();
        assertThat(cluster.leader()).isEmpty();

        assertThat(dcs.acquireLeader("node-2", dcs.grantLease(LONG))).isTrue();
        assertThat(dcs.acquireLeader("node-1", lease))
                .as("a compare that fails comes first: refused, no error")
                .isFalse();
    }

    // ---- publishOptime, publishSync

    @Test
    void publishOptimeIsRefusedUnlessTheLeaderKeyNamesTheCaller() {
        Optime optime = new Optime("0/5000000", 2);
        assertThat(dcs.publishOptime("node-1", optime)).as("no leader").isFalse();
        long lease = dcs.grantLease(LONG);
        assertThat(dcs.acquireLeader("node-2", lease)).isTrue();
        assertThat(dcs.publishOptime("node-1", optime)).as("another leader").isFalse();
        assertThat(dcs.read().optime()).isEmpty();

        assertThat(dcs.publishOptime("node-2", optime)).isTrue();
        assertThat(dcs.read().optime()).contains(optime);
    }

    @Test
    void theOptimeOutlivesTheLeader() {
        long lease = dcs.grantLease(LONG);
        assertThat(dcs.acquireLeader("node-1", lease)).isTrue();
        assertThat(dcs.publishOptime("node-1", new Optime("0/5000000", 2))).isTrue();

        dcs.revokeLease(lease);

        assertThat(dcs.read().optime()).contains(new Optime("0/5000000", 2));
    }

    @Test
    void publishSyncIsRefusedUnlessTheLeaderKeyNamesTheCaller() {
        SyncState sync = new SyncState("node-1", List.of("node-2"));
        assertThat(dcs.publishSync("node-1", Optional.of(sync))).as("no leader").isFalse();
        long lease = dcs.grantLease(LONG);
        assertThat(dcs.acquireLeader("node-1", lease)).isTrue();
        assertThat(dcs.publishSync("node-3", Optional.of(new SyncState("node-3", List.of()))))
                .as("a deposed leader")
                .isFalse();
        assertThat(dcs.read().sync()).isEmpty();

        assertThat(dcs.publishSync("node-1", Optional.of(sync))).isTrue();
        assertThat(dcs.read().sync()).contains(sync);

        assertThat(dcs.publishSync("node-3", Optional.empty()))
                .as("nor may it delete")
                .isFalse();
        assertThat(dcs.read().sync()).contains(sync);
        assertThat(dcs.publishSync("node-1", Optional.empty())).isTrue();
        assertThat(dcs.read().sync()).isEmpty();
    }

    // ---- compareAndSetConfig

    @Test
    void configWithRevisionZeroIsWrittenOnlyWhenAbsent() {
        assertThat(dcs.compareAndSetConfig(0, CONFIG)).isTrue();
        assertThat(dcs.compareAndSetConfig(0, PAUSED)).isFalse();

        assertThat(dcs.read().config()).isEqualTo(CONFIG);
    }

    @Test
    void configWithARevisionIsRefusedWhileAbsent() {
        assertThat(dcs.compareAndSetConfig(dcs.read().revision(), CONFIG)).isFalse();

        assertThat(dcs.read().configRevision()).isZero();
    }

    @Test
    void theSnapshotsConfigRevisionMakesTheNextSwapSucceedAndAStaleOneFails() {
        assertThat(dcs.compareAndSetConfig(0, CONFIG)).isTrue();
        long first = dcs.read().configRevision();

        assertThat(dcs.compareAndSetConfig(first, PAUSED)).isTrue();
        assertThat(dcs.compareAndSetConfig(first, STRICT)).as("stale revision").isFalse();
        assertThat(dcs.read().config()).isEqualTo(PAUSED);

        long second = dcs.read().configRevision();
        assertThat(second).isGreaterThan(first);
        assertThat(dcs.compareAndSetConfig(second, STRICT)).isTrue();
        assertThat(dcs.read().config()).isEqualTo(STRICT);
    }

    @Test
    void theConfigRevisionIsTheConfigKeysOwnNotTheClusters() {
        assertThat(dcs.compareAndSetConfig(0, CONFIG)).isTrue();
        long lease = dcs.grantLease(LONG);
        assertThat(dcs.acquireLeader("node-1", lease)).isTrue();
        dcs.publishMember(member("node-1", MemberState.RUNNING), lease);

        ClusterSnapshot cluster = dcs.read();
        assertThat(cluster.configRevision()).isLessThan(cluster.revision());
        assertThat(dcs.compareAndSetConfig(cluster.revision(), PAUSED))
                .as("the cluster's revision")
                .isFalse();
        assertThat(dcs.compareAndSetConfig(cluster.configRevision(), PAUSED))
                .as("other keys changed, config did not")
                .isTrue();
    }

    // ---- requestSwitchover, clearSwitchover

    /** {@code switchover} is requested (under a lease of {@code ttl}, or none) and taken; returns its key's revision. */
    private long requested(Switchover switchover, Duration ttl) {
        assertThat(dcs.requestSwitchover(switchover, ttl))
                .as("request of %s", switchover)
                .isTrue();
        return dcs.read().switchoverRevision();
    }

    /** A clear at {@code revision} deletes nothing ({@code why}): {@code pending} is still the request. */
    private void assertClearRefused(long revision, String why, Switchover pending) {
        assertThat(dcs.clearSwitchover(revision)).as(why).isFalse();
        assertThat(dcs.read().switchover()).contains(pending);
    }

    @Test
    void aSwitchoverIsCreatedOnlyWhenNoneIsPending() {
        Switchover first = new Switchover("node-1", "node-2", "2026-12-01T12:00:00Z");
        Switchover second = new Switchover("node-1", "node-3", "2026-12-01T12:00:01Z");

        requested(first, null);
        assertThat(dcs.requestSwitchover(second, null)).isFalse();
        assertThat(dcs.requestSwitchover(second, LONG)).isFalse();

        assertThat(dcs.read().switchover()).contains(first);
    }

    @Test
    void aSwitchoverWithATtlVanishesWithItsLease() {
        Switchover switchover = new Switchover("node-1", "node-2", "2026-12-01T12:00:00Z");
        requested(switchover, SHORT);

        letLeasesExpire(
                SHORT, "the switchover expired", () -> dcs.read().switchover().isEmpty());

        assertThat(dcs.requestSwitchover(switchover, null))
                .as("none pending any more")
                .isTrue();
    }

    @Test
    void aSwitchoverWithoutATtlOutlastsLeasesThatExpire() {
        Switchover scheduled =
                new Switchover("node-1", "node-2", "2026-12-01T12:00:00Z", "2026-12-01T18:00:00Z", false);
        requested(scheduled, null);
        assertThat(dcs.acquireLeader("node-1", dcs.grantLease(SHORT))).isTrue();

        letLeasesExpire(
                SHORT, "the leader key expired", () -> dcs.read().leader().isEmpty());

        assertThat(dcs.read().switchover()).contains(scheduled);
    }

    @Test
    void clearSwitchoverDeletesTheRequestReadAtItsRevision() {
        Switchover switchover = new Switchover("node-1", "node-2", "2026-12-01T12:00:00Z");
        long read = requested(switchover, LONG);
        dcs.publishMember(member("node-1", MemberState.RUNNING), dcs.grantLease(LONG));
        ClusterSnapshot later = dcs.read();
        assertThat(later.switchoverRevision())
                .as("the key's own revision, not the cluster's")
                .isEqualTo(read)
                .isPositive()
                .isLessThan(later.revision());

        assertThat(dcs.clearSwitchover(read)).isTrue();

        assertThat(dcs.read().switchover()).isEmpty();
        assertThat(dcs.read().switchoverRevision()).as("none pending").isZero();
        assertThat(dcs.clearSwitchover(read)).as("already deleted").isFalse();
        assertThat(dcs.clearSwitchover(0))
                .as("0 deletes nothing, with none pending")
                .isFalse();
        requested(switchover, null);
        assertClearRefused(0, "0 deletes nothing, with one pending", switchover);
    }

    @Test
    void aNewerSwitchoverSurvivesAClearOfTheOlderOne() {
        Switchover older = new Switchover("node-1", "node-2", "2026-12-01T12:00:00Z");
        Switchover newer = new Switchover("node-1", "node-3", "2026-12-01T12:00:01Z", "2026-12-01T18:00:00Z", false);
        long carriedOut = requested(older, null);
        // Meanwhile an operator cancels it (by what they read) and asks for the next one.
        assertThat(dcs.clearSwitchover(carriedOut)).isTrue();
        requested(newer, null);

        assertClearRefused(carriedOut, "the older request's clean-up", newer);
    }

    @Test
    void theSameRequestWrittenAgainSurvivesAClearOfTheFirst() {
        Switchover switchover = new Switchover("node-1", "node-2", "2026-12-01T12:00:00Z");
        long first = requested(switchover, SHORT);
        letLeasesExpire(
                SHORT,
                "the first request expired",
                () -> dcs.read().switchover().isEmpty());
        requested(switchover, null);

        assertClearRefused(first, "compared by revision, not by value", switchover);
    }

    // ---- appendHistory

    @Test
    void historyAppendsInOrderAndKeepsTheNewest100() {
        for (int timeline = 1; timeline <= 105; timeline++) {
            dcs.appendHistory(entry(timeline));
        }

        List<HistoryEntry> history = dcs.read().history();
        assertThat(history).hasSize(100);
        assertThat(history.getFirst()).isEqualTo(entry(6));
        assertThat(history.getLast()).isEqualTo(entry(105));
        assertThat(history).isSortedAccordingTo((a, b) -> Long.compare(a.timeline(), b.timeline()));
    }

    @Test
    void concurrentHistoryAppendsLoseNothing() throws Exception {
        // Five appends each: whoever loses a swap lost it to the other writer, so nobody runs out of retries.
        List<Boolean> done = race(2, writer -> {
            for (int i = 0; i < 5; i++) {
                dcs.appendHistory(new HistoryEntry(writer * 100 + i, "0/0", "writer-" + writer, "", ""));
            }
            return true;
        });

        assertThat(done).containsOnly(true);
        List<HistoryEntry> history = dcs.read().history();
        assertThat(history).hasSize(10);
        for (String writer : List.of("writer-0", "writer-1")) {
            assertThat(history.stream()
                            .filter(e -> e.member().equals(writer))
                            .map(HistoryEntry::timeline)
                            .toList())
                    .as("%s's entries in the order it appended them", writer)
                    .isSorted()
                    .hasSize(5);
        }
    }

    // ---- leases: expiry, revokeLease, keepAlive

    @Test
    void leaseExpiryDeletesEveryKeyBoundToIt() {
        long staying = dcs.grantLease(LONG);
        dcs.publishMember(member("node-2", MemberState.STREAMING), staying);
        long expiring = dcs.grantLease(SHORT);
        assertThat(dcs.acquireLeader("node-1", expiring)).isTrue();
        dcs.publishMember(member("node-1", MemberState.RUNNING), expiring);
        dcs.publishRouter(router("r1"), expiring);
        assertThat(dcs.requestSwitchover(new Switchover("node-1", "node-2", "2026-12-01T12:00:00Z"), SHORT))
                .isTrue();

        letLeasesExpire(SHORT, "leader, member, router and switchover expired", () -> {
            ClusterSnapshot cluster = dcs.read();
            return cluster.leader().isEmpty()
                    && !cluster.members().containsKey("node-1")
                    && cluster.routers().isEmpty()
                    && cluster.switchover().isEmpty();
        });

        assertThat(dcs.read().members()).containsOnlyKeys("node-2");
        assertThat(dcs.readRouters()).isEmpty();
    }

    @Test
    void revokeLeaseDeletesEveryBoundKeyAtOnce() {
        long lease = dcs.grantLease(LONG);
        assertThat(dcs.acquireLeader("node-1", lease)).isTrue();
        dcs.publishMember(member("node-1", MemberState.RUNNING), lease);
        dcs.publishRouter(router("r1"), lease);

        dcs.revokeLease(lease);

        ClusterSnapshot cluster = dcs.read();
        assertThat(cluster.leader()).isEmpty();
        assertThat(cluster.members()).isEmpty();
        assertThat(cluster.routers()).isEmpty();
    }

    @Test
    void revokingALeaseThatIsGoneFails() {
        long lease = dcs.grantLease(LONG);
        dcs.revokeLease(lease);

        assertThatThrownBy(() -> dcs.revokeLease(lease)).isInstanceOf(DcsException.class);
    }

    @Test
    void keepAliveOfALiveLeaseAnswersItsTtl() {
        long lease = dcs.grantLease(LONG);

        assertThat(dcs.keepAlive(lease, Duration.ofSeconds(2))).isBetween(1L, LONG.toSeconds());
    }

    @Test
    void keepAliveOfARevokedLeaseAnswersNotFound() {
        long lease = dcs.grantLease(LONG);
        dcs.revokeLease(lease);

        assertThat(dcs.keepAlive(lease, Duration.ofSeconds(2))).isLessThanOrEqualTo(0);
    }

    @Test
    void keepAliveOfAnExpiredLeaseAnswersNotFound() {
        long lease = dcs.grantLease(SHORT);
        dcs.publishMember(member("node-1", MemberState.RUNNING), lease);

        letLeasesExpire(
                SHORT, "the member key expired", () -> dcs.read().members().isEmpty());

        assertThat(dcs.keepAlive(lease, Duration.ofSeconds(2))).isLessThanOrEqualTo(0);
    }

    // ---- watch, watchAll

    @Test
    void watchIsCalledWhenTheLeaderIsTakenReleasedAndExpires() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        long lease = dcs.grantLease(LONG);
        AutoCloseable watch = dcs.watch(calls::incrementAndGet);
        try {
            assertThat(dcs.acquireLeader("node-1", lease)).isTrue();
            await("a call for the leader taken", () -> calls.get() >= 1);

            assertThat(dcs.releaseLeader("node-1", lease)).isTrue();
            await("a call for the leader released", () -> calls.get() >= 2);

            assertThat(dcs.acquireLeader("node-2", dcs.grantLease(SHORT))).isTrue();
            await("a call for the leader taken again", () -> calls.get() >= 3);
            letLeasesExpire(SHORT, "a call for the leader expired", () -> calls.get() >= 4);
            assertThat(dcs.read().leader()).isEmpty();
        } finally {
            watch.close();
        }
    }

    @Test
    void watchAllReportsTheChangedKeysRelativeToTheClusterPrefix() throws Exception {
        List<List<String>> changes = new CopyOnWriteArrayList<>();
        long lease = dcs.grantLease(LONG);
        AutoCloseable watch = dcs.watchAll(changes::add);
        try {
            assertThat(dcs.acquireLeader("node-1", lease)).isTrue();
            dcs.publishMember(member("node-1", MemberState.RUNNING), lease);
            dcs.publishRouter(router("r1"), lease);
            assertThat(dcs.compareAndSetConfig(0, CONFIG)).isTrue();
            await(
                    "leader, member, router and config reported",
                    () -> changes.stream()
                            .flatMap(List::stream)
                            .toList()
                            .containsAll(List.of("leader", "members/node-1", "routers/r1", "config")));

            dcs.revokeLease(lease);
            await(
                    "the revoked lease's keys reported together, as one revision",
                    () -> changes.stream()
                            .anyMatch(change -> change.containsAll(List.of("leader", "members/node-1", "routers/r1"))));
            assertThat(changes.stream().flatMap(List::stream))
                    .as("the config was written once")
                    .containsOnlyOnce("config");
        } finally {
            watch.close();
        }
    }

    // ---- fixtures

    static Member member(String name, MemberState state) {
        Role role = state == MemberState.RUNNING ? Role.PRIMARY : Role.REPLICA;
        return new Member(
                name,
                role,
                state,
                "127.0.0.1",
                5432,
                "http://127.0.0.1:8008",
                1,
                "0/3000060",
                0,
                NodeTags.NONE,
                4100,
                4200,
                "instance-" + name,
                "/var/lib/warden/" + name,
                false);
    }

    static RouterStatus router(String id) {
        return new RouterStatus(
                id, "127.0.0.1", 5432, 5433, "http://127.0.0.1:8100", 4300, Map.of("node-1", 3L), "node-1", 0);
    }

    static HistoryEntry entry(long timeline) {
        return new HistoryEntry(
                timeline,
                "0/" + Long.toHexString(timeline * 0x1000000),
                "node-1",
                "2026-12-01T12:00:00Z",
                "promoted: the leader lease expired");
    }

    /** Runs {@code attempt(0..n-1)} on n threads released together; their answers by index. */
    static List<Boolean> race(int n, IntPredicate attempt) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<Boolean>> answers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                answers.add(threads.submit(() -> {
                    start.await();
                    return attempt.test(index);
                }));
            }
            start.countDown();
            List<Boolean> won = new ArrayList<>();
            for (Future<Boolean> answer : answers) {
                won.add(answer.get(30, TimeUnit.SECONDS));
            }
            return won;
        } finally {
            threads.shutdownNow();
        }
    }
}
