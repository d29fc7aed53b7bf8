package io.warden.controller.scaling;

import io.warden.cluster.ScalingSettings;
import io.warden.common.Units;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Whether a cluster needs more units, decided from its volumes' use, the policy and what the controller remembers
 * (when it last checked, the recent samples, its last step): a pure function, so each rule is tested with literal
 * times at the real one-hour interval, and the whole system's tests only set shorter intervals, through the same
 * code.
 *
 * <p>The rules (docs/scaling.md): used is the fullest member's filesystem, since WAL, temporary files and logs fill
 * volumes as well as tables. At each regular check (every {@code interval}) a volume with less than
 * {@code trigger_free} free asks for a step; between checks only one with less than {@code emergency_free} does,
 * and at once. A step is at least one unit, enough units to leave {@code target_free} free, and enough for the
 * growth a line fitted to the recent samples predicts over the next two intervals, whichever is most; doubled when
 * the previous step was used up within one interval. Regular steps wait out the {@code cooldown} after the previous
 * one; an emergency does not. Nothing here ever shrinks a cluster.
 */
public final class ScalingDecider {
    private ScalingDecider() {}

    /** How many samples the memory keeps for the fit: the stored value stays small whatever the interval. */
    static final int MAX_SAMPLES = 48;

    /**
     * One member's volume as the runtime measures it.
     *
     * @param provisionedBytes the volume's size (the image); {@code totalBytes} is what its filesystem offers of it
     */
    public record VolumeUse(String node, long provisionedBytes, long totalBytes, long usedBytes) {
        double usedFraction() {
            return totalBytes == 0 ? 0 : (double) usedBytes / totalBytes;
        }

        /** The share of the provisioned bytes the filesystem lets data use (ext4 keeps some for itself). */
        double efficiency() {
            return provisionedBytes == 0 || totalBytes == 0 ? 1 : Math.min(1, (double) totalBytes / provisionedBytes);
        }
    }

    /**
     * What a round sees.
     *
     * @param suspended why no step may start now (paused, a switchover, a repair), if one may not
     * @param applying a step is being applied (the plan under way)
     */
    public record View(
            ScalingSettings settings, List<VolumeUse> volumes, Optional<String> suspended, boolean applying) {
        public View {
            volumes = List.copyOf(volumes);
        }
    }

    /** The fullest member's used bytes at one instant. */
    public record Sample(Instant at, long usedBytes) {}

    /** A step taken: when it was decided, and the units before and after. */
    public record Step(Instant at, int from, int to) {}

    /**
     * What the controller remembers between rounds (stored under the control prefix, so a new leader goes on).
     *
     * @param lastCheck the last regular check; empty: none yet (the first round checks)
     */
    public record Memory(Optional<Instant> lastCheck, List<Sample> samples, Optional<Step> lastStep) {
        public static final Memory EMPTY = new Memory(Optional.empty(), List.of(), Optional.empty());

        public Memory {
            samples = List.copyOf(samples);
        }

        Memory checked(Instant now) {
            return new Memory(Optional.of(now), samples, lastStep);
        }

        Memory stepped(Step step) {
            return new Memory(lastCheck, samples, Optional.of(step));
        }
    }

    public enum Action {
        /** Nothing to do now. */
        HOLD,
        /** Raise the cluster's units to {@link Decision#units}. */
        GROW,
        /** Short of space and at the maximum: no step can help; an operator must raise max_units or delete data. */
        AT_MAXIMUM
    }

    /**
     * @param units the units wanted (GROW), or the units now
     * @param emergency taken between checks because a volume is nearly full
     */
    public record Decision(Action action, int units, boolean emergency, String node, String reason) {}

    public record Outcome(Decision decision, Memory memory) {}

