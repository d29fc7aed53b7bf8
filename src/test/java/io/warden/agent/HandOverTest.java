package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.Lsn;
import io.warden.cluster.MemberState;
import io.warden.dcs.FakeDcs;
import io.warden.postgres.FakePostgres;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The switchover hand-over as a state across cycles: the cycle that stops postgres ends there, and each later cycle
 * asks the candidate once and decides (wait, release the key, or abort), so no cycle blocks for the candidate.
 */
class HandOverTest {
    @TempDir
    Path dir;

    private AgentHarness harness;
    private FakeDcs dcs;
    private FakePostgres primary;
    /** What the candidate node-2 reports as its received position; null while it does not answer. */
    private final AtomicReference<Lsn> candidateAt = new AtomicReference<>();

    private Agent agent;

    /** node-1 bootstrapped and leads; node-2 streams from it; a switchover to node-2 is due. */
    @BeforeEach
    void switchoverDue() {
        harness = new AgentHarness(dir);
        dcs = harness.dcs;
        primary = new FakePostgres();
        agent = harness.switchoverDue(primary, FakePeers.onlyAnsweringAt("node-2", candidateAt::get));
    }

    @Test
    void theKeyIsReleasedInTheFirstCycleAfterTheCandidateHasReceivedTheShutdownCheckpoint() {
        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.HAND_OVER);
        Lsn checkpoint = primary.latestCheckpoint().location();

        // Behind the checkpoint (it has not received it yet): the key stays, postgres stays down.
        candidateAt.set(Lsn.ZERO);
        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.WAIT);
        assertThat(agent.view().decision().reason()).contains("waiting for switchover candidate node-2 (at 0/0)");
        assertThat(dcs.read().leader())
                .hasValueSatisfying(l -> assertThat(l.name()).isEqualTo("node-1"));
        assertThat(agent.view().self().state()).as("published to the routers").isEqualTo(MemberState.HANDING_OVER);

        candidateAt.set(new Lsn(checkpoint.value() + 1));
        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.FINISH_HAND_OVER);
        assertThat(dcs.read().leader()).isEmpty();
        assertThat(primary.actions()).as("postgres stays down").endsWith("stop fast");
    }

    @Test
    void aCandidateThatNeverAnswersIsWaitedForThirtySecondsAcrossCyclesThenThePrimaryStartsAgain() {
        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.HAND_OVER);

        harness.secondsPass(agent, 30);
        agent.cycle();
        assertThat(agent.view().decision().action()).isEqualTo(Action.WAIT);
        assertThat(agent.view().decision().reason()).contains("node-2 (not answering)");

        harness.secondsPass(agent, 1);
        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.ABORT_HAND_OVER);
        assertThat(agent.view().decision().reason()).contains("has not received the shutdown checkpoint");
        assertThat(primary.actions()).endsWith("stop fast", "start primary");
        assertThat(dcs.read().leader())
                .hasValueSatisfying(l -> assertThat(l.name()).isEqualTo("node-1"));
        assertThat(dcs.read().switchover()).as("the aborted request is deleted").isEmpty();
    }
}
