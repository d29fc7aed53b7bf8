package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.dcs.Lease;
import io.warden.postgres.DataState;
import io.warden.postgres.FakePostgres;
import io.warden.watchdog.WatchdogClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Losing the lease is losing leadership: a lease etcd no longer knows, or a renewal that came back too late, fences
 * at once; and a decision made under one lease is never carried out under another.
 */
class LeaseLossTest {
    @TempDir
    Path dir;

    private AgentHarness harness;
    /** What the watchdog was told, in order: "arm <deadline>" or "disarm". */
    private final List<String> watchdogMessages = new CopyOnWriteArrayList<>();

    private final WatchdogClient watchdog = new WatchdogClient() {
        @Override
        public boolean arm(long deadlineNanos) {
            watchdogMessages.add("arm " + deadlineNanos);
            return true;
        }

        @Override
        public boolean disarm() {
            watchdogMessages.add("disarm");
            return true;
        }
    };

    @BeforeEach
    void harness() {
        harness = new AgentHarness(dir);
    }

    private Agent agent(FakePostgres postgres) {
        return harness.agent("node-1", postgres, AgentHarness.SILENT_PEERS, Optional.of(watchdog));
    }

    /** node-1 on {@code postgres}, a replica of node-2 whose lease has run out: its next cycle races. */
    private Agent replicaOfALostLeader(FakePostgres postgres) {
        harness.otherLeader("node-2", "0/3000000");
        Agent agent = agent(postgres);
        agent.cycle();
        harness.secondsPass(agent, 7);
        return agent;
    }

