package io.warden.dcs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.LeaderKey;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Optime;
import io.warden.cluster.Switchover;
import io.warden.common.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The contract against {@link FakeDcs}, and what only the fake has: its clock, its fault switches, its callbacks. */
class FakeDcsTest extends DcsContract {
    private final FakeClock clock = new FakeClock();
    private FakeDcs fake;

    /** The fake times nothing out: a call fails at once when cut off, or answers at once. */
    @Override
    protected Dcs newStore(Duration requestTimeout) {
        return new FakeDcs(clock);
    }

    @BeforeEach
    void keepTheFake() {
        fake = (FakeDcs) dcs;
    }

    @Override
    protected void whileCutOff(Dcs store, Runnable body) {
        FakeDcs cutOff = (FakeDcs) store;
        cutOff.setUnreachable(true);
        try {
            body.run();
        } finally {
            cutOff.setUnreachable(false);
        }
    }

    /** The fake changes, and calls its watches, before the call that changed it returns: nothing to wait for. */
    @Override
    protected void await(String what, BooleanSupplier condition) {
        assertThat(condition.getAsBoolean()).as(what).isTrue();
    }

    @Override
    protected void letLeasesExpire(Duration ttl, String what, BooleanSupplier condition) {
        clock.advance(ttl);
        await(what, condition);
    }

    // ---- time

    /** node-1 takes the leader key under a new lease of {@code ttl}, whose id is returned. */
    private long node1Leads(Duration ttl) {
        long lease = fake.grantLease(ttl);
        assertThat(fake.acquireLeader("node-1", lease)).isTrue();
        return lease;
    }

    @Test
    void aLeaseLivesUntilItsTtlHasPassedSinceTheLastRenewal() {
        long lease = fake.grantLease(Duration.ofSeconds(3));
        fake.publishMember(member("node-1", MemberState.RUNNING), lease);

        clock.advance(Duration.ofMillis(2999));
        assertThat(fake.keepAlive(lease, Duration.ofSeconds(1))).isEqualTo(3);
        clock.advance(Duration.ofMillis(2999));
        assertThat(fake.read().members()).as("renewed 2.999 s ago").containsOnlyKeys("node-1");

        clock.advance(Duration.ofMillis(1));
        assertThat(fake.read().members()).as("3 s after the renewal").isEmpty();
        assertThat(fake.keepAlive(lease, Duration.ofSeconds(1))).isZero();
    }

    @Test
    void aTtlIsGrantedInWholeSecondsAsEtcdDoes() {
        long lease = fake.grantLease(Duration.ofMillis(2500));
        fake.publishMember(member("node-1", MemberState.RUNNING), lease);

        clock.advance(Duration.ofSeconds(2));

        assertThat(fake.read().members()).isEmpty();
    }

    @Test
    void anExpiryIsOneRevisionForAllTheLeasesKeys() {
        long lease = node1Leads(SHORT);
        fake.publishMember(member("node-1", MemberState.RUNNING), lease);
        long before = fake.read().revision();
        List<List<String>> changes = new ArrayList<>();
        fake.watchAll(changes::add);

        clock.advance(SHORT);

        assertThat(changes).containsExactly(List.of("leader", "members/node-1"));
        assertThat(fake.read().revision()).isEqualTo(before + 1);
    }

    // ---- what it stores

    @Test
    void valuesAreStoredAsTheTextEtcdDcsWrites() {
        long lease = fake.grantLease(LONG);
        Member member = member("node-1", MemberState.RUNNING);
        fake.publishMember(member, lease);
        fake.compareAndSetConfig(0, DynamicConfig.DEFAULTS);

        assertThat(fake.rawValue("members/node-1")).contains(ClusterKeys.text(member));
        assertThat(fake.rawValue("config")).contains(ClusterKeys.text(DynamicConfig.DEFAULTS));
        assertThat(fake.rawValue("leader")).isEmpty();
    }

    @Test
    void aRawValueIsStoredAsWrittenAndAnUnreadableOneDoesNotStopTheRead() {
        long lease = fake.grantLease(LONG);
        fake.publishMember(member("node-1", MemberState.RUNNING), lease);
        List<String> changed = new ArrayList<>();
        fake.watchAll(changed::addAll);

        fake.putRaw("members/node-2", "{not json");
        fake.putRaw("leader", "node-1", lease);

        assertThat(fake.rawValue("members/node-2")).contains("{not json");
        assertThat(changed).containsExactly("members/node-2", "leader");
        ClusterSnapshot cluster = fake.read();
        assertThat(cluster.members()).containsOnlyKeys("node-1");
        assertThat(cluster.leader()).map(LeaderKey::leaseId).contains(lease);
        fake.revokeLease(lease);
        assertThat(fake.rawValue("leader"))
                .as("bound to the lease it was given")
                .isEmpty();
        assertThat(fake.rawValue("members/node-2")).as("bound to none").isPresent();
    }

    // ---- fault switches

