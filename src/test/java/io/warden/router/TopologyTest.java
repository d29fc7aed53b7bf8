package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.LeaderKey;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.NodeTags;
import io.warden.cluster.Role;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The routing choice as a pure function of a snapshot and the session counts. */
class TopologyTest {
    private static Member member(String name, Role role, MemberState state, long lag, boolean noloadbalance) {
        return new Member(
                name,
                role,
                state,
                "10.0.0." + name.charAt(name.length() - 1),
                5432,
                "http://x",
                1,
                "0/1000",
                lag,
                new NodeTags(false, noloadbalance, false),
                1,
                1,
                "id-" + name,
                "/data",
                false);
    }

    private static ClusterSnapshot cluster(String leader, Member... members) {
        ClusterSnapshot.Builder cluster = ClusterSnapshot.builder(1).initialize("42");
        if (leader != null) {
            cluster.leader(new LeaderKey(leader, 7, 1));
        }
        for (Member m : members) {
            cluster.member(m);
        }
        return cluster.build();
    }

    private static final Member PRIMARY = member("n1", Role.PRIMARY, MemberState.RUNNING, 0, false);
    private static final Member R2 = member("n2", Role.REPLICA, MemberState.STREAMING, 0, false);
    private static final Member R3 = member("n3", Role.REPLICA, MemberState.STREAMING, 0, false);

    @Test
    void writesGoOnlyToARunningPrimaryThatHoldsTheLeaderKey() {
        assertThat(Topology.from(cluster("n1", PRIMARY, R2), Map.of()).primary())
                .map(RouteTarget::name)
                .contains("n1");
        assertThat(Topology.from(cluster(null, PRIMARY, R2), Map.of()).primary())
                .isEmpty();
        assertThat(Topology.from(cluster("n2", PRIMARY, R2), Map.of()).primary())
                .as("key holder is not primary yet")
                .isEmpty();
    }

    @Test
    void aPrimaryHandingOverKeepsItsSessionsButGetsNoNewOnes() {
        Member leaving = member("n1", Role.PRIMARY, MemberState.HANDING_OVER, 0, false);
        Topology t = Topology.from(cluster("n1", leaving, R2), Map.of());
        assertThat(t.primary())
                .as("its open sessions are not fenced")
                .map(RouteTarget::name)
                .contains("n1");
        assertThat(t.writeTarget()).as("new sessions wait for the candidate").isEmpty();
        assertThat(t.readTarget(Map.of(), 1 << 20, true, Set.of()))
                .map(RouteTarget::name)
                .contains("n2");
        Topology noReplica = Topology.from(cluster("n1", leaving), Map.of());
        assertThat(noReplica.readTarget(Map.of(), 1 << 20, true, Set.of()))
                .as("no fallback to it either")
                .isEmpty();
        assertThat(Topology.from(cluster("n1", PRIMARY, R2), Map.of()).writeTarget())
                .map(RouteTarget::name)
                .contains("n1");
    }

    @Test
    void readsGoToTheReplicaWithTheFewestSessionsAcrossRouters() {
        Topology t = Topology.from(cluster("n1", PRIMARY, R2, R3), Map.of("n2", 3L));
        assertThat(t.readTarget(Map.of(), 1 << 20, true, Set.of()))
                .map(RouteTarget::name)
                .contains("n3");
        assertThat(t.readTarget(Map.of("n3", 4L), 1 << 20, true, Set.of()))
                .map(RouteTarget::name)
                .contains("n2");
    }

    @Test
    void replicasOverTheLagCeilingTaggedNoloadbalanceOrUnreachableGetNoReads() {
        Member lagging = member("n2", Role.REPLICA, MemberState.STREAMING, 100 << 20, false);
        Member tagged = member("n3", Role.REPLICA, MemberState.STREAMING, 0, true);
        Member down = member("n4", Role.REPLICA, MemberState.STREAMING, 0, false);
        Topology t = Topology.from(cluster("n1", PRIMARY, lagging, tagged, down), Map.of());
        assertThat(t.readTarget(Map.of(), 16 << 20, true, Set.of("n4")))
                .map(RouteTarget::name)
                .contains("n1");
        assertThat(t.readTarget(Map.of(), 16 << 20, false, Set.of("n4"))).isEmpty();
        assertThat(t.readTarget(Map.of(), 16 << 20, true, Set.of()))
                .map(RouteTarget::name)
                .contains("n4");
    }

    @Test
    void aReplicaThatDoesNotStreamGetsNoReads() {
        Member recovering = member("n2", Role.REPLICA, MemberState.IN_ARCHIVE_RECOVERY, 0, false);
        Topology t = Topology.from(cluster("n1", PRIMARY, recovering), Map.of());
        assertThat(t.replicas()).isEmpty();
        assertThat(t.readTarget(Map.of(), 1 << 20, true, Set.of()))
                .map(RouteTarget::name)
                .contains("n1");
    }

    @Test
    void cancelsCanReachEveryNode() {
        Topology t = Topology.from(cluster("n1", PRIMARY, R2, R3), Map.of());
        assertThat(t.all()).extracting(RouteTarget::name).containsExactly("n1", "n2", "n3");
    }
}
