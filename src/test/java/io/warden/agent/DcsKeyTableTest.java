package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.Member;
import io.warden.cluster.RouterStatus;
import io.warden.cluster.SyncMode;
import io.warden.common.Json;
import io.warden.postgres.DataState;
import io.warden.postgres.FakePostgres;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One test per row of the table in docs/dcs.md "Values that cannot be read": for each key, what an agent does with
 * garbage in it, with a value that has fields of a newer version, and with the key deleted by hand.
 */
class DcsKeyTableTest {
    private static final String GARBAGE = "{\"not\": json";

    private final AgentHarness harness;

    DcsKeyTableTest(@TempDir Path dir) {
        harness = new AgentHarness(dir);
    }

    /** {@code json} (an object) with one more field, as a newer version would write it. */
    private static String withField(String json, String field) {
        return json.substring(0, json.lastIndexOf('}')) + "," + field + "}";
    }

    /** A person writes {@code value} into {@code key} by hand (as with etcdctl); the agent runs one cycle. */
    private void writtenByHand(Agent agent, String key, String value) {
        harness.dcs.putRaw(key, value);
        agent.cycle();
    }

    /** A person deletes {@code key} by hand; the agent runs one cycle. */
    private void deletedByHand(Agent agent, String key) {
        harness.dcs.deleteRaw(key);
        agent.cycle();
    }

    private void cyclesFor(Agent agent, int seconds) {
        for (int second = 0; second < seconds; second++) {
            harness.secondsPass(agent, 1);
            agent.cycle();
        }
    }

    @Test
    void initialize() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = harness.leadingPrimary(postgres);

        writtenByHand(agent, "initialize", GARBAGE);
        assertThat(agent.view().decision().action()).as("garbage").isEqualTo(Action.LEAD);

