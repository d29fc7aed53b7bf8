package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.postgres.FakePostgres;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A leader whose lease etcd revoked loses its member record with it; its postgres may still run. The replicas ask the
 * agents of the members they last saw, not only those still published, so the one still running as primary stops
 * the race until it has fenced itself.
 */
class RevokedLeaderTest {
    @TempDir
    Path dir;

    @Test
    void aLeaderWhoseRecordVanishedWithItsLeaseButStillRunsAsPrimaryStopsTheRace() {
        AgentHarness harness = new AgentHarness(dir);
        long lease = harness.otherLeader("node-2", "0/3000000");
        Member stillPrimary = AgentHarness.member("node-2", Role.PRIMARY, MemberState.RUNNING, "0/3000000", 5602);
        // node-2's agent still answers that its postgres runs as primary.
        Peers peers = new FakePeers(m -> m.name().equals("node-2") ? Optional.of(stillPrimary) : Optional.empty());
        FakePostgres postgres = AgentHarness.replicaOfNode2();
        Agent agent = harness.agent("node-1", postgres, peers);
        agent.cycle();

        // etcd revokes node-2's lease (a stuck old etcd leader, #15247): its key and its record are gone at once.
        harness.dcs.revokeFromOutside(lease);
        agent.cycle();

        assertThat(agent.view().decision().action()).isEqualTo(Action.WAIT);
        assertThat(agent.view().decision().reason()).contains("node-2").contains("primary");
        assertThat(harness.dcs.read().leader()).isEmpty();
    }
}
