package io.warden.controller.repair;

import io.warden.cluster.NodeTags;
import java.time.Instant;

/**
 * One repair as the controller records it under {@code /warden-control/<cluster>/repair}, rewritten at every step by
 * a transaction that holds only while its writer leads ({@link io.warden.dcs.ControlStore}): a controller that takes
 * over reads it and goes on from {@link #step}, or rolls it back.
 *
 * <p>Make before break: the replacement is made, clones and streams before the abnormal node is touched, so the
 * cluster never has fewer healthy copies because of a repair.
 *
 * @param id names the repair; the replacement's container carries it as its {@code repair} label, so a controller
 *     that died between making the container and recording it finds it again
 * @param epoch the leadership that began it
 * @param node the abnormal node being replaced
 * @param abnormality why ({@link RepairDecider.Abnormality})
 * @param replacement the new node's name once it is made; empty before
 * @param startedAt when the repair was planned (ISO-8601)
 * @param stepAt when the current step was recorded (ISO-8601)
 * @param tags the old node's tags, which its replacement is made with
 * @param quarantine why the old node's volume is kept (quarantined) when it is removed; empty when it is deleted
 */
public record RepairPlan(
        String id,
        long epoch,
        String node,
        RepairDecider.Abnormality abnormality,
        String reason,
        Step step,
        String replacement,
        String startedAt,
        String stepAt,
        NodeTags tags,
        String quarantine) {

    /** The steps, in order; each is recorded once what it names is true. */
    public enum Step {
        /** Decided and recorded; the replacement is being made. */
        PLANNED,
        /** The replacement's container exists (made on a host that holds no other member). */
        CREATED,
        /** The replacement runs and clones from a healthy member. */
        CLONING,
        /** The replacement streams from the primary: from here on the repair only goes forward. */
        STREAMING,
        /** The abnormal node is stopped, its member record and lease are gone, no slot or synchronous set holds it. */
        OLD_DETACHED,
        /** The abnormal node's container, volume and key are removed. */
        REMOVED;

        /** Whether the repair may still be called off: the old node is untouched until the replacement streams. */
        public boolean cancellable() {
            return compareTo(STREAMING) < 0;
        }
    }

    public RepairPlan {
        replacement = replacement == null ? "" : replacement;
        // A plan recorded before replacements inherited tags and volumes were kept.
        tags = tags == null ? NodeTags.NONE : tags;
        quarantine = quarantine == null ? "" : quarantine;
    }

    /** The plan at {@code next}, recorded at {@code at}. */
    public RepairPlan at(Step next, Instant at) {
        return new RepairPlan(
                id, epoch, node, abnormality, reason, next, replacement, startedAt, at.toString(), tags, quarantine);
    }

    /** The plan with its replacement named, at {@link Step#CREATED}. */
    public RepairPlan created(String name, Instant at) {
        return new RepairPlan(
                id, epoch, node, abnormality, reason, Step.CREATED, name, startedAt, at.toString(), tags, quarantine);
    }

    public Instant stepInstant() {
        return Instant.parse(stepAt);
    }

    public Instant startInstant() {
        return Instant.parse(startedAt);
    }
}
