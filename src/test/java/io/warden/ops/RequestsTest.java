package io.warden.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.LeaderKey;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.NodeTags;
import io.warden.cluster.Optime;
import io.warden.cluster.Role;
import io.warden.cluster.Switchover;
import io.warden.cluster.SyncMode;
import io.warden.cluster.SyncState;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which switchover and failover requests are refused, and with which status. */
class RequestsTest {
    private static final Instant NOW = Instant.parse("2026-11-22T12:00:00Z");

    private final Map<String, Member> members = new HashMap<>();
    private DynamicConfig config = DynamicConfig.DEFAULTS;
    private Optional<Switchover> pending = Optional.empty();
    private Optional<SyncState> sync = Optional.empty();
    private String leader = "n1";

    RequestsTest() {
        members.put("n1", member("n1", Role.PRIMARY, 100, NodeTags.NONE));
        members.put("n2", member("n2", Role.REPLICA, 200, NodeTags.NONE));
        members.put("n3", member("n3", Role.REPLICA, 300, new NodeTags(true, false, false)));
    }

    private static Member member(String name, Role role, long postgresPid, NodeTags tags) {
        return new Member(
                name,
                role,
                role == Role.PRIMARY ? MemberState.RUNNING : MemberState.STREAMING,
                "10.0.0.1",
                5432,
                "http://10.0.0.1:8008",
                1,
                "0/3000000",
                0,
                tags,
                1,
                postgresPid,
                "id-" + name,
                "/data/" + name,
                false);
    }

    private ClusterSnapshot cluster() {
        ClusterSnapshot.Builder cluster = ClusterSnapshot.builder(1)
                .initialize("42")
                .optime(new Optime("0/3000000", 1))
                .config(config, 5);
        if (leader != null) {
            cluster.leader(new LeaderKey(leader, 7, 1));
        }
        members.values().forEach(cluster::member);
        pending.ifPresent(request -> cluster.switchover(request, 0));
        sync.ifPresent(cluster::sync);
        return cluster.build();
    }

    @Test
    void aSwitchoverWithoutCandidatePicksAPromotableReplica() {
        Requests.Verdict v = Requests.switchover(cluster(), null, null, null, NOW);

        assertThat(v.status()).isEqualTo(200);
        assertThat(v.accepted()).map(Switchover::candidate).contains("n2");
    }

    @Test
    void refusals() {
        assertThat(Requests.switchover(cluster(), null, "n9", null, NOW).status())
                .isEqualTo(412);
        assertThat(Requests.switchover(cluster(), null, "n9", null, NOW).message())
                .contains("unknown candidate 'n9'");
        assertThat(Requests.switchover(cluster(), null, "n1", null, NOW).message())
                .contains("already the primary");
        assertThat(Requests.switchover(cluster(), null, "n3", null, NOW).message())
                .contains("nofailover");
        assertThat(Requests.switchover(cluster(), "n2", "n3", null, NOW).message())
                .contains("'n2' is not the leader");
        assertThat(Requests.switchover(cluster(), null, null, "tomorrow", NOW).status())
                .isEqualTo(400);
        assertThat(Requests.switchover(cluster(), null, null, "2026-11-22T11:00:00Z", NOW)
                        .message())
                .contains("in the past");
        assertThat(Requests.failover(cluster(), "n3", NOW).status()).isEqualTo(412);
        assertThat(Requests.failover(cluster(), "", NOW).status()).isEqualTo(400);
    }

    @Test
    void aOneNodeClusterHasNobodyToSwitchOverTo() {
        members.remove("n2");
        members.remove("n3");

        Requests.Verdict v = Requests.switchover(cluster(), null, null, null, NOW);

        assertThat(v.status()).isEqualTo(412);
        assertThat(v.message()).contains("no replica can take over");
    }

    @Test
    void aSecondRequestConflicts() {
        pending = Optional.of(new Switchover("n1", "n2", "x"));

        assertThat(Requests.switchover(cluster(), null, "n2", null, NOW).status())
                .isEqualTo(409);
        assertThat(Requests.failover(cluster(), "n2", NOW).status()).isEqualTo(409);
    }

    @Test
    void pausedNeedsANamedCandidate() {
        config = config.withPause(true);

        assertThat(Requests.switchover(cluster(), null, null, null, NOW).status())
                .isEqualTo(412);
        assertThat(Requests.switchover(cluster(), null, "n2", null, NOW).status())
                .isEqualTo(200);
    }

    @Test
    void aScheduledSwitchoverIsAccepted() {
        Requests.Verdict v = Requests.switchover(cluster(), "n1", "n2", "2026-11-22T20:00:00+01:00", NOW);

        assertThat(v.status()).isEqualTo(202);
        assertThat(v.accepted()).map(Switchover::scheduledAt).contains("2026-11-22T19:00:00Z");
    }

    @Test
    void synchronousModeAllowsOnlyTheSynchronousStandby() {
        config = new DynamicConfig(1 << 20, SyncMode.ON, 1, false, Map.of());
        sync = Optional.of(new SyncState("n1", List.of()));

        assertThat(Requests.failover(cluster(), "n2", NOW).status()).isEqualTo(412);
        assertThat(Requests.switchover(cluster(), null, "n2", null, NOW).message())
                .contains("not a synchronous standby");

        sync = Optional.of(new SyncState("n1", List.of("n2")));
        assertThat(Requests.failover(cluster(), "n2", NOW).status()).isEqualTo(200);
    }

    @Test
    void aFailoverNeedsNoLeader() {
        leader = null;

        Requests.Verdict v = Requests.failover(cluster(), "n2", NOW);

        assertThat(v.status()).isEqualTo(200);
        assertThat(v.accepted()).map(Switchover::failover).contains(true);
    }

    @Test
    void aFailoverToANodeOnAnOlderTimelineNeedsTheOperatorToAcceptTheLoss() {
        members.put(
                "n1",
                new Member(
                        "n1",
                        Role.PRIMARY,
                        MemberState.RUNNING,
                        "10.0.0.1",
                        5432,
                        "http://10.0.0.1:8008",
                        2,
                        "0/3000000",
                        0,
                        NodeTags.NONE,
                        1,
                        100,
                        "id-n1",
                        "/data/n1",
                        false));

        Requests.Verdict refused = Requests.failover(cluster(), "n2", false, NOW);
        Requests.Verdict accepted = Requests.failover(cluster(), "n2", true, NOW);

        assertThat(refused.status()).isEqualTo(412);
        assertThat(refused.message()).contains("timeline 1").contains("--accept-data-loss");
        assertThat(accepted.status()).isEqualTo(200);
        assertThat(accepted.accepted()).hasValueSatisfying(s -> {
            assertThat(s.failover()).isTrue();
            assertThat(s.acceptDataLoss()).isTrue();
        });
    }
}