    private Agent leadingPrimary(FakePostgres postgres) {
        Agent agent = agent(postgres);
        agent.cycle();
        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.LEAD);
        return agent;
    }

    /** etcd forgot the lease (revoked it, or expired it while we could not reach it); the keeper's next step hears "not found". */
    private Lease.Term loseTheLease(Agent agent) {
        Lease.Term before = agent.lease().term();
        harness.dcs.revokeFromOutside(before.id());
        harness.clock.advanceMillis(1000);
        agent.lease().step(harness.clock.nanoTime());
        return before;
    }

    @Test
    void aRenewalAnsweredNotFoundWhileLeadingFencesAtOnce() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = leadingPrimary(postgres);

        Lease.Term lost = loseTheLease(agent);

        assertThat(postgres.actions()).last().isEqualTo("kill");
        assertThat(postgres.data()).isEqualTo(DataState.STOPPED_PRIMARY);
        assertThat(agent.lease().term().id())
                .as("a new lease, granted after the fence")
                .isNotEqualTo(lost.id())
                .isNotZero();
    }

    @Test
    void aRenewalAnsweredAfterTheDeadlineItWasToExtendFencesAtOnce() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = leadingPrimary(postgres);
        harness.clock.advanceMillis(1000);
        agent.lease().step(harness.clock.nanoTime());
        // The deadline is 5 s after that renewal; the next one is sent at +1 s and answered at +6 s.
        harness.clock.advanceMillis(1000);
        harness.dcs.delayRenewals(Duration.ofSeconds(5));

        agent.lease().step(harness.clock.nanoTime());

        assertThat(postgres.actions()).last().isEqualTo("kill");
    }

    @Test
    void aReplicaWhoseLeaseIsNotFoundGrantsANewOneAndRepublishesItsRecord() {
        harness.otherLeader("node-2", "0/3000000");
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        Agent agent = agent(postgres);
        agent.cycle();

        Lease.Term lost = loseTheLease(agent);
        agent.cycle();

        assertThat(postgres.actions()).doesNotContain("kill");
        assertThat(harness.dcs.read().members()).containsKey("node-1");
        assertThat(agent.lease().term().id()).isNotEqualTo(lost.id());
    }

    @Test
    void theWatchdogIsNeverReArmedByALeaseThatDoesNotHoldTheLeaderKey() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = leadingPrimary(postgres);

        loseTheLease(agent);
        Lease.Term replacement = agent.lease().term();
        harness.clock.advanceMillis(1000);
        agent.lease().step(harness.clock.nanoTime());

        assertThat(watchdogMessages).noneMatch(m -> m.equals("arm " + replacement.validUntilNanos()));
        assertThat(watchdogMessages)
                .noneMatch(m -> m.equals("arm " + agent.lease().term().validUntilNanos()));
    }

    /** The deadlines the watchdog was armed with, in order. */
    private List<Long> armedDeadlines(List<String> messages) {
        return messages.stream()
                .filter(m -> m.startsWith("arm "))
                .map(m -> Long.parseLong(m.substring(4)))
                .toList();
    }

    /**
     * Once the keeper has heard "not found", the lease ended then: the watchdog must be told that deadline (or an
     * earlier one) and never again the later one the last renewal had promised, so it goes to kill mode at once
     * and stays there, whatever the HA loop repeats to it afterwards.
     */
    @Test
    void afterALeaseIsLostTheWatchdogIsNeverToldALaterDeadlineThanTheLoss() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = leadingPrimary(postgres);
        long promised = armedDeadlines(watchdogMessages).getLast();
        int lostAt = watchdogMessages.size();

        loseTheLease(agent);
        long loss = harness.clock.nanoTime();
        assertThat(loss).isLessThan(promised);
        agent.cycle();

        assertThat(harness.dcs.read().leader()).as("not leading again yet").isEmpty();
        List<String> after = watchdogMessages.subList(lostAt, watchdogMessages.size());
        assertThat(armedDeadlines(after)).isNotEmpty().allMatch(deadline -> deadline <= loss);
    }

    /**
     * A fence the HA loop decides (another node holds the key now) leaves the watchdog armed with the deadline it
     * had: the agent's own lease is still renewed, but it holds no leader key, so the watchdog must reach that
     * deadline and kill any postgres on the data directory from then on, until the node starts as a replica (which
     * disarms it) or leads again (which re-arms it under the lease that holds the key).
     */
    @Test
    void aFenceTheLoopDecidesLeavesTheWatchdogArmedWithItsLastDeadlineNeitherDisarmedNorExtended() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = leadingPrimary(postgres);
        long lastDeadline = armedDeadlines(watchdogMessages).getLast();
        harness.dcs.deleteRaw("leader");
        assertThat(harness.dcs.acquireLeader("node-2", harness.dcs.grantLease(Duration.ofSeconds(600))))
                .isTrue();
        int fencedAt = watchdogMessages.size();

        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.FENCE);
        assertThat(postgres.actions()).contains("kill");
        harness.secondsPass(agent, 3);

        List<String> after = watchdogMessages.subList(fencedAt, watchdogMessages.size());
        assertThat(after).doesNotContain("disarm");
        assertThat(armedDeadlines(after)).allMatch(deadline -> deadline <= lastDeadline);
    }

    // ---- a decision made under one lease, the lease swapped before the act

    @Test
    void aPromotionDecidedUnderOneLeaseIsNotCarriedOutUnderAnother() {
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        Agent agent = replicaOfALostLeader(postgres);
        // Takes the key (and promotes): from the next cycle on, a crash between the two would leave PROMOTE.
        assertThat(harness.dcs.acquireLeader("node-1", agent.lease().term().id()))
                .isTrue();
        Agent.Plan plan = agent.plan().orElseThrow();
        assertThat(plan.decision().action()).isEqualTo(Action.PROMOTE);

        loseTheLease(agent);
        agent.carryOut(plan);

        assertThat(postgres.actions()).doesNotContain("promote");
    }

    @Test
    void theKeyIsNotTakenUnderALeaseOtherThanTheOneTheRaceWasDecidedUnder() {
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        Agent agent = replicaOfALostLeader(postgres);
        Agent.Plan plan = agent.plan().orElseThrow();
        assertThat(plan.decision().action()).isEqualTo(Action.TAKE_LEADERSHIP);

        loseTheLease(agent);
        agent.carryOut(plan);

        assertThat(harness.dcs.read().leader()).isEmpty();
        assertThat(postgres.actions()).doesNotContain("promote");
    }

    @Test
    void aRestartAsPrimaryDecidedUnderOneLeaseIsNotCarriedOutUnderAnother() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = leadingPrimary(postgres);
        postgres.crash();
        Agent.Plan plan = agent.plan().orElseThrow();
        assertThat(plan.decision().action()).isEqualTo(Action.RESTART_PRIMARY);

        // The lease is replaced without a fence (the primary is down: nothing to kill).
        loseTheLease(agent);
        int before = postgres.actions().size();
        agent.carryOut(plan);

        assertThat(postgres.actions().subList(before, postgres.actions().size()))
                .doesNotContain("start primary");
    }

    @Test
    void aBootstrapDecidedUnderOneLeaseDoesNotStartAPrimaryUnderAnother() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = agent(postgres);
        Agent.Plan plan = agent.plan().orElseThrow();
        assertThat(plan.decision().action()).isEqualTo(Action.BOOTSTRAP);

        loseTheLease(agent);
        agent.carryOut(plan);

        assertThat(postgres.actions()).doesNotContain("start primary");
        assertThat(harness.dcs.read().leader()).isEmpty();
    }
}
