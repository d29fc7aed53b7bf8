package io.warden.agent;

import io.warden.common.Lsn;
import io.warden.dcs.ClusterSnapshot;
import io.warden.dcs.LeaderKey;
import io.warden.dcs.Member;
import io.warden.postgres.LocalState;
import java.util.Map;
import java.util.Optional;

/**
 * The HA decision: a pure function of an {@link HaInput}. No I/O, no clock; everything it needs is in the input,
 * so every branch is tested without processes (HaDeciderTest).
 *
 * <p>Safety rests on two rules visible here: postgres may run as primary only while this node holds the leader
 * key under a valid lease (otherwise FENCE, before anything else), and a node takes the key only when it is
 * eligible and no eligible peer is further ahead.
 */
public final class HaDecider {
    private HaDecider() {}

    public static Decision decide(HaInput in) {
        ClusterSnapshot cluster = in.cluster();
        LocalState local = in.local();
        Optional<LeaderKey> leader = cluster.leader();
        boolean namesMe = cluster.isLeader(in.name());
        // A key naming us but bound to an older lease is a previous run's: it is not ours to act on.
        boolean holdsKey = namesMe && leader.get().leaseId() == in.leaseId();
        boolean leading = holdsKey && in.leaseValid();
        Optional<Member> leaderMember = cluster.leaderMember().filter(m -> !namesMe);

        // Fencing first: whatever else is true, a primary without a valid lease on the leader key must stop now.
        if (local.data() == io.warden.postgres.DataState.RUNNING_PRIMARY && !leading) {
            if (holdsKey) {
                return Decision.of(Action.FENCE, "fencing: my leader lease could not be renewed in time");
            }
            if (namesMe) {
                return Decision.of(Action.FENCE, "fencing: the leader key names me under an earlier lease, not my current one");
            }
            if (leader.isPresent()) {
                return Decision.of(Action.FENCE, "fencing: " + leader.get().name() + " holds the leader key, not me");
            }
            if (in.leaseValid() && in.canLead() && cluster.initialize().isPresent()) {
                return Decision.of(
                        Action.TAKE_LEADERSHIP, "leader key is gone while I run as primary: taking it back");
            }
            return Decision.of(Action.FENCE, "fencing: nobody holds the leader key and my lease is not valid");
        }

        if (namesMe && !holdsKey) {
            return Decision.of(
                    Action.WAIT, "the leader key names me from an earlier lease: waiting for it to expire");
        }
        Optional<io.warden.dcs.Switchover> switchover = cluster.switchover();
        if (leading && local.data() == io.warden.postgres.DataState.RUNNING_PRIMARY && switchover.isPresent()
                && switchover.get().leader().equals(in.name())) {
            Optional<Member> candidate = switchoverCandidate(in, switchover.get());
            return candidate.isPresent()
                    ? Decision.of(Action.HAND_OVER, candidate.get(), "switchover requested: handing over to " + candidate.get().name())
                    : Decision.of(Action.LEAD, "switchover requested but no healthy candidate: still leading");
        }
        if (leader.isEmpty() && switchover.isPresent() && !switchover.get().candidate().isEmpty()
                && !switchover.get().candidate().equals(in.name())
                && cluster.members().containsKey(switchover.get().candidate())) {
            return Decision.of(Action.WAIT, "switchover to " + switchover.get().candidate() + " in progress");
        }
        if (cluster.initialize().isEmpty() || cluster.initialize().get().equals("bootstrapping")) {
            return bootstrap(in, leader, holdsKey);
        }

        return switch (local.data()) {
            case EMPTY -> leaderMember.isPresent() && leaderMember.get().postgresPid() != 0
                    ? Decision.of(Action.CLONE, leaderMember.get(), "cloning from leader " + leaderMember.get().name())
                    : Decision.of(Action.WAIT, "data directory is empty and there is no running leader to clone from");
            case RUNNING_PRIMARY -> Decision.of(Action.LEAD, "leading with a valid lease");
            case STOPPED_PRIMARY -> stoppedPrimary(in, holdsKey, leaderMember);
            case STOPPED_REPLICA -> leaderMember.isPresent()
                    ? Decision.of(Action.START_REPLICA, leaderMember.get(), "starting as a replica of " + leaderMember.get().name())
                    : Decision.of(Action.START_REPLICA, "starting read-only: there is no leader to follow yet");
            case RUNNING_REPLICA -> runningReplica(in, holdsKey, leaderMember);
        };
    }

    private static Decision bootstrap(HaInput in, Optional<LeaderKey> leader, boolean holdsKey) {
        LocalState local = in.local();
        if (holdsKey && !in.leaseValid()) {
            return Decision.of(Action.WAIT, "I hold the bootstrap claim but my lease is not valid: not running initdb");
        }
        if (holdsKey && local.data() == io.warden.postgres.DataState.EMPTY) {
            return Decision.of(Action.BOOTSTRAP, "I won the bootstrap race: running initdb");
        }
        if (leader.isPresent() && !holdsKey) {
            return Decision.of(Action.WAIT, "waiting for " + leader.get().name() + " to bootstrap the cluster");
        }
        if (local.data() != io.warden.postgres.DataState.EMPTY) {
            return Decision.of(
                    Action.WAIT,
                    "the cluster is not initialized in the DCS but my data directory holds a cluster: refusing to"
                            + " bootstrap over it");
        }
        if (!in.canLead()) {
            return Decision.of(Action.WAIT, "the watchdog is not reachable, so I may not bootstrap");
        }
        return Decision.of(Action.BOOTSTRAP, "cluster is not initialized: racing to bootstrap it");
    }

