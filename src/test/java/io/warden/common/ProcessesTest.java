package io.warden.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ProcessesTest {
    private Process process;

    @AfterEach
    void killLeftovers() {
        Thread.interrupted();
        if (process != null) {
            process.destroyForcibly();
        }
    }

    @Test
    void stopEndsAProcessThatHonoursSigtermWithoutWaitingOutTheGrace() throws IOException {
        process = new ProcessBuilder("sleep", "30").start();
        long started = System.nanoTime();

        Processes.stop(process.pid(), Duration.ofSeconds(20));

        assertThat(Processes.alive(process.pid())).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(5));
        assertThat(Thread.currentThread().isInterrupted()).isFalse();
    }

    @Test
    void stopReturnsOnceTheProcessHasExitedThoughItsParentHasNotReapedItYet() throws IOException {
        // sh starts a sleep in the background, then becomes a sleep that never waits for it: once stopped, the first
        // sleep stays a zombie, as a service started by an earlier `up` does until PID 1 reaps it.
        process = new ProcessBuilder("sh", "-c", "sleep 30 & echo $!; exec sleep 60").start();
        long orphan;
        try (var out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            orphan = Long.parseLong(out.readLine().strip());
        }
        long started = System.nanoTime();

        Processes.stop(orphan, Duration.ofSeconds(20));

        assertThat(Processes.alive(orphan)).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - started))
                .as("not the whole grace")
                .isLessThan(Duration.ofSeconds(5));
    }

    @Test
    void anInterruptedStopKillsAtOnceAndKeepsTheInterrupt() throws IOException {
        // SIGTERM stays ignored across exec, so only SIGKILL ends this sleep.
        process = new ProcessBuilder(List.of("sh", "-c", "trap '' TERM; exec sleep 30")).start();
        await().atMost(Duration.ofSeconds(5))
                .until(() ->
                        process.info().command().map(c -> c.endsWith("/sleep")).orElse(false));
        long started = System.nanoTime();

        Thread.currentThread().interrupt();
        Processes.stop(process.pid(), Duration.ofSeconds(20));

        assertThat(Thread.interrupted())
                .as("the interrupt is kept for the caller")
                .isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - started))
                .as("killed, not waited out")
                .isLessThan(Duration.ofSeconds(5));
        await().atMost(Duration.ofSeconds(5)).until(() -> !process.isAlive());
    }
}
