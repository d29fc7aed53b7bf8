package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.common.Processes.Result;
import io.warden.dcs.FakeDcs;
import io.warden.postgres.FakePostgres;
import io.warden.postgres.Postgres;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An aborted hand-over starts the primary again as a restart in place does: under the term the abort was decided
 * in, with the watchdog armed, and retried in place when the start fails, its switchover request deleted first.
 */
class HandOverAbortTest {
    @TempDir
    Path dir;

    private AgentHarness harness;
    private FakeDcs dcs;
    private final FakePostgres fake = new FakePostgres();
    /** While set, postgres.start fails (pg_ctl exit 1). */
    private final AtomicBoolean startFails = new AtomicBoolean();

    private final Postgres primary = (Postgres) Proxy.newProxyInstance(
            Postgres.class.getClassLoader(), new Class<?>[] {Postgres.class}, (proxy, method, args) -> {
                if (method.getName().equals("start") && startFails.get()) {
                    return new Result(List.of("pg_ctl"), 1, "pg_ctl: could not start server");
                }
                try {
                    return method.invoke(fake, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
    private Agent agent;

    /** A switchover to node-2 is under way, and node-2 never answers: the wait for it ends in an abort. */
    @BeforeEach
    void switchoverDue() {
        harness = new AgentHarness(dir);
        dcs = harness.dcs;
        agent = harness.switchoverDue(primary, FakePeers.SILENT);
        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.HAND_OVER);
    }

    /** The wait as the loop runs it, a cycle at a time (a second apart here), until the abort is decided. */
    private Agent.Plan waitUntilTheAbortIsDecided() {
        for (int i = 0; i < 40; i++) {
            harness.secondsPass(agent, 1);
            Agent.Plan plan = agent.plan().orElseThrow();
            if (plan.decision().action() == Action.ABORT_HAND_OVER) {
                return plan;
            }
            assertThat(plan.decision().action()).isEqualTo(Action.WAIT);
            agent.carryOut(plan);
        }
        throw new AssertionError("no abort");
    }

    /**
     * The wait for the candidate does not count against primary_start_timeout (30 s by default, as long as the wait):
     * a start that fails after the abort is retried in place, and the request is already gone, so no node takes the
     * key as the named candidate of a hand-over that never completed.
     */
    @Test
    void anAbortWhoseStartFailsIsRetriedInPlaceAndItsRequestIsAlreadyGone() {
        Agent.Plan abort = waitUntilTheAbortIsDecided();
        startFails.set(true);
        agent.carryOut(abort);
        startFails.set(false);

        harness.secondsPass(agent, 1);
        agent.cycle();

        assertThat(dcs.read().switchover()).as("the aborted request").isEmpty();
        assertThat(agent.view().decision().action())
                .as(agent.view().decision().reason())
                .isEqualTo(Action.RESTART_PRIMARY);
    }

    /** LeaseLossTest's rule, one test per effect: starting as primary checks the plan's term right before. */
    @Test
    void anAbortDecidedUnderOneLeaseDoesNotStartAPrimaryUnderAnother() {
        Agent.Plan plan = waitUntilTheAbortIsDecided();

        dcs.revokeFromOutside(agent.lease().term().id());
        harness.clock.advanceMillis(1000);
        agent.lease().step(harness.clock.nanoTime());
        int before = fake.actions().size();
        agent.carryOut(plan);

        assertThat(fake.actions().subList(before, fake.actions().size())).doesNotContain("start primary");
    }
}
