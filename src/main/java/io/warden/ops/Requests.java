package io.warden.ops;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.Role;
import io.warden.cluster.Switchover;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Comparator;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Whether an operator's switchover or failover request may go ahead, as a pure function of one cluster snapshot.
 * The REST API answers with the status this returns (Patroni's codes: 400 malformed, 409 conflicting with another
 * request, 412 not possible in the cluster's present state) and the CLI prints the message. The HA decision applies
 * the same rules again when the request runs, so a request accepted here and overtaken by events does no harm.
 */
public final class Requests {
    private Requests() {}

    /** The answer to a request: an HTTP status and a sentence; on acceptance, the DCS value to write. */
    public record Verdict(int status, String message, Optional<Switchover> accepted) {
        static Verdict refuse(int status, String message) {
            return new Verdict(status, message, Optional.empty());
        }

        public boolean ok() {
            return accepted.isPresent();
        }
    }

    /**
     * A planned switchover.
     *
     * @param leader the primary the operator expects (optional: a mismatch means the operator's picture is stale)
     * @param candidate the replica to promote (optional unless paused)
     * @param scheduledAt ISO-8601 time with an offset, or empty for now
     */
    public static Verdict switchover(
            ClusterSnapshot cluster, String leader, String candidate, String scheduledAt, Instant now) {
        Optional<String> current = cluster.leader().map(l -> l.name());
        if (current.isEmpty()) {
            return Verdict.refuse(
                    412, "the cluster has no leader right now; a switchover needs a running primary (try failover)");
        }
        if (!blank(leader) && !leader.equals(current.get())) {
            return Verdict.refuse(412, "'" + leader + "' is not the leader; the leader is " + current.get());
        }
        Optional<Instant> at = Optional.empty();
        if (!blank(scheduledAt)) {
            try {
                at = Optional.of(OffsetDateTime.parse(scheduledAt.trim()).toInstant());
            } catch (DateTimeParseException e) {
                return Verdict.refuse(
                        400,
                        "scheduled_at '" + scheduledAt
                                + "' is not an ISO-8601 time with an offset, e.g. 2026-11-22T18:00:00Z");
            }
            if (at.get().isBefore(now)) {
                return Verdict.refuse(400, "scheduled_at " + scheduledAt + " is in the past (now " + now + ")");
            }
        }
        if (cluster.switchover().isPresent()) {
            return Verdict.refuse(
                    409, "a " + describe(cluster.switchover().get()) + " is already pending; cancel it first");
        }
        if (cluster.unreadable().containsKey("switchover")) {
            return Verdict.refuse(409, unreadablePending(cluster));
        }
        String chosen = candidate;
        if (blank(chosen)) {
            if (cluster.config().pause()) {
                return Verdict.refuse(412, "the cluster is in maintenance mode: a switchover must name its candidate");
            }
            Optional<Member> best = cluster.members().values().stream()
                    .filter(m -> promotable(cluster, current.get(), m) == null)
                    .max(Comparator.comparing(Member::position)
                            .thenComparing(m -> m.tags().failoverPriority()));
            if (best.isEmpty()) {
                return Verdict.refuse(
                        412,
                        "no replica can take over from " + current.get() + " (members: "
                                + new TreeSet<>(cluster.members().keySet())
                                + "; a candidate must be a streaming replica that may be promoted)");
            }
            chosen = best.get().name();
        } else {
            String problem = candidateProblem(cluster, current.get(), chosen);
            if (problem != null) {
                return Verdict.refuse(412, problem);
            }
        }
        Switchover request = new Switchover(
                current.get(), chosen, now.toString(), at.map(Instant::toString).orElse(""), false);
        return new Verdict(
                at.isPresent() ? 202 : 200,
                at.map(t -> "switchover from " + current.get() + " to " + request.candidate() + " scheduled at " + t)
                        .orElse("switchover from " + current.get() + " to " + request.candidate() + " requested"),
                Optional.of(request));
    }

    /** A manual failover: promote {@code candidate} whether or not the primary is healthy. */
    public static Verdict failover(ClusterSnapshot cluster, String candidate, Instant now) {
        return failover(cluster, candidate, false, now);
    }

    /**
     * A manual failover; with {@code acceptDataLoss} the candidate may be on a timeline older than the cluster's
     * newest, or further behind than maximum_lag_on_failover: the operator chose to discard what it lacks (the
     * history records it).
     */
    public static Verdict failover(ClusterSnapshot cluster, String candidate, boolean acceptDataLoss, Instant now) {
        if (blank(candidate)) {
            return Verdict.refuse(400, "a failover must name its candidate");
        }
        if (cluster.switchover().isPresent()) {
            return Verdict.refuse(
                    409, "a " + describe(cluster.switchover().get()) + " is already pending; cancel it first");
        }
        if (cluster.unreadable().containsKey("switchover")) {
            return Verdict.refuse(409, unreadablePending(cluster));
        }
        Member member = cluster.members().get(candidate);
        if (member == null) {
            return Verdict.refuse(
                    412,
                    "unknown candidate '" + candidate + "'; members: "
                            + new TreeSet<>(cluster.members().keySet()));
        }
        String current = cluster.leader().map(l -> l.name()).orElse("");
        if (candidate.equals(current)) {
            return Verdict.refuse(412, "'" + candidate + "' is already the leader");
        }
        if (!member.tags().canFailover()) {
            return Verdict.refuse(
                    412,
                    "'" + candidate + "' is tagged "
                            + (member.tags().nofailover() ? "nofailover" : "failover_priority 0")
                            + " and may never be promoted");
        }
        if (member.role() != Role.REPLICA || member.postgresPid() == 0) {
            return Verdict.refuse(
                    412, "'" + candidate + "' is " + member.state().label() + ", not a running replica");
        }
        if (cluster.config().synchronous()
                && !cluster.sync().map(s -> s.standbys().contains(candidate)).orElse(false)) {
            return Verdict.refuse(
                    412,
                    "synchronous_mode is " + cluster.config().synchronousMode().label() + " and '" + candidate
                            + "' is not a synchronous standby " + syncSet(cluster)
                            + ": promoting it could lose acknowledged commits");
        }
        long newest = cluster.newestTimeline();
        if (member.timeline() < newest && !acceptDataLoss) {
            return Verdict.refuse(
                    412,
                    "'" + candidate + "' is on timeline " + member.timeline() + ", older than the cluster's newest "
                            + newest + ": promoting it discards every commit timeline " + newest
                            + " acknowledged past their fork; pass"
                            + " --accept-data-loss (accept_data_loss: true) if that is what you want");
        }
        if (cluster.optime().isPresent() && !acceptDataLoss) {
            long behind = member.position()
                    .bytesBehind(Lsn.parse(cluster.optime().get().lsn()));
            if (behind > cluster.config().maximumLagOnFailover()) {
                return Verdict.refuse(
                        412,
                        "'" + candidate + "' is " + behind + " bytes behind the last primary position, more than"
                                + " maximum_lag_on_failover " + cluster.config().maximumLagOnFailover()
                                + " (--accept-data-loss overrides this)");
            }
        }
        return new Verdict(
                200,
                "failover to " + candidate + " requested" + (acceptDataLoss ? ", accepting data loss" : ""),
                Optional.of(new Switchover("", candidate, now.toString(), "", true, acceptDataLoss)));
    }

    /** What to tell someone whose request is blocked by a switchover key no agent can read. */
    public static String unreadablePending(ClusterSnapshot cluster) {
        return "an unreadable switchover request is in the way ("
                + cluster.unreadable().get("switchover").problem()
                + "); every agent ignores it: remove it with warden switchover --cancel (DELETE /switchover)";
    }

    private static String candidateProblem(ClusterSnapshot cluster, String leader, String candidate) {
        Member member = cluster.members().get(candidate);
        if (member == null) {
            return "unknown candidate '" + candidate + "'; members: "
                    + new TreeSet<>(cluster.members().keySet());
        }
        if (candidate.equals(leader)) {
            return "'" + candidate + "' is already the primary; name a replica";
        }
        return promotable(cluster, leader, member);
    }

    /** Null when {@code m} may take over from {@code leader} in a switchover, else why not. */
    private static String promotable(ClusterSnapshot cluster, String leader, Member m) {
        if (m.name().equals(leader)) {
            return "'" + m.name() + "' is the primary";
        }
        if (m.role() != Role.REPLICA || m.state() != MemberState.STREAMING) {
            return "candidate '" + m.name() + "' is " + m.state().label() + ", not a streaming replica";
        }
        if (!m.tags().canFailover()) {
            return "candidate '" + m.name() + "' is tagged "
                    + (m.tags().nofailover() ? "nofailover" : "failover_priority 0") + " and may never be promoted";
        }
        if (cluster.config().synchronous() && !cluster.isSyncStandby(leader, m.name())) {
            return "synchronous_mode is " + cluster.config().synchronousMode().label() + " and '" + m.name()
                    + "' is not a synchronous standby " + syncSet(cluster);
        }
        return null;
    }

    private static String syncSet(ClusterSnapshot cluster) {
        return cluster.sync().map(s -> s.standbys().toString()).orElse("[]");
    }

    static String describe(Switchover s) {
        return (s.failover() ? "failover to " : "switchover from " + s.leader() + " to ")
                + s.candidate()
                + (s.scheduledAt().isEmpty() ? "" : " at " + s.scheduledAt());
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }
}
