package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.warden.postgres.DataState;
import io.warden.postgres.FakePostgres;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM is a command the HA loop runs last: only the loop starts or stops postgres, so a shutdown can never race a
 * cycle that is starting it. These tests run the agent's real loop and lease keeper threads, on a clock that stands
 * still (so only the loop's own waits pass).
 */
class AgentShutdownTest {
    @TempDir
    Path dir;

    private AgentHarness harness;
    private Thread loop;
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void harness() {
        harness = new AgentHarness(dir);
        harness.clock.standingStill();
    }

    @AfterEach
    void stopLoop() throws InterruptedException {
        release.countDown();
        if (loop != null) {
            loop.interrupt();
            loop.join(10_000);
        }
    }

    private Agent runningPrimary(FakePostgres postgres) {
        Agent agent = harness.agent("node-1", postgres);
        loop = Thread.ofPlatform().name("ha-loop").start(agent::run);
        await().atMost(Duration.ofSeconds(20))
                .until(() -> agent.view() != null && agent.view().decision().action() == Action.LEAD);
        return agent;
    }

    @Test
    void theHaLoopStopsPostgresAndReleasesTheKeyNotTheShutdownHooksThread() throws InterruptedException {
        FakePostgres postgres = new FakePostgres();
        Agent agent = runningPrimary(postgres);

        agent.shutdown(Duration.ofSeconds(20));

        assertThat(postgres.data()).isEqualTo(DataState.STOPPED_PRIMARY);
        assertThat(postgres.actions()).last().isEqualTo("stop fast");
        assertThat(postgres.actionThreads()).last().isEqualTo("ha-loop");
        // The agent closed its DCS client as it stopped: look at the store itself.
        assertThat(harness.dcs.rawValue("leader")).isEmpty();
        loop.join(10_000);
        assertThat(loop.isAlive()).isFalse();
    }

    @Test
    void aShutdownThatTheLoopDoesNotReachInTimeLeavesPostgresAlone() throws InterruptedException {
        FakePostgres postgres = new FakePostgres();
        Agent agent = runningPrimary(postgres);
        // The loop is stuck in a cycle (a long action) from its next observation on.
        CountDownLatch stuck = postgres.blockNextObserve(release);
        assertThat(stuck.await(20, TimeUnit.SECONDS)).isTrue();
        int before = postgres.actions().size();

        agent.shutdown(Duration.ofMillis(1500));

        assertThat(postgres.actions()).hasSize(before);
        assertThat(postgres.data()).isEqualTo(DataState.RUNNING_PRIMARY);
    }
}
