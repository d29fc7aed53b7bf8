package io.warden.runtime.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.runtime.DeploymentState;
import io.warden.runtime.DeploymentState.Intent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What one caller of the local runtime hands over to the next: a create cut short by its process's death is undone by
 * the next caller (the half-made node's parts go, the intent is cleared, its name stays used); and a controller whose
 * epoch a later one fenced acts no more. Process isolation, so no root is needed.
 */
class LocalRuntimeHandOverTest {
    @TempDir
    Path dir;

    private LocalRuntime runtime() {
        return new LocalRuntime(dir, null, null, Map::of, Clock.systemUTC());
    }

    private static long deadPid() throws Exception {
        Process done = new ProcessBuilder("true").start();
        done.waitFor();
        return done.pid();
    }

    private void withIntent(long pid) throws Exception {
        new DeploymentState("main", 6000, "process", 0, List.of(), List.of(), List.of(), null, 0, "")
                .withLastNode(5)
                .withIntent(new Intent("i-1", "create-node", "node-5", "local", "2026-12-04T00:00:00Z", pid))
                .write(dir);
        Files.createDirectories(dir.resolve("nodes/node-5"));
        Files.writeString(dir.resolve("nodes/node-5/config.yml"), "name: node-5\n");
    }

    @Test
    void aCreateWhoseProcessDiedIsUndoneAndItsNameStaysUsed() throws Exception {
        withIntent(deadPid());

        List<String> resolved = runtime().resolveIntents();

        assertThat(resolved).singleElement().asString().contains("undid the create-node of node-5");
        DeploymentState after = DeploymentState.read(dir);
        assertThat(after.intents()).isEmpty();
        assertThat(after.lastNode()).as("node-5 is never given out again").isEqualTo(5);
        assertThat(dir.resolve("nodes/node-5")).doesNotExist();
    }

    @Test
    void aCreateWhoseProcessStillRunsIsLeftToIt() throws Exception {
        withIntent(ProcessHandle.current().parent().orElseThrow().pid());

        assertThat(runtime().resolveIntents()).isEmpty();
        assertThat(DeploymentState.read(dir).intents()).hasSize(1);
        assertThat(dir.resolve("nodes/node-5/config.yml")).exists();
    }

    @Test
    void aRuntimeFencedByALaterControllerRefusesTheEarlierOnesActionsAndAnEarlierFence() throws Exception {
        new DeploymentState("main", 6000, "process", 0, List.of(), List.of(), List.of(), null, 0, "").write(dir);
        LocalRuntime stalled = runtime();
        LocalRuntime successor = runtime();
        stalled.fence(5);
        successor.fence(6);

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> stalled.remove("node-1"))
                .hasMessageContaining("epoch 5 is over")
                .hasMessageContaining("epoch 6");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> stalled.fence(5))
                .hasMessageContaining("epoch 5 is over");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> successor.remove("node-1"))
                .as("the successor is not fenced out; it is told the node is not there")
                .hasMessageContaining("no node 'node-1'");
    }
}