    private static Decision stoppedPrimary(HaInput in, boolean holdsKey, Optional<Member> leaderMember) {
        if (holdsKey) {
            if (!in.leaseValid()) {
                return Decision.of(Action.WAIT, "postgres is down and my lease is not valid: not restarting as primary");
            }
            if (in.primaryDownFor().compareTo(in.primaryStartTimeout()) > 0) {
                return Decision.of(
                        Action.RELEASE_LEADERSHIP,
                        "postgres did not come back within primary_start_timeout "
                                + in.primaryStartTimeout().toSeconds() + "s: releasing the leader key");
            }
            return Decision.of(Action.RESTART_PRIMARY, "postgres is down while I hold the leader key: restarting it in place");
        }
        if (leaderMember.isPresent()) {
            // pg_rewind needs a running source; against a stopped leader it fails and the re-clone fallback
            // would then delete this node's data for nothing.
            if (leaderMember.get().postgresPid() == 0) {
                return Decision.of(Action.WAIT, "former primary: waiting for leader " + leaderMember.get().name() + " to run before rewinding");
            }
            return Decision.of(
                    Action.REWIND, leaderMember.get(), "former primary: rewinding to follow " + leaderMember.get().name());
        }
        return Decision.of(Action.START_REPLICA, "former primary with no leader: starting read-only to join the race");
    }

    private static Decision runningReplica(HaInput in, boolean holdsKey, Optional<Member> leaderMember) {
        if (holdsKey) {
            return in.leaseValid() && in.canLead()
                    ? Decision.of(Action.PROMOTE, "the leader key is mine: promoting")
                    : Decision.of(Action.WAIT, "the leader key is mine but I cannot lead safely: not promoting");
        }
        if (leaderMember.isPresent()) {
            Member leader = leaderMember.get();
            String wanted = leader.host() + ":" + leader.port();
            if (!wanted.equals(in.local().upstream())) {
                return Decision.of(Action.FOLLOW, leader, "following the new leader " + leader.name());
            }
            // Received WAL past the point where the leader's timeline forked: it can never stream; rewind it.
            if (!in.local().streaming()
                    && in.local().timeline() != 0
                    && in.local().timeline() < leader.timeline()
                    && leader.postgresPid() != 0
                    && in.notStreamingFor().compareTo(HaInput.STRANDED_REPLICA_GRACE) > 0) {
                return Decision.of(
                        Action.REWIND,
                        leader,
                        "stranded on timeline " + in.local().timeline() + " while leader " + leader.name() + " is on "
                                + leader.timeline() + ", not streaming for " + in.notStreamingFor().toSeconds() + "s: rewinding");
            }
            return Decision.of(Action.FOLLOWING, leader, in.local().streaming()
                    ? "streaming from leader " + leader.name()
                    : "following leader " + leader.name() + ", not streaming yet");
        }
        if (in.cluster().leader().isPresent()) {
            return Decision.of(Action.WAIT, "the leader " + in.cluster().leader().get().name() + " has not published itself yet");
        }
        return failoverCandidate(in);
    }

    /** The named candidate if it streams, else the most advanced streaming replica not tagged nofailover. */
    private static Optional<Member> switchoverCandidate(HaInput in, io.warden.dcs.Switchover switchover) {
        java.util.function.Predicate<Member> streaming = m -> !m.name().equals(in.name())
                && m.role() == io.warden.dcs.Role.REPLICA && m.state() == io.warden.dcs.MemberState.STREAMING;
        if (!switchover.candidate().isEmpty()) {
            return Optional.ofNullable(in.cluster().members().get(switchover.candidate())).filter(streaming);
        }
        return in.cluster().members().values().stream()
                .filter(streaming)
                .filter(m -> !m.tags().nofailover())
                .max(java.util.Comparator.comparing(Member::position));
    }

    /** No leader: race only when eligible and no eligible peer is further ahead. */
    private static Decision failoverCandidate(HaInput in) {
        if (in.tags().nofailover()) {
            return Decision.of(Action.WAIT, "no leader, but I am tagged nofailover");
        }
        if (!in.leaseValid()) {
            return Decision.of(Action.WAIT, "no leader, but my own lease is not valid");
        }
        if (!in.canLead()) {
            return Decision.of(Action.WAIT, "no leader, but the watchdog is not reachable so I may not lead");
        }
        if (in.local().timeline() == 0) {
            return Decision.of(Action.WAIT, "no leader, but my postgres is not answering yet");
        }
        Lsn mine = in.local().lsn();
        long maxLag = in.cluster().config().maximumLagOnFailover();
        if (in.cluster().optime().isPresent()) {
            Lsn last = Lsn.parse(in.cluster().optime().get().lsn());
            long behind = mine.bytesBehind(last);
            if (behind > maxLag) {
                return Decision.of(
                        Action.WAIT,
                        "no leader, but I am " + behind + " bytes behind the last primary position " + last
                                + " (maximum_lag_on_failover " + maxLag + ")");
            }
        }
        boolean named = in.cluster().switchover().map(sw -> sw.candidate().equals(in.name())).orElse(false);
        for (Map.Entry<String, Lsn> peer : named ? Map.<String, Lsn>of().entrySet() : in.peerPositions().entrySet()) {
            Member member = in.cluster().members().get(peer.getKey());
            boolean eligible = member != null && !member.tags().nofailover();
            if (eligible && peer.getValue().compareTo(mine) > 0) {
                return Decision.of(
                        Action.WAIT, "no leader, but " + peer.getKey() + " is further ahead (" + peer.getValue() + " > " + mine + ")");
            }
        }
        return Decision.of(Action.TAKE_LEADERSHIP, "no leader and I am the most advanced eligible replica at " + mine);
    }
}
