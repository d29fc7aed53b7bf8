package io.warden.cli;

import io.warden.common.WardenException;
import io.warden.dcs.ClusterSnapshot;
import io.warden.dcs.EtcdDcs;
import io.warden.dcs.Member;
import io.warden.dcs.MemberState;
import io.warden.dcs.Role;
import io.warden.dcs.Switchover;
import io.warden.runtime.DeploymentState;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "switchover", description = "Planned change of primary: the primary shuts down cleanly and hands over to a caught-up replica.")
final class SwitchoverCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Option(names = "--candidate", description = "the replica to promote (default: the most advanced healthy one)")
    String candidate;

    @Override
    public Integer call() {
        DeploymentState state = DeploymentState.read(dir.resolve());
        // A fresh JVM's first etcd request (class loading, the gRPC channel) took more than 3 s on a loaded 2-core
        // machine, and the command then failed before asking for anything (bench/switchover): allow 10 s.
        try (EtcdDcs dcs = new EtcdDcs(state.etcdClientUrls(), state.cluster(), Duration.ofSeconds(10))) {
            ClusterSnapshot cluster = dcs.read();
            String leader = cluster.leader().map(l -> l.name())
                    .orElseThrow(() -> new WardenException("the cluster has no leader right now", "wait for failover to finish, see ./warden list"));
            long healthy = cluster.members().values().stream()
                    .filter(m -> m.role() == Role.REPLICA && m.state() == MemberState.STREAMING).count();
            if (healthy == 0) {
                throw new WardenException("no streaming replica to switch over to", "./warden list shows the members' states");
            }
            if (candidate != null) {
                Member m = cluster.members().get(candidate);
                if (m == null) {
                    throw new WardenException("unknown candidate '" + candidate + "'", "members: " + cluster.members().keySet());
                }
                if (candidate.equals(leader)) {
                    throw new WardenException("'" + candidate + "' is already the primary", "name a replica");
                }
                if (m.role() != Role.REPLICA || m.state() != MemberState.STREAMING) {
                    throw new WardenException("candidate '" + candidate + "' is " + m.state().label() + ", not a streaming replica",
                            "wait until it streams, or choose another");
                }
            }
            if (candidate == null) {
                // Always name the candidate: the other replicas then wait for it instead of racing, and the old
                // primary waits for exactly that node to receive its shutdown checkpoint.
                candidate = cluster.members().values().stream()
                        .filter(m -> m.role() == Role.REPLICA && m.state() == MemberState.STREAMING && !m.tags().nofailover())
                        .max(java.util.Comparator.comparing(Member::position))
                        .map(Member::name)
                        .orElseThrow(() -> new WardenException("no streaming replica may be promoted (all are tagged nofailover)",
                                "name one with --candidate"));
            }
            long started = System.nanoTime();
            if (!dcs.requestSwitchover(new Switchover(leader, candidate, Instant.now().toString()), Duration.ofSeconds(30))) {
                throw new WardenException("a switchover is already pending", "wait for it to finish (at most 30 s)");
            }
            long deadline = started + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() < deadline) {
                ClusterSnapshot now = dcs.read();
                var primary = now.leaderMember().filter(m -> m.role() == Role.PRIMARY && m.state() == MemberState.RUNNING);
                if (primary.isPresent() && !primary.get().name().equals(leader)) {
                    System.out.printf("switched over from %s to %s in %.1f s%n", leader, primary.get().name(),
                            (System.nanoTime() - started) / 1e9);
                    return 0;
                }
                io.warden.common.Processes.sleep(Duration.ofMillis(100));
            }
            throw new WardenException("the switchover from " + leader + " did not complete within 30 s",
                    "see the agents' logs; the request expires by itself");
        }
    }
}