    public static Outcome decide(View view, Memory memory, Instant now) {
        Objects.requireNonNull(now, "now is null");
        ScalingSettings s = view.settings();
        int units = s.units();
        if (view.volumes().isEmpty()) {
            return hold(memory, units, "", "no member's volume can be measured (none runs, or none has a volume)");
        }
        VolumeUse fullest = view.volumes().stream()
                .max(Comparator.comparingDouble(VolumeUse::usedFraction))
                .orElseThrow();
        long usedMost =
                view.volumes().stream().mapToLong(VolumeUse::usedBytes).max().orElse(0);
        Memory next = withSample(memory, new Sample(now, usedMost), s.interval());
        double free = 1 - fullest.usedFraction();
        boolean due = memory.lastCheck()
                .map(at -> !now.isBefore(at.plus(s.interval())))
                .orElse(true);
        if (due) {
            next = next.checked(now);
        }
        String state =
                fullest.node() + "'s volume has " + percent(free) + " free of " + Units.bytesText(fullest.totalBytes());
        if (view.applying()) {
            return hold(next, units, fullest.node(), "a scaling step is being applied; " + state);
        }
        boolean emergency = free < s.emergencyFree();
        boolean triggered = due && free < s.triggerFree();
        if (!emergency && !triggered) {
            String when = free < s.triggerFree()
                    ? "under " + percent(s.triggerFree()) + ", a step at the next check, "
                            + next.lastCheck().orElse(now).plus(s.interval())
                    : "a step only under " + percent(s.triggerFree()) + " at a check (every "
                            + ScalingSettings.longForm(s.interval()) + ") or under " + percent(s.emergencyFree())
                            + " at any sample";
            return hold(next, units, fullest.node(), state + ": " + when);
        }
        if (!s.auto()) {
            return hold(
                    next,
                    units,
                    fullest.node(),
                    state + ", but automatic scaling is off (scaling.auto false; ./warden edit-config --set"
                            + " scaling.units=N adds units by hand)");
        }
        if (view.suspended().isPresent()) {
            return hold(
                    next,
                    units,
                    fullest.node(),
                    state + ", but no step now: " + view.suspended().get());
        }
        if (!emergency) {
            Optional<Instant> cooled = next.lastStep().map(st -> st.at().plus(s.cooldown()));
            if (cooled.isPresent() && now.isBefore(cooled.get())) {
                return hold(
                        next,
                        units,
                        fullest.node(),
                        state + ", but the last step's cooldown runs until " + cooled.get() + " (an emergency under "
                                + percent(s.emergencyFree()) + " would not wait)");
            }
        }
        if (units >= s.maxUnits() || s.disk(s.maxUnits()) <= s.disk(units)) {
            String why = state + " and the cluster is at its maximum (" + units + " units, "
                    + Units.bytesText(s.disk(units)) + " of disk): raise scaling.max_units"
                    + (s.diskMax() > 0 ? " or scaling.disk_max" : "") + ", or delete data";
            return new Outcome(new Decision(Action.AT_MAXIMUM, units, emergency, fullest.node(), why), next);
        }
        double efficiency = fullest.efficiency();
        int forTarget = unitsFor(s, units, fullest.usedBytes(), efficiency, s.targetFree()) - units;
        long predicted = predictedGrowth(next.samples(), s.interval().multipliedBy(2));
        int forGrowth = (int) Math.ceil(predicted / (s.unitDiskBytes() * efficiency));
        int step = Math.max(1, Math.max(forTarget, forGrowth));
        List<String> because = new ArrayList<>();
        because.add(forTarget + " to leave " + percent(s.targetFree()) + " free");
        if (predicted > 0) {
            because.add(forGrowth + " for the " + Units.bytesText(roundMib(predicted)) + " predicted over the next "
                    + ScalingSettings.longForm(s.interval().multipliedBy(2)));
        }
        Optional<Step> previous = next.lastStep();
        if (previous.isPresent()
                && !Duration.between(previous.get().at(), now)
                        .minus(s.interval())
                        .isPositive()) {
            step *= 2;
            because.add("doubled: the previous step (at " + previous.get().at() + ") was used up within one interval");
        }
        int to = Math.min(s.maxUnits(), units + step);
        if (to < units + step) {
            because.add("capped at max_units " + s.maxUnits());
        }
        String reason = state + (emergency ? " (under " + percent(s.emergencyFree()) + ": an emergency step)" : "")
                + ": " + units + " → " + to + " units (disk " + Units.bytesText(s.disk(units)) + " → "
                + Units.bytesText(s.disk(to)) + ", memory " + Units.bytesText(s.memory(to)) + ", CPU " + s.cpu(to)
                + "m); " + String.join(", ", because);
        return new Outcome(
                new Decision(Action.GROW, to, emergency, fullest.node(), reason),
                next.stepped(new Step(now, units, to)));
    }

    /** The fewest units, at least {@code from}, whose disk holds {@code used} with {@code free} of it left. */
    static int unitsFor(ScalingSettings s, int from, long used, double efficiency, double free) {
        int n = from;
        while (n < ScalingSettings.DEFAULT.maxUnits() * 64 && s.disk(n) * efficiency * (1 - free) < used) {
            n++;
        }
        return n;
    }

    /**
     * The growth over {@code ahead} of a least-squares line through the samples of the last interval; 0 with fewer
     * than three samples, or when use is flat or falling (a cluster that shrinks is never scaled down for it).
     */
    static long predictedGrowth(List<Sample> samples, Duration ahead) {
        if (samples.size() < 3) {
            return 0;
        }
        Instant origin = samples.getFirst().at();
        double n = samples.size();
        double sumT = 0;
        double sumU = 0;
        for (Sample sample : samples) {
            sumT += Duration.between(origin, sample.at()).toMillis() / 1000.0;
            sumU += sample.usedBytes();
        }
        double meanT = sumT / n;
        double meanU = sumU / n;
        double covariance = 0;
        double variance = 0;
        for (Sample sample : samples) {
            double t = Duration.between(origin, sample.at()).toMillis() / 1000.0 - meanT;
            covariance += t * (sample.usedBytes() - meanU);
            variance += t * t;
        }
        if (variance == 0) {
            return 0;
        }
        double perSecond = covariance / variance;
        return perSecond <= 0 ? 0 : Math.round(perSecond * ahead.toSeconds());
    }

    /**
     * The memory with {@code sample} kept: one every interval/24 at most, none older than the interval, at most
     * {@link #MAX_SAMPLES}.
     */
    static Memory withSample(Memory memory, Sample sample, Duration interval) {
        List<Sample> kept = new ArrayList<>();
        for (Sample s : memory.samples()) {
            if (!s.at().isBefore(sample.at().minus(interval)) && s.at().isBefore(sample.at())) {
                kept.add(s);
            }
        }
        Duration spacing = interval.dividedBy(24);
        if (kept.isEmpty()
                || !Duration.between(kept.getLast().at(), sample.at())
                        .minus(spacing)
                        .isNegative()) {
            kept.add(sample);
        }
        List<Sample> bounded = kept.subList(Math.max(0, kept.size() - MAX_SAMPLES), kept.size());
        return new Memory(memory.lastCheck(), bounded, memory.lastStep());
    }

    private static Outcome hold(Memory memory, int units, String node, String reason) {
        return new Outcome(new Decision(Action.HOLD, units, false, node, reason), memory);
    }

    private static long roundMib(long bytes) {
        return Math.max(1, Math.round(bytes / (double) (1 << 20))) << 20;
    }

    static String percent(double fraction) {
        return Math.round(fraction * 100) + "%";
    }
}
