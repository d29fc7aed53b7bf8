package io.warden.controller.scaling;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * One scaling change as the controller records it under {@code /warden-control/<cluster>/scaling}, rewritten at
 * every step by a write that holds only while its writer leads: a controller that takes over reads it and goes on
 * from where it stands. Every action a step names is safe to run again (a volume that has its size answers so; a
 * limit is only ever raised to the target), so a step cut short by a crash is simply run again.
 *
 * <p>The order keeps the cluster up: the limits of every member first (a change of cgroup limits needs no restart),
 * then the volumes one member at a time, replicas first and the primary last, after a switchover when its volume can
 * only grow while it is stopped. A member is not touched until the one before it is healthy again.
 *
 * @param from the units before; {@code to} after (equal when the plan only brings members up to the units they
 *     should have, e.g. after a controller died half way or units were set by hand)
 * @param diskBytes every member's volume after the change; {@code memoryBytes}, {@code cpuMillis} its limits
 * @param node the member whose volume is being grown; empty between members
 * @param done the members whose volumes have the size already, in the order they were grown
 * @param startedAt when the change was planned (ISO-8601); {@code stepAt} when the current step was recorded
 * @param restart the new memory changes a parameter only a restart applies ({@code shared_buffers}): every member
 *     is restarted in the same rolling order as an offline growth, whether or not its volume grows online
 */
public record ScalingPlan(
        String id,
        long epoch,
        int from,
        int to,
        String reason,
        long diskBytes,
        long memoryBytes,
        long cpuMillis,
        Step step,
        String node,
        NodeStep nodeStep,
        List<String> done,
        String startedAt,
        String stepAt,
        boolean restart) {
    public ScalingPlan {
        node = node == null ? "" : node;
        nodeStep = nodeStep == null ? NodeStep.NONE : nodeStep;
        done = done == null ? List.of() : List.copyOf(done);
    }

    public enum Step {
        /** Every member's CPU quota and memory limit are being raised. */
        LIMITS,
        /** The volumes are being grown, one member at a time. */
        VOLUMES
    }

    /** Where the member being grown stands. */
    public enum NodeStep {
        /** Nothing done to it yet: its volume grows online if it can. */
        NONE,
        /** It leads and its volume grows only while it is stopped: a switchover to a replica was requested. */
        SWITCHING_OVER,
        /** Stopped (or being stopped) for its volume to grow offline. */
        STOPPED,
        /** Grown and started again; waiting for it to stream (or lead) before the next member. */
        STARTED
    }

    ScalingPlan restarting(boolean needed) {
        return with(step, node, nodeStep, done, stepAt, needed);
    }

    ScalingPlan at(Step next, Instant now) {
        return with(next, "", NodeStep.NONE, done, now.toString(), restart);
    }

    ScalingPlan on(String member, NodeStep where, Instant now) {
        return with(step, member, where, done, now.toString(), restart);
    }

    ScalingPlan grown(String member, Instant now) {
        List<String> all = new ArrayList<>(done);
        all.add(member);
        return with(step, "", NodeStep.NONE, all, now.toString(), restart);
    }

    /** This plan with what its steps change; what was decided at its start stays. */
    private ScalingPlan with(
            Step nextStep, String member, NodeStep where, List<String> grown, String recordedAt, boolean restarts) {
        return new ScalingPlan(
                id,
                epoch,
                from,
                to,
                reason,
                diskBytes,
                memoryBytes,
                cpuMillis,
                nextStep,
                member,
                where,
                grown,
                startedAt,
                recordedAt,
                restarts);
    }

    Instant stepInstant() {
        return Instant.parse(stepAt);
    }

    Instant startInstant() {
        return Instant.parse(startedAt);
    }
}
