package io.warden.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.runtime.DeploymentState.HostRecord;
import io.warden.runtime.DeploymentState.Intent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The inventory is shared by up, the CLI and a controller: changes made at once are all kept, and old files read. */
class DeploymentStateUpdateTest {
    @TempDir
    Path dir;

    private static DeploymentState empty() {
        return new DeploymentState("main", 6000, "netns", 230, List.of(), List.of(), List.of(), null, 0, "wd230");
    }

    @Test
    void updatesMadeAtOnceEachTakeANewNumberAndNoneIsLost() throws Exception {
        empty().write(dir);
        int threads = 4;
        int each = 25;
        CountDownLatch go = new CountDownLatch(1);
        List<Future<List<Integer>>> taken = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int t = 0; t < threads; t++) {
                taken.add(pool.submit(() -> {
                    go.await();
                    List<Integer> mine = new ArrayList<>();
                    for (int i = 0; i < each; i++) {
                        int[] number = new int[1];
                        DeploymentState.update(dir, s -> {
                            number[0] = s.lastNode() + 1;
                            return s.withLastNode(number[0]);
                        });
                        mine.add(number[0]);
                    }
                    return mine;
                }));
            }
            go.countDown();
        }
        List<Integer> all = new ArrayList<>();
        for (Future<List<Integer>> f : taken) {
            all.addAll(f.get());
        }

        assertThat(all).doesNotHaveDuplicates().hasSize(threads * each);
        assertThat(DeploymentState.read(dir).lastNode()).isEqualTo(threads * each);
    }

    @Test
    void anIntentIsKeptUntilClearedAndAHostChangesInPlace() {
        empty().write(dir);
        Intent intent = new Intent("i-1", "create-node", "node-4", "host-4", "2026-12-02T00:00:00Z", 42);
        DeploymentState.update(
                dir,
                s -> s.withHost(new HostRecord("host-2", 2, "10.230.2.2", "wd230n2", ""))
                        .withHost(new HostRecord("host-1", 1, "10.230.1.2", "wd230n1", "node-1"))
                        .withIntent(intent));

        DeploymentState recorded = DeploymentState.read(dir);
        assertThat(recorded.intents()).containsExactly(intent);
        assertThat(recorded.hosts()).extracting(HostRecord::id).containsExactly("host-1", "host-2");
        assertThat(recorded.hostOf("node-1")).map(HostRecord::id).contains("host-1");

        DeploymentState done = DeploymentState.update(
                dir, s -> s.withHost(s.hosts().get(1).holding("node-4")).withoutIntent("i-1"));

        assertThat(done.intents()).isEmpty();
        assertThat(done.hosts()).extracting(HostRecord::holds).containsExactly("node-1", "node-4");
        assertThat(DeploymentState.read(dir)).isEqualTo(done);
    }

    @Test
    void aFileWrittenBeforeHostsWereRecordedNumbersNewNodesAfterItsOwn() throws Exception {
        Files.writeString(DeploymentState.file(dir), """
                {"cluster":"main","base_port":6000,"isolation":"process","net_id":230,"etcd":[],
                 "nodes":[{"name":"node-1","host":"127.0.0.1","port":6101,"api_port":6201,"config_file":"/x/c.yml",
                           "netns":"","agent_pid":0,"watchdog_pid":0},
                          {"name":"node-2","host":"127.0.0.1","port":6102,"api_port":6202,"config_file":"/y/c.yml",
                           "netns":"","agent_pid":0,"watchdog_pid":0}],
                 "routers":[],"controller_pid":0}
                """);

        DeploymentState old = DeploymentState.read(dir);

        assertThat(old.lastNode()).isEqualTo(2);
        assertThat(old.hosts()).isEmpty();
        assertThat(old.intents()).isEmpty();
        assertThat(old.encryption()).as("process isolation had no volumes").isEqualTo("off");
    }

    @Test
    void theConfigLinesThatCarryASecretNeverReachTheInventory() throws Exception {
        new DeploymentState(
                        "main",
                        6000,
                        "netns",
                        230,
                        List.of(),
                        List.of(),
                        List.of(),
                        null,
                        0,
                        "wd230",
                        List.of(),
                        0,
                        List.of(),
                        java.util.Map.of(
                                "superuser_password", "s3cret-su",
                                "replication_password", "s3cret-repl",
                                "admin_password_verifier", "SCRAM-SHA-256$4096:x",
                                "loop_wait", "1s"),
                        "required")
                .write(dir);

        String written = Files.readString(DeploymentState.file(dir));

        assertThat(written).doesNotContain("s3cret").doesNotContain("SCRAM").contains("loop_wait");
        assertThat(DeploymentState.read(dir).nodeConfig()).containsOnlyKeys("loop_wait");
    }
}