    @Test
    void anUnreachableStoreRefusesEveryCall() {
        long lease = fake.grantLease(LONG);
        fake.setUnreachable(true);

        List<ThrowingCallable> calls = List.of(
                fake::read,
                () -> fake.grantLease(LONG),
                () -> fake.keepAlive(lease, Duration.ofSeconds(1)),
                () -> fake.revokeLease(lease),
                () -> fake.claimBootstrap("node-1", lease),
                () -> fake.completeBootstrap("7301"),
                () -> fake.acquireLeader("node-1", lease),
                () -> fake.releaseLeader("node-1", lease),
                () -> fake.publishMember(member("node-1", MemberState.RUNNING), lease),
                () -> fake.publishOptime("node-1", new Optime("0/1", 1)),
                () -> fake.compareAndSetConfig(0, DynamicConfig.DEFAULTS),
                () -> fake.appendHistory(entry(1)),
                () -> fake.requestSwitchover(new Switchover("node-1", "node-2", ""), null),
                () -> fake.publishSync("node-1", Optional.empty()),
                () -> fake.clearSwitchover(1),
                () -> fake.publishRouter(router("r1"), lease),
                fake::readRouters);
        for (ThrowingCallable call : calls) {
            assertThatThrownBy(call).isInstanceOf(DcsException.class).hasMessageContaining("unreachable");
        }

        fake.setUnreachable(false);
        assertThat(fake.read().leader()).as("nothing was written").isEmpty();
        assertThat(fake.keepAlive(lease, Duration.ofSeconds(1))).isPositive();
    }

    @Test
    void whileUnreachableLeasesStillExpireAndWatchesHearOfItOnReconnecting() {
        AtomicInteger leaderCalls = new AtomicInteger();
        long lease = node1Leads(SHORT);
        fake.setUnreachable(true);
        assertThatCode(() -> fake.watch(leaderCalls::incrementAndGet)).doesNotThrowAnyException();
        List<String> changed = new CopyOnWriteArrayList<>();
        fake.watchAll(changed::addAll);

        clock.advance(SHORT);
        assertThat(leaderCalls).hasValue(0);
        assertThat(changed).isEmpty();

        fake.setUnreachable(false);
        assertThat(leaderCalls).hasValue(1);
        assertThat(changed).containsExactly("leader");
        assertThat(fake.read().leader()).isEmpty();
    }

    @Test
    void failingRenewalsLeaveEveryOtherCallWorkingAndTheLeaseExpires() {
        long lease = fake.grantLease(Duration.ofSeconds(3));
        fake.failRenewals(true);

        assertThatThrownBy(() -> fake.keepAlive(lease, Duration.ofSeconds(1))).isInstanceOf(DcsException.class);
        assertThat(fake.acquireLeader("node-1", lease)).isTrue();
        assertThat(fake.read().leader()).isPresent();

        clock.advance(Duration.ofSeconds(3));
        fake.failRenewals(false);
        assertThat(fake.read().leader()).isEmpty();
        assertThat(fake.keepAlive(lease, Duration.ofSeconds(1))).isZero();
    }

    @Test
    void aLeaseRevokedFromOutsideTakesItsKeysAndAnswersNotFound() {
        AtomicInteger leaderCalls = new AtomicInteger();
        long lease = node1Leads(LONG);
        fake.publishMember(member("node-1", MemberState.RUNNING), lease);
        fake.watch(leaderCalls::incrementAndGet);

        assertThat(fake.revokeFromOutside(lease)).isTrue();

        assertThat(leaderCalls).hasValue(1);
        assertThat(fake.read().leader()).isEmpty();
        assertThat(fake.read().members()).isEmpty();
        assertThat(fake.keepAlive(lease, Duration.ofSeconds(1))).isZero();
        assertThat(fake.revokeFromOutside(lease)).as("already gone").isFalse();
    }

    // ---- callbacks

    @Test
    void watchIsNotCalledForOtherKeysNorOnceClosed() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        long lease = fake.grantLease(LONG);
        AutoCloseable watch = fake.watch(calls::incrementAndGet);

        fake.publishMember(member("node-1", MemberState.RUNNING), lease);
        fake.compareAndSetConfig(0, DynamicConfig.DEFAULTS);
        assertThat(calls).hasValue(0);

        watch.close();
        assertThat(fake.acquireLeader("node-1", lease)).isTrue();
        assertThat(calls).hasValue(0);
    }

    @Test
    void aCallbackMayWriteToTheFakeAndItsChangeFollowsInOrder() {
        long lease = fake.grantLease(LONG);
        List<List<String>> changes = new CopyOnWriteArrayList<>();
        fake.watchAll(changes::add);
        fake.watch(() -> {
            if (fake.read().leader().isPresent()) {
                fake.publishMember(member("node-1", MemberState.PROMOTING), lease);
            }
        });

        assertThat(fake.acquireLeader("node-1", lease)).isTrue();

        assertThat(changes).containsExactly(List.of("leader"), List.of("members/node-1"));
        assertThat(fake.read().members()).containsKey("node-1");
    }

    @Test
    void aCallbackThatThrowsDoesNotStopOtherWatches() {
        long lease = fake.grantLease(LONG);
        AtomicInteger calls = new AtomicInteger();
        fake.watch(() -> {
            throw new IllegalStateException("a test's callback failing on purpose");
        });
        fake.watch(calls::incrementAndGet);

        assertThat(fake.acquireLeader("node-1", lease)).isTrue();
        assertThat(fake.releaseLeader("node-1", lease)).isTrue();

        assertThat(calls).hasValue(2);
    }

    @Test
    void concurrentWritersAreEachReportedOnce() throws Exception {
        List<String> changed = new CopyOnWriteArrayList<>();
        fake.watchAll(changed::addAll);
        long lease = fake.grantLease(LONG);

        List<Boolean> done = race(4, writer -> {
            for (int i = 0; i < 200; i++) {
                fake.publishMember(member("node-" + writer, MemberState.STREAMING), lease);
            }
            return true;
        });

        assertThat(done).containsOnly(true);
        assertThat(changed).hasSize(800);
        assertThat(fake.read().revision()).isEqualTo(1 + 800);
    }

    @Test
    void aClosedFakeRefusesCalls() {
        fake.close();

        assertThatThrownBy(fake::read).isInstanceOf(DcsException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> fake.watch(() -> {})).isInstanceOf(DcsException.class);
    }
}
