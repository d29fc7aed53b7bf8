package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.cluster.Switchover;
import io.warden.dcs.FakeDcs;
import io.warden.postgres.FakePostgres;
import io.warden.postgres.Postgres;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A switchover request is deleted only by whoever carried it out, and only that request: an operator may cancel it
 * and write the next one while the agent is still busy with the first (a promotion, a 30 s wait for the candidate),
 * and the next one must survive the first one's clean-up.
 */
class SwitchoverClearTest {
    /** What an operator writes meanwhile: the next switchover, scheduled for later, from node-1 to node-3. */
    private static final Switchover NEXT =
            new Switchover("node-1", "node-3", "2026-12-01T12:00:05Z", "2099-01-01T00:00:00Z", false);

    private final AgentHarness harness;
    private final FakeDcs dcs;

    SwitchoverClearTest(@TempDir Path dir) {
        harness = new AgentHarness(dir);
        dcs = harness.dcs;
    }

    @Test
    void theNewLeaderDeletesTheRequestItCarriedOutNotOneWrittenWhileItPromoted() {
        harness.otherLeader("node-2", "0/3000000");
        FakePostgres replica = AgentHarness.replicaOfNode2();
        Agent agent = harness.agent("node-1", beforeFirst("promote", replica, this::operatorReplacesTheRequest));
        agent.cycle();
        harness.secondsPass(agent, 7);
        assertThat(dcs.read().leader()).as("node-2's lease ran out").isEmpty();
        assertThat(dcs.requestSwitchover(new Switchover("", "node-1", "2026-12-01T12:00:07Z", "", true), null))
                .isTrue();

        agent.cycle();
        agent.cycle();

        assertThat(replica.actions()).contains("promote");
        assertThat(dcs.read().leader())
                .hasValueSatisfying(l -> assertThat(l.name()).isEqualTo("node-1"));
        assertThat(dcs.read().switchover())
                .as("the request written during the promotion")
                .contains(NEXT);
    }

    @Test
    void anAbortedHandOverDeletesTheRequestItAbortedNotOneWrittenWhileItWaitedForTheCandidate() {
        Agent agent = leaderWithReplica();
        assertThat(dcs.requestSwitchover(
                        new Switchover("node-1", "node-2", "2026-12-01T12:00:02Z"), Duration.ofSeconds(30)))
                .isTrue();
        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.HAND_OVER);

        // While the old primary waits for the candidate (which never confirms the shutdown checkpoint: nobody
        // answers its /status), the operator cancels the request and writes the next one.
        operatorReplacesTheRequest();
        harness.secondsPass(agent, 31);
        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.ABORT_HAND_OVER);
        assertThat(dcs.read().switchover())
                .as("the request written during the hand-over")
                .contains(NEXT);
    }

    @Test
    void theLeaderClearsARequestForAFormerLeaderButNotOneWrittenSinceItWasRead() {
        FakePostgres primary = new FakePostgres();
        Agent agent = harness.agent("node-1", beforeFirst("physicalSlots", primary, this::operatorReplacesTheRequest));
        agent.cycle();
        assertThat(dcs.read().leader())
                .hasValueSatisfying(l -> assertThat(l.name()).isEqualTo("node-1"));
        assertThat(dcs.requestSwitchover(
                        new Switchover("node-9", "node-1", "2026-12-01T12:00:01Z", "2099-01-01T00:00:00Z", false),
                        null))
                .isTrue();

        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.LEAD);
        assertThat(dcs.read().switchover())
                .as("the request written after the cycle read the former leader's")
                .contains(NEXT);
    }

    /** node-1 bootstrapped and leads; node-2 streams from it (its record only, under a lease the test keeps). */
    private Agent leaderWithReplica() {
        Agent agent = harness.agent("node-1", new FakePostgres());
        agent.cycle();
        agent.cycle();
        long replicaLease = dcs.grantLease(Duration.ofSeconds(60));
        dcs.publishMember(
                AgentHarness.member("node-2", Role.REPLICA, MemberState.STREAMING, "0/3000000", 5602), replicaLease);
        harness.keepLeaseAlive(agent);
        return agent;
    }

    /** The operator cancels whatever is pending ({@code etcdctl del}) and requests {@link #NEXT}. */
    private void operatorReplacesTheRequest() {
        dcs.deleteRaw("switchover");
        assertThat(dcs.requestSwitchover(NEXT, null)).isTrue();
    }

    /** {@code postgres}, running {@code hook} once, just before the first call of {@code method}. */
    private static Postgres beforeFirst(String method, FakePostgres postgres, Runnable hook) {
        AtomicBoolean ran = new AtomicBoolean();
        return (Postgres) Proxy.newProxyInstance(
                Postgres.class.getClassLoader(), new Class<?>[] {Postgres.class}, (proxy, called, args) -> {
                    if (called.getName().equals(method) && ran.compareAndSet(false, true)) {
                        hook.run();
                    }
                    try {
                        return called.invoke(postgres, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
