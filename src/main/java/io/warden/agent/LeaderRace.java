package io.warden.agent;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import java.util.Map;
import java.util.Optional;

/**
 * The leader race, part of the pure decision ({@link HaDecider}): whether a node may race for the leader key when
 * nobody holds it, ranked against its peers by (timeline, LSN), and whether a primary whose postgres survived may
 * take the key back. Both run the same checks: nothing acknowledged on a newer timeline or by another leader's
 * synchronous set may be lost, and no other primary may be alive.
 */
final class LeaderRace {
    private LeaderRace() {}

    /**
     * Is {@code name} in the published synchronous set? The set is reset to empty by every new leader before it
     * accepts a write, so whichever leader wrote it, its members hold every commit acknowledged since.
     */
    private static boolean isSyncStandby(HaInput in, String name) {
        return in.cluster().sync().map(s -> s.standbys().contains(name)).orElse(false);
    }

    /**
     * Why a primary whose postgres survived may not take the leader key back, or empty when it may: the same checks
     * as a race. A newer timeline means someone was promoted since (its rows would be lost); a synchronous set
     * published by another leader means that leader's acknowledged commits are elsewhere; another primary's agent
     * answering as primary means one is alive.
     */
    static Optional<String> takeBackRefused(HaInput in) {
        ClusterSnapshot cluster = in.cluster();
        long newest = cluster.newestTimeline();
        if (in.local().timeline() == 0) {
            // Judged running because its data directory says so, but it did not answer: starting, dying, or killed a
            // moment ago by the lease keeper. Nothing shows it is not behind a timeline the cluster moved on to.
            return Optional.of("my postgres does not answer, so its timeline is unknown");
        }
        if (in.local().timeline() < newest) {
            return Optional.of(
                    "I am on timeline " + in.local().timeline() + " and the cluster has published " + newest);
        }
        if (cluster.config().synchronous()
                && !cluster.sync().map(s -> s.leader().equals(in.name())).orElse(false)) {
            return Optional.of("synchronous_mode is on and the synchronous set "
                    + cluster.sync().map(s -> "belongs to " + s.leader()).orElse("is unknown"));
        }
        return in.primaryPeers().stream()
                .findFirst()
                .map(peer -> "the agent of " + peer + " reports its postgres running as a primary");
    }

    /** A failover an operator asked for, naming this node, accepting that the cluster's newest timeline's tail is lost. */
    static boolean acceptsDataLoss(HaInput in) {
        return HaDecider.dueRequest(in)
                .map(r -> r.failover() && r.acceptDataLoss() && r.candidate().equals(in.name()))
                .orElse(false);
    }

    /** No leader: race only when eligible and no eligible peer is further ahead. */
    static Decision candidate(HaInput in) {
        if (!in.tags().canFailover()) {
            return Decision.of(
                    Action.WAIT,
                    in.tags().nofailover()
                            ? "no leader, but I am tagged nofailover"
                            : "no leader, but my failover_priority is 0");
        }
        boolean synchronous = in.cluster().config().synchronous();
        if (synchronous && !isSyncStandby(in, in.name())) {
            // Only a synchronous standby is known to hold every acknowledged commit; an empty set means the
            // primary ran alone and nobody may be promoted without losing writes.
            return Decision.of(
                    Action.WAIT,
                    "no leader, but synchronous_mode is "
                            + in.cluster().config().synchronousMode().label() + " and I am not a synchronous standby "
                            + in.cluster()
                                    .sync()
                                    .map(s -> s.standbys().toString())
                                    .orElse("[]"));
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
        if (in.cluster().unreadable().containsKey("optime")) {
            return Decision.of(
                    Action.WAIT, "no leader, but the last primary position (optime) is unreadable: my lag is unknown");
        }
        long newest = in.cluster().newestTimeline();
        boolean acceptsDataLoss = acceptsDataLoss(in);
        if (in.local().timeline() < newest && !acceptsDataLoss) {
            return Decision.of(
                    Action.WAIT,
                    "no leader, but I am on timeline " + in.local().timeline() + ", older than the cluster's"
                            + " newest " + newest
                            + ": what I hold past its fork was discarded; I must rewind and follow, not lead"
                            + " (warden failover --candidate " + in.name() + " --accept-data-loss overrides this)");
        }
        Lsn mine = in.local().lsn();
        long maxLag = in.cluster().config().maximumLagOnFailover();
        if (in.cluster().optime().isPresent() && !acceptsDataLoss) {
            Lsn last = Lsn.parse(in.cluster().optime().get().lsn());
            long behind = mine.bytesBehind(last);
            if (behind > maxLag) {
                return Decision.of(
                        Action.WAIT,
                        "no leader, but I am " + behind + " bytes behind the last primary position " + last
                                + " (maximum_lag_on_failover " + maxLag + ")");
            }
        }
        boolean named = HaDecider.isNamedCandidate(in.cluster(), in.name(), in.now());
        Optional<String> livePrimary =
                named ? Optional.empty() : in.primaryPeers().stream().sorted().findFirst();
        if (livePrimary.isPresent()) {
            return Decision.of(
                    Action.WAIT,
                    "no leader, but the agent of " + livePrimary.get() + " reports its postgres running as a"
                            + " primary: a primary is still alive");
        }
        for (String peer : named ? java.util.Set.<String>of() : in.unreadablePeers()) {
            Member member = in.cluster().members().get(peer);
            if (member != null && member.tags().canFailover() && (!synchronous || isSyncStandby(in, peer))) {
                return Decision.of(
                        Action.WAIT,
                        "no leader, but " + peer + " answered with a status I cannot read: it may be further ahead");
            }
        }
        for (Map.Entry<String, Position> peer : named
                ? Map.<String, Position>of().entrySet()
                : in.peerPositions().entrySet()) {
            Member member = in.cluster().members().get(peer.getKey());
            boolean eligible =
                    member != null && member.tags().canFailover() && (!synchronous || isSyncStandby(in, peer.getKey()));
            if (!eligible) {
                continue;
            }
            // Ranked by (timeline, LSN): an LSN on an older timeline is past a fork, not ahead.
            Position own = new Position(in.local().timeline(), mine);
            int ahead = peer.getValue().compareTo(own);
            if (ahead > 0) {
                return Decision.of(
                        Action.WAIT,
                        "no leader, but " + peer.getKey() + " is further ahead (" + peer.getValue() + " > " + own
                                + ")");
            }
            if (ahead == 0 && member.tags().failoverPriority() > in.tags().failoverPriority()) {
                return Decision.of(
                        Action.WAIT,
                        "no leader, but " + peer.getKey() + " is as far ahead with a higher failover_priority ("
                                + member.tags().failoverPriority() + " > "
                                + in.tags().failoverPriority() + ")");
            }
        }
        if (named) {
            if (acceptsDataLoss && in.local().timeline() < newest) {
                return Decision.of(
                        Action.TAKE_LEADERSHIP,
                        "manual failover to me with accept-data-loss: taking the leader key from" + " timeline "
                                + in.local().timeline() + "; what timeline " + newest
                                + " acknowledged past their fork is discarded");
            }
            return Decision.of(
                    Action.TAKE_LEADERSHIP,
                    HaDecider.dueRequest(in).get().failover()
                            ? "manual failover to me requested: taking the leader key"
                                    + (acceptsDataLoss ? " (accepting data loss)" : "")
                            : "switchover to me: taking the leader key");
        }
        return Decision.of(Action.TAKE_LEADERSHIP, "no leader and I am the most advanced eligible replica at " + mine);
    }
}