        deletedByHand(agent, "initialize");
        assertThat(agent.view().decision().action()).as("deleted").isEqualTo(Action.LEAD);
        assertThat(postgres.actions()).as("deleted").containsOnlyOnce("initdb");
    }

    @Test
    void leader() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = harness.leadingPrimary(postgres);

        writtenByHand(agent, "leader", "nobody-by-that-name");
        assertThat(harness.dcs.read().leader())
                .as("garbage: removed, then taken back")
                .hasValueSatisfying(l -> {
                    assertThat(l.name()).isEqualTo("node-1");
                    assertThat(l.leaseId()).isEqualTo(agent.lease().term().id());
                });
        assertThat(postgres.data()).isEqualTo(DataState.RUNNING_PRIMARY);

        deletedByHand(agent, "leader");
        assertThat(harness.dcs.read().leader())
                .as("deleted: taken back")
                .hasValueSatisfying(l -> assertThat(l.name()).isEqualTo("node-1"));
        assertThat(postgres.actions()).doesNotContain("kill");
    }

    @Test
    void members() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = harness.leadingPrimary(postgres);

        writtenByHand(agent, "members/node-1", GARBAGE);
        assertThat(agent.view().cluster().unreadable())
                .as("garbage is reported")
                .containsKey("members/node-1");
        cyclesFor(agent, 11);
        assertThat(harness.dcs.read().members())
                .as("garbage: rewritten by its member")
                .containsKey("node-1");

        Member other = AgentHarness.member(
                "node-3", io.warden.cluster.Role.REPLICA, io.warden.cluster.MemberState.STREAMING, "0/3000000", 5603);
        writtenByHand(agent, "members/node-3", withField(Json.write(other), "\"zone\":\"b\""));
        assertThat(agent.view().cluster().members()).as("unknown fields").containsKey("node-3");

        harness.dcs.deleteRaw("members/node-1");
        cyclesFor(agent, 11);
        assertThat(harness.dcs.read().members()).as("deleted: rewritten").containsKey("node-1");
    }

    @Test
    void optime() {
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        Agent agent = harness.replicaOfALostLeader(postgres);
        writtenByHand(agent, "optime", "{\"lsn\":\"not-an-lsn\",\"timeline\":1}");
        assertThat(agent.view().decision().action()).as("garbage").isEqualTo(Action.WAIT);
        assertThat(agent.view().decision().reason()).contains("optime");

        writtenByHand(agent, "optime", "{\"lsn\":\"0/3000000\",\"timeline\":1,\"checksum\":\"abc\"}");
        assertThat(agent.view().decision().action())
                .as("unknown fields: read, the race runs")
                .isEqualTo(Action.TAKE_LEADERSHIP);
        agent.cycle();
        assertThat(postgres.actions()).contains("promote");
    }

    @Test
    void config() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = harness.leadingPrimary(postgres);

        writtenByHand(agent, "config", AgentHarness.config("on", ",\"quorum\":2"));
        assertThat(agent.view().cluster().config().synchronousMode())
                .as("unknown fields")
                .isEqualTo(SyncMode.ON);

        writtenByHand(agent, "config", GARBAGE);
        assertThat(agent.view().cluster().config().synchronousMode())
                .as("garbage: the last one read")
                .isEqualTo(SyncMode.ON);
        assertThat(agent.view().decision().action()).as("garbage").isEqualTo(Action.LEAD);

        deletedByHand(agent, "config");
        assertThat(agent.view().cluster().config().synchronousMode())
                .as("deleted: the last one read")
                .isEqualTo(SyncMode.ON);
        assertThat(postgres.data()).isEqualTo(DataState.RUNNING_PRIMARY);
    }

    @Test
    void sync() {
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        harness.dcs.putRaw("config", AgentHarness.config("on", ""));
        Agent agent = harness.replicaOfALostLeader(postgres);
        writtenByHand(agent, "sync", GARBAGE);
        assertThat(agent.view().decision().action())
                .as("garbage: not a synchronous standby")
                .isEqualTo(Action.WAIT);

        deletedByHand(agent, "sync");
        assertThat(agent.view().decision().action())
                .as("deleted: not a synchronous standby")
                .isEqualTo(Action.WAIT);

        writtenByHand(agent, "sync", "{\"leader\":\"node-2\",\"standbys\":[\"node-1\"],\"quorum\":1}");
        assertThat(agent.view().decision().action())
                .as("unknown fields: a synchronous standby races")
                .isEqualTo(Action.TAKE_LEADERSHIP);
    }

    @Test
    void switchover() {
        FakePostgres postgres = new FakePostgres();
        Agent agent = harness.leadingPrimary(postgres);

        writtenByHand(
                agent, "switchover", "{\"leader\":\"node-1\",\"candidate\":\"node-2\",\"scheduled_at\":\"soon\"}");
        assertThat(agent.view().cluster().switchover()).as("garbage: ignored").isEmpty();

        writtenByHand(
                agent,
                "switchover",
                "{\"leader\":\"node-1\",\"candidate\":\"node-2\",\"requested_at\":\"2026-12-01T12:00:00Z\",\"scheduled_at\":\"2030-01-01T00:00:00Z\",\"failover\":false,\"reason\":\"kernel update\"}");
        assertThat(agent.view().cluster().switchover())
                .as("unknown fields")
                .hasValueSatisfying(s -> assertThat(s.candidate()).isEqualTo("node-2"));

        deletedByHand(agent, "switchover");
        assertThat(agent.view().cluster().switchover()).as("deleted").isEmpty();
        assertThat(agent.view().decision().action()).isEqualTo(Action.LEAD);
    }

    @Test
    void history() {
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        Agent agent = harness.replicaOfALostLeader(postgres);
        writtenByHand(
                agent,
                "history",
                "[{\"timeline\":1,\"lsn\":\"0/0\",\"member\":\"node-2\",\"at\":\"2026-12-01T11:00:00Z\",\"reason\":\"bootstrap\",\"by\":\"v2\"}]");
        agent.cycle();

        assertThat(postgres.actions()).contains("promote");
        assertThat(harness.dcs.read().history())
                .as("unknown fields: read and appended to")
                .hasSize(2);

        harness.dcs.deleteRaw("history");
        // Deleted: the next timeline starts a new history (checked at the store level: one promotion per test).
        harness.dcs.appendHistory(
                new io.warden.cluster.HistoryEntry(3, "0/4000000", "node-1", "2026-12-01T12:00:00Z", "promoted"));
        assertThat(harness.dcs.read().history()).hasSize(1);
    }

    @Test
    void routers() {
        harness.dcs.putRaw("routers/router-9", GARBAGE, harness.dcs.grantLease(AgentHarness.TTL));
        RouterStatus other = new RouterStatus(
                "router-8", "127.0.0.2", 5432, 5433, "http://127.0.0.2:6052", 1, java.util.Map.of(), "", 0);
        harness.dcs.putRaw(
                "routers/router-8",
                withField(Json.write(other), "\"version\":\"2\""),
                harness.dcs.grantLease(AgentHarness.TTL));

        assertThat(harness.dcs.readRouters())
                .as("garbage: may still route anywhere; unknown fields: read")
                .containsExactlyInAnyOrder(RouterStatus.unreadable("router-9"), other);
        assertThat(harness.dcs.read().routers()).contains(RouterStatus.unreadable("router-9"));

        harness.dcs.deleteRaw("routers/router-9");
        assertThat(harness.dcs.readRouters()).as("deleted").containsExactly(other);
    }
}
