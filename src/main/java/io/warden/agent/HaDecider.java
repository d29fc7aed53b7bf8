package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.LeaderKey;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.cluster.Switchover;
import io.warden.postgres.DataState;
import io.warden.postgres.LocalState;
import java.util.Comparator;
import java.util.Optional;
import java.util.function.Predicate;

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
        Decision decision = decideUnpaused(in);
        if (!in.configKnown()) {
            return Restraints.withoutConfig(in, decision);
        }
        return in.cluster().config().pause() ? Restraints.whilePaused(in, decision) : decision;
    }

    /**
     * Is {@code name} the candidate of a switchover or failover that is due now? Such a node does not compare itself
     * with its peers (the agent then need not ask them); one merely scheduled for later does.
     */
    public static boolean isNamedCandidate(ClusterSnapshot cluster, String name, java.time.Instant now) {
        return cluster.switchover()
                .filter(s -> s.due(now))
                .map(s -> s.candidate().equals(name))
                .orElse(false);
    }

    /** The pending switchover or failover, if it is due now. */
    static Optional<Switchover> dueRequest(HaInput in) {
        return in.cluster().switchover().filter(s -> s.due(in.now()));
    }

    private static Decision decideUnpaused(HaInput in) {
        ClusterSnapshot cluster = in.cluster();
        LocalState local = in.local();
        Optional<LeaderKey> leader = cluster.leader();
        boolean namesMe = cluster.isLeader(in.name());
        // A key naming us but bound to an older lease is a previous run's: it is not ours to act on.
        boolean holdsKey = namesMe && leader.get().leaseId() == in.leaseId();
        boolean leading = holdsKey && in.leaseValid();
        Optional<Member> leaderMember = cluster.leaderMember().filter(m -> !namesMe);

        // Fencing first: whatever else is true, a primary without a valid lease on the leader key must stop now.
        if (local.data() == DataState.RUNNING_PRIMARY && !leading) {
            if (holdsKey) {
                return Decision.of(Action.FENCE, "fencing: my leader lease could not be renewed in time");
            }
            if (namesMe) {
                return Decision.of(
                        Action.FENCE, "fencing: the leader key names me under an earlier lease, not my current one");
            }
            if (leader.isPresent()) {
                return Decision.of(Action.FENCE, "fencing: " + leader.get().name() + " holds the leader key, not me");
            }
            if (in.leaseValid() && in.canLead() && cluster.initialize().isPresent()) {
                // Taking the key back runs the checks of a race: nobody may have led since on a newer timeline,
                // nobody else may own the synchronous set, and no other primary may be alive.
                Optional<String> why = LeaderRace.takeBackRefused(in);
                return why.isPresent()
                        ? Decision.of(
                                Action.FENCE,
                                "fencing: the leader key is gone and I may not take it back: " + why.get())
                        : Decision.of(
                                Action.TAKE_LEADERSHIP, "leader key is gone while I run as primary: taking it back");
            }
            return Decision.of(Action.FENCE, "fencing: nobody holds the leader key and my lease is not valid");
        }

        Optional<String> clusterId = cluster.systemIdentifier();
        if (!in.systemIdentifier().isEmpty()
                && clusterId.isPresent()
                && !clusterId.get().equals(in.systemIdentifier())) {
            return Decision.of(
                    Action.WAIT,
                    "my data directory belongs to another cluster (system identifier " + in.systemIdentifier()
                            + ", this cluster's is " + clusterId.get()
                            + "): not joining, racing or rewinding it; point data_dir at an empty"
                            + " directory, or remove this one if its data is expendable");
        }

        if (namesMe && !holdsKey) {
            return Decision.of(Action.WAIT, "the leader key names me from an earlier lease: waiting for it to expire");
        }
        if (holdsKey
                && local.data() == DataState.STOPPED_PRIMARY
                && in.handOver().isPresent()) {
            return handOverUnderWay(in, in.handOver().get());
        }
        Optional<Switchover> switchover = dueRequest(in);
        String kind =
                switchover.map(s -> s.failover() ? "failover" : "switchover").orElse("");
        if (leading
                && local.data() == DataState.RUNNING_PRIMARY
                && switchover.isPresent()
                && switchover.get().concerns(in.name())) {
            Optional<Member> candidate = switchoverCandidate(in, switchover.get());
            return candidate.isPresent()
                    ? Decision.of(
                            Action.HAND_OVER,
                            candidate.get(),
                            kind + " requested: handing over to "
                                    + candidate.get().name())
                    : Decision.of(Action.LEAD, kind + " requested but no healthy candidate: still leading");
        }
        if (holdsKey
                && local.data() == DataState.STOPPED_PRIMARY
                && switchover.isPresent()
                && switchover.get().failover()) {
            Member candidate = cluster.members().get(switchover.get().candidate());
            if (candidate != null && candidate.role() == Role.REPLICA && candidate.postgresPid() != 0) {
                return Decision.of(
                        Action.RELEASE_LEADERSHIP,
                        "manual failover to " + candidate.name()
                                + " while my postgres is down: releasing the leader key");
            }
        }
        if (leader.isEmpty()
                && switchover.isPresent()
                && !switchover.get().candidate().isEmpty()
                && !switchover.get().candidate().equals(in.name())
                && cluster.members().containsKey(switchover.get().candidate())) {
            return Decision.of(Action.WAIT, kind + " to " + switchover.get().candidate() + " in progress");
        }
        // A cluster that runs (a leader holds the key, this node has data) and lost its initialize key, deleted by
        // hand, goes on as it is: only a node without data, or the bootstrap claimant, looks at bootstrapping.
        boolean runningWithoutInitialize =
                cluster.initialize().isEmpty() && leader.isPresent() && local.data() != DataState.EMPTY;
        if ((cluster.initialize().isEmpty() || cluster.initialize().get().equals("bootstrapping"))
                && !runningWithoutInitialize) {
            return bootstrap(in, leader, holdsKey);
        }

        return switch (local.data()) {
            case EMPTY ->
                leaderMember.isPresent() && leaderMember.get().postgresPid() != 0
                        ? Decision.of(
                                Action.CLONE,
                                leaderMember.get(),
                                "cloning from leader " + leaderMember.get().name())
                        : Decision.of(
                                Action.WAIT, "data directory is empty and there is no running leader to clone from");
            case RUNNING_PRIMARY ->
                in.keyTakenBackFor().isPresent()
                        ? RouterBarrier.afterTakeBack(in, in.keyTakenBackFor().get())
                        : Decision.of(Action.LEAD, "leading with a valid lease");
            case STOPPED_PRIMARY -> stoppedPrimary(in, holdsKey, leaderMember);
            case STOPPED_REPLICA ->
                leaderMember.isPresent()
                        ? Decision.of(
                                Action.START_REPLICA,
                                leaderMember.get(),
                                "starting as a replica of " + leaderMember.get().name())
                        : Decision.of(Action.START_REPLICA, "starting read-only: there is no leader to follow yet");
            case RUNNING_REPLICA -> runningReplica(in, holdsKey, leaderMember);
        };
    }

    /**
     * The hand-over as a state across cycles: postgres stopped cleanly at the shutdown checkpoint, and the key is
     * released only once the candidate has received WAL past it, so no acknowledged commit can be lost. A candidate
     * that has not within {@link HandOverProgress#CANDIDATE_WAIT} gets nothing, and this node leads on.
     */
    private static Decision handOverUnderWay(HaInput in, HandOverProgress progress) {
        String where = "switchover candidate " + progress.candidate() + " (" + progress.candidateState() + ")";
        if (progress.confirmed()) {
            return Decision.of(
                    Action.FINISH_HAND_OVER,
                    where + " has received the shutdown checkpoint " + progress.checkpoint()
                            + ": releasing the leader key for it");
        }
        if (progress.waited().compareTo(HandOverProgress.CANDIDATE_WAIT) <= 0) {
            return Decision.of(
                    Action.WAIT,
                    "postgres stopped for the switchover; waiting for " + where + " to receive the shutdown checkpoint "
                            + progress.checkpoint());
        }
        if (!in.leaseValid() || !in.canLead()) {
            return Decision.of(
                    Action.WAIT,
                    where + " has not received the shutdown checkpoint, and I cannot lead safely (lease or watchdog):"
                            + " not restarting as primary");
        }
        return Decision.of(
                Action.ABORT_HAND_OVER,
                where + " has not received the shutdown checkpoint " + progress.checkpoint() + " within "
                        + HandOverProgress.CANDIDATE_WAIT.toSeconds() + " s; restarting as primary instead");
    }

    private static Decision bootstrap(HaInput in, Optional<LeaderKey> leader, boolean holdsKey) {
        LocalState local = in.local();
        if (holdsKey && !in.leaseValid()) {
            return Decision.of(Action.WAIT, "I hold the bootstrap claim but my lease is not valid: not running initdb");
        }
        if (holdsKey && local.data() == DataState.EMPTY) {
            return Decision.of(Action.BOOTSTRAP, "I won the bootstrap race: running initdb");
        }
        if (leader.isPresent() && !holdsKey) {
            return Decision.of(Action.WAIT, "waiting for " + leader.get().name() + " to bootstrap the cluster");
        }
        if (local.data() != DataState.EMPTY) {
            return Decision.of(
                    Action.WAIT,
                    "the cluster is not initialized in the DCS but my data directory holds a cluster: refusing to"
                            + " bootstrap over it");
        }
        if (!in.canLead()) {
            return Decision.of(Action.WAIT, "the watchdog is not reachable, so I may not bootstrap");
        }
        Optional<Member> withData = in.cluster().members().values().stream()
                .filter(m -> !m.name().equals(in.name())
                        && (m.timeline() != 0 || m.postgresPid() != 0 || m.role() != Role.UNKNOWN))
                .findFirst();
        if (withData.isPresent()) {
            // A deleted (or never completed) initialize key while members hold data is not a new cluster: a bootstrap
            // would make a second cluster under the same name.
            return Decision.of(
                    Action.WAIT,
                    "the initialize key is missing but " + withData.get().name() + " holds data: not"
                            + " bootstrapping (restore the key with the cluster's system identifier)");
        }
        return Decision.of(Action.BOOTSTRAP, "cluster is not initialized: racing to bootstrap it");
    }

    private static Decision stoppedPrimary(HaInput in, boolean holdsKey, Optional<Member> leaderMember) {
        if (holdsKey) {
            if (!in.leaseValid()) {
                return Decision.of(
                        Action.WAIT, "postgres is down and my lease is not valid: not restarting as primary");
            }
            if (in.primaryDownFor().compareTo(in.primaryStartTimeout()) > 0) {
                return Decision.of(
                        Action.RELEASE_LEADERSHIP,
                        "postgres did not come back within primary_start_timeout "
                                + in.primaryStartTimeout().toSeconds() + "s: releasing the leader key");
            }
            return Decision.of(
                    Action.RESTART_PRIMARY, "postgres is down while I hold the leader key: restarting it in place");
        }
        if (leaderMember.isPresent()) {
            // pg_rewind needs a running source; against a stopped leader it fails and the re-clone fallback
            // would then delete this node's data for nothing.
            // Nor against one still promoting: its timeline switch is not on disk yet, so the rewind would find
            // nothing to do and leave this node stranded on its old timeline.
            Member leader = leaderMember.get();
            if (leader.postgresPid() == 0 || leader.role() != Role.PRIMARY || leader.state() != MemberState.RUNNING) {
                return Decision.of(
                        Action.WAIT,
                        "former primary: waiting for leader "
                                + leaderMember.get().name() + " to run as primary before rewinding");
            }
            return RejoinRules.rewind(in, leader, "former primary: rewinding to follow " + leader.name());
        }
        return Decision.of(Action.START_REPLICA, "former primary with no leader: starting read-only to join the race");
    }

    private static Decision runningReplica(HaInput in, boolean holdsKey, Optional<Member> leaderMember) {
        if (holdsKey) {
            long newest = in.cluster().newestTimeline();
            if (in.local().timeline() != 0 && in.local().timeline() < newest && !LeaderRace.acceptsDataLoss(in)) {
                return Decision.of(
                        Action.RELEASE_LEADERSHIP,
                        "the leader key is mine but I am on timeline "
                                + in.local().timeline() + ", older than the cluster's newest " + newest
                                + ": not promoting, releasing the key");
            }
            if (!in.leaseValid() || !in.canLead()) {
                return Decision.of(Action.WAIT, "the leader key is mine but I cannot lead safely: not promoting");
            }
            return RouterBarrier.beforePromotion(in);
        }
        if (leaderMember.isPresent()) {
            Member leader = leaderMember.get();
            String wanted = leader.host() + ":" + leader.port();
            if (!wanted.equals(in.local().upstream())) {
                return Decision.of(Action.REPOINT, leader, "following the new leader " + leader.name());
            }
            boolean stuck = !in.local().streaming()
                    && leader.role() == Role.PRIMARY
                    && leader.state() == MemberState.RUNNING
                    && leader.postgresPid() != 0
                    && in.notStreamingFor().compareTo(HaInput.STRANDED_REPLICA_GRACE) > 0;
            // The walsender refuses it for ever ("requested WAL segment ... has already been removed"): no rewind can
            // bring that WAL back (a rewound node needs WAL from before the fork), only a fresh copy can.
            if (stuck && in.upstreamWalGone()) {
                return RejoinRules.replaceOrWait(
                        in,
                        leader,
                        "leader " + leader.name() + " has already recycled the WAL I need, not streaming for "
                                + in.notStreamingFor().toSeconds() + "s");
            }
            // Received WAL past the point where the leader's timeline forked: it can never stream; rewind it.
            if (stuck && in.local().timeline() != 0 && in.local().timeline() < leader.timeline()) {
                return RejoinRules.stranded(
                        in,
                        leader,
                        "stranded on timeline " + in.local().timeline() + " while leader " + leader.name() + " is on "
                                + leader.timeline() + ", not streaming for "
                                + in.notStreamingFor().toSeconds() + "s: rewinding");
            }
            return Decision.of(
                    Action.KEEP_FOLLOWING,
                    leader,
                    in.local().streaming()
                            ? "streaming from leader " + leader.name()
                            : "following leader " + leader.name() + ", not streaming yet");
        }
        if (in.cluster().leader().isPresent()) {
            return Decision.of(
                    Action.WAIT, "the leader " + in.cluster().leader().get().name() + " has not published itself yet");
        }
        return LeaderRace.candidate(in);
    }

    /**
     * The named candidate if it streams and may be promoted, else the most advanced such replica (higher
     * failover_priority first among equals). In synchronous mode only a synchronous standby qualifies: the other
     * replicas would refuse to follow it up in a later failover otherwise.
     */
    private static Optional<Member> switchoverCandidate(HaInput in, Switchover switchover) {
        Predicate<Member> eligible = m -> !m.name().equals(in.name())
                && m.role() == Role.REPLICA
                && m.state() == MemberState.STREAMING
                && m.tags().canFailover()
                && (!in.cluster().config().synchronous() || in.cluster().isSyncStandby(in.name(), m.name()));
        if (!switchover.candidate().isEmpty()) {
            return Optional.ofNullable(in.cluster().members().get(switchover.candidate()))
                    .filter(eligible);
        }
        return in.cluster().members().values().stream()
                .filter(eligible)
                .max(Comparator.comparing(Member::position)
                        .thenComparing(m -> m.tags().failoverPriority()));
    }
}
