package io.warden.controller.scaling;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.cluster.ScalingSettings;
import io.warden.controller.scaling.ScalingDecider.Action;
import io.warden.controller.scaling.ScalingDecider.Memory;
import io.warden.controller.scaling.ScalingDecider.Outcome;
import io.warden.controller.scaling.ScalingDecider.Sample;
import io.warden.controller.scaling.ScalingDecider.Step;
import io.warden.controller.scaling.ScalingDecider.View;
import io.warden.controller.scaling.ScalingDecider.VolumeUse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The scaling policy at its real one-hour interval with literal times: when a step is taken, how large, and each
 * rule that holds it back.
 */
class ScalingDeciderTest {
    private static final Instant T0 = Instant.parse("2026-12-04T12:00:00Z");
    private static final long GIB = 1L << 30;
    private static final long MIB = 1L << 20;

    /** Defaults (1 GiB units, hourly) at {@code units} units. */
    private static ScalingSettings settings(int units) {
        return ScalingSettings.of(Map.of("units", Integer.toString(units)));
    }

    /** Three members on {@code units} units; node-2 holds {@code freeShare} free, the others half. */
    private static View view(ScalingSettings s, double freeShare) {
        long total = s.disk(s.units());
        return new View(
                s,
                List.of(
                        new VolumeUse("node-1", total, total, total / 2),
                        new VolumeUse("node-2", total, total, Math.round(total * (1 - freeShare))),
                        new VolumeUse("node-3", total, total, total / 2)),
                Optional.empty(),
                false);
    }

    private static Memory checkedAt(Instant at) {
        return new Memory(Optional.of(at), List.of(), Optional.empty());
    }

    @Test
    void twentyFivePercentFreeAtACheckHolds() {
        Outcome out = ScalingDecider.decide(view(settings(1), 0.25), Memory.EMPTY, T0);

        assertThat(out.decision().action()).isEqualTo(Action.HOLD);
        assertThat(out.memory().lastCheck()).contains(T0);
        assertThat(out.decision().reason()).contains("node-2").contains("25% free");
    }

    @Test
    void fifteenPercentFreeAtACheckGrowsToLeaveThirtyPercentFree() {
        ScalingSettings s = settings(4);
        Outcome out = ScalingDecider.decide(view(s, 0.15), checkedAt(T0.minus(Duration.ofHours(1))), T0);

        // 4 GiB at 85 % used is 3.4 GiB; 30 % free of 5 GiB leaves 3.5 GiB: one unit is enough.
        assertThat(out.decision().action()).isEqualTo(Action.GROW);
        assertThat(out.decision().units()).isEqualTo(5);
        assertThat(out.decision().node()).isEqualTo("node-2");
        assertThat(out.decision().emergency()).isFalse();
        assertThat(out.memory().lastStep()).contains(new Step(T0, 4, 5));
        assertThat(out.decision().reason()).contains("4 → 5 units").contains("15% free");
    }

    @Test
    void aNearlyFullVolumeTakesAsManyUnitsAsTheTargetNeeds() {
        ScalingSettings s = settings(1);
        Outcome out = ScalingDecider.decide(view(s, 0.10), Memory.EMPTY, T0);

        // 0.9 GiB used must be at most 70 % of the disk: 1.29 GiB, so two units.
        assertThat(out.decision().action()).isEqualTo(Action.GROW);
        assertThat(out.decision().units()).isEqualTo(2);

        View bigger = new View(
                settings(2),
                List.of(new VolumeUse("node-1", 2 * GIB, 2 * GIB, 2 * GIB - 100 * MIB)),
                Optional.empty(),
                false);
        // 1.9 GiB at 70 % needs 2.71 GiB: three units.
        assertThat(ScalingDecider.decide(bigger, Memory.EMPTY, T0).decision().units())
                .isEqualTo(3);
    }

    @Test
    void underTheTriggerBetweenChecksWaitsForTheNextCheck() {
        Instant lastCheck = T0.minus(Duration.ofMinutes(59));
        Outcome between = ScalingDecider.decide(view(settings(1), 0.15), checkedAt(lastCheck), T0);

        assertThat(between.decision().action()).isEqualTo(Action.HOLD);
        assertThat(between.memory().lastCheck()).contains(lastCheck);
        assertThat(between.decision().reason()).contains("next check").contains("2026-12-04T12:01:00Z");

        Outcome atTheHour =
                ScalingDecider.decide(view(settings(1), 0.15), between.memory(), lastCheck.plus(Duration.ofHours(1)));
        assertThat(atTheHour.decision().action()).isEqualTo(Action.GROW);
        assertThat(atTheHour.memory().lastCheck()).contains(lastCheck.plus(Duration.ofHours(1)));
    }

    @Test
    void underFivePercentBetweenChecksGrowsAtOnce() {
        Outcome out = ScalingDecider.decide(view(settings(1), 0.04), checkedAt(T0.minus(Duration.ofMinutes(10))), T0);

        assertThat(out.decision().action()).isEqualTo(Action.GROW);
        assertThat(out.decision().emergency()).isTrue();
        assertThat(out.decision().reason()).contains("emergency");
    }

    @Test
    void theCooldownHoldsARegularStepButNotAnEmergency() {
        Memory stepped = new Memory(
                Optional.of(T0.minus(Duration.ofHours(1))),
                List.of(),
                Optional.of(new Step(T0.minus(Duration.ofMinutes(30)), 1, 2)));

        Outcome regular = ScalingDecider.decide(view(settings(2), 0.15), stepped, T0);
        assertThat(regular.decision().action()).isEqualTo(Action.HOLD);
        assertThat(regular.decision().reason()).contains("cooldown").contains("2026-12-04T12:30:00Z");

        Outcome emergency = ScalingDecider.decide(view(settings(2), 0.03), stepped, T0);
        assertThat(emergency.decision().action()).isEqualTo(Action.GROW);
        assertThat(emergency.decision().emergency()).isTrue();
    }

    @Test
    void aStepUsedUpWithinOneIntervalDoublesTheNext() {
        ScalingSettings s = ScalingSettings.of(Map.of("units", "4", "cooldown", "30m"));
        Memory recent = new Memory(
                Optional.of(T0.minus(Duration.ofHours(1))),
                List.of(),
                Optional.of(new Step(T0.minus(Duration.ofMinutes(50)), 3, 4)));

        Outcome out = ScalingDecider.decide(view(s, 0.15), recent, T0);

        assertThat(out.decision().units()).isEqualTo(6);
        assertThat(out.decision().reason()).contains("doubled");

        Memory older = new Memory(
                Optional.of(T0.minus(Duration.ofHours(1))),
                List.of(),
                Optional.of(new Step(T0.minus(Duration.ofMinutes(61)), 3, 4)));
        assertThat(ScalingDecider.decide(view(s, 0.15), older, T0).decision().units())
                .isEqualTo(5);
    }

    @Test
    void steadyGrowthTakesTheUnitsTwoIntervalsOfItNeed() {
        ScalingSettings s = settings(4);
        long total = s.disk(4);
        // 1 GiB an hour, sampled every five minutes over the last hour, ending at 85 % used.
        List<Sample> samples = new ArrayList<>();
        long end = Math.round(total * 0.85);
        for (int minutes = 60; minutes >= 5; minutes -= 5) {
            samples.add(new Sample(T0.minus(Duration.ofMinutes(minutes)), end - GIB * minutes / 60));
        }
        Memory memory = new Memory(Optional.of(T0.minus(Duration.ofHours(1))), samples, Optional.empty());
        View v = new View(s, List.of(new VolumeUse("node-1", total, total, end)), Optional.empty(), false);

        Outcome out = ScalingDecider.decide(v, memory, T0);

        // The target alone asks for one unit; two hours at 1 GiB an hour ask for two.
        assertThat(out.decision().units()).isEqualTo(6);
        assertThat(out.decision().reason()).contains("predicted over the next 2h");
    }

    @Test
    void predictedGrowthIsZeroWhenUseFallsOrTooFewSamples() {
        List<Sample> falling = List.of(
                new Sample(T0, 3 * GIB),
                new Sample(T0.plusSeconds(600), 2 * GIB),
                new Sample(T0.plusSeconds(1200), GIB));
        assertThat(ScalingDecider.predictedGrowth(falling, Duration.ofHours(2))).isZero();
        assertThat(ScalingDecider.predictedGrowth(
                        List.of(new Sample(T0, GIB), new Sample(T0.plusSeconds(60), 2 * GIB)), Duration.ofHours(2)))
                .isZero();
        List<Sample> rising = List.of(
                new Sample(T0, 0), new Sample(T0.plusSeconds(1800), GIB / 2), new Sample(T0.plusSeconds(3600), GIB));
        assertThat(ScalingDecider.predictedGrowth(rising, Duration.ofHours(2))).isEqualTo(2 * GIB);
    }

    @Test
    void samplesAreThinnedAndKeptForOneInterval() {
        Memory memory = Memory.EMPTY;
        for (int seconds = 0; seconds <= 7200; seconds += 15) {
            memory = ScalingDecider.withSample(
                    memory, new Sample(T0.plusSeconds(seconds), seconds), Duration.ofHours(1));
        }
        // One every 150 s (an hour over 24) over the last hour.
        assertThat(memory.samples()).hasSizeBetween(24, 25);
        assertThat(memory.samples().getFirst().at()).isAfterOrEqualTo(T0.plusSeconds(3600));
        assertThat(memory.samples().size()).isLessThanOrEqualTo(ScalingDecider.MAX_SAMPLES);
    }

    @Test
    void theStepIsCappedAtMaxUnits() {
        ScalingSettings s = ScalingSettings.of(Map.of("units", "3", "max_units", "4"));
        View v = new View(
                s, List.of(new VolumeUse("node-1", 3 * GIB, 3 * GIB, 3 * GIB - 10 * MIB)), Optional.empty(), false);

        Outcome out = ScalingDecider.decide(v, Memory.EMPTY, T0);

        assertThat(out.decision().action()).isEqualTo(Action.GROW);
        assertThat(out.decision().units()).isEqualTo(4);
        assertThat(out.decision().reason()).contains("capped at max_units 4");
    }

    @Test
    void atMaxUnitsAFullVolumeIsReportedNotGrown() {
        ScalingSettings s = ScalingSettings.of(Map.of("units", "4", "max_units", "4"));
        Outcome out = ScalingDecider.decide(view(s, 0.03), Memory.EMPTY, T0);

        assertThat(out.decision().action()).isEqualTo(Action.AT_MAXIMUM);
        assertThat(out.decision().units()).isEqualTo(4);
        assertThat(out.decision().reason()).contains("max_units");
        assertThat(out.memory().lastStep()).isEmpty();
    }

    @Test
    void aDiskMaximumReachedIsTheMaximumEvenBelowMaxUnits() {
        ScalingSettings s = ScalingSettings.of(Map.of("units", "2", "disk_max", "2GiB"));
        Outcome out = ScalingDecider.decide(view(s, 0.10), Memory.EMPTY, T0);

        assertThat(out.decision().action()).isEqualTo(Action.AT_MAXIMUM);
        assertThat(out.decision().reason()).contains("disk_max");
    }

    @Test
    void automaticScalingOffHoldsAndSaysHowToScaleByHand() {
        ScalingSettings s = ScalingSettings.of(Map.of("auto", "false"));
        Outcome out = ScalingDecider.decide(view(s, 0.03), Memory.EMPTY, T0);

        assertThat(out.decision().action()).isEqualTo(Action.HOLD);
        assertThat(out.decision().reason()).contains("scaling.auto false");
    }

    @Test
    void aSuspensionHoldsEvenAnEmergency() {
        ScalingSettings s = settings(1);
        View suspended = new View(s, view(s, 0.03).volumes(), Optional.of("a repair is under way"), false);

        Outcome out = ScalingDecider.decide(suspended, Memory.EMPTY, T0);

        assertThat(out.decision().action()).isEqualTo(Action.HOLD);
        assertThat(out.decision().reason()).contains("a repair is under way");
    }

    @Test
    void aStepBeingAppliedHoldsTheNext() {
        ScalingSettings s = settings(1);
        View applying = new View(s, view(s, 0.03).volumes(), Optional.empty(), true);

        Outcome out = ScalingDecider.decide(applying, Memory.EMPTY, T0);

        assertThat(out.decision().action()).isEqualTo(Action.HOLD);
        assertThat(out.decision().reason()).contains("being applied");
        assertThat(out.memory().samples()).hasSize(1);
    }

    @Test
    void noVolumesHolds() {
        Outcome out =
                ScalingDecider.decide(new View(settings(1), List.of(), Optional.empty(), false), Memory.EMPTY, T0);

        assertThat(out.decision().action()).isEqualTo(Action.HOLD);
        assertThat(out.memory()).isEqualTo(Memory.EMPTY);
    }

    @Test
    void theFilesystemsOwnReserveCountsAgainstTheUnits() {
        // ext4 keeps ~5 % of a small image for itself: 1 GiB provisioned offers 0.95 GiB.
        ScalingSettings s = settings(1);
        long offered = Math.round(GIB * 0.95);
        View v = new View(
                s, List.of(new VolumeUse("node-1", GIB, offered, Math.round(offered * 0.81))), Optional.empty(), false);

        Outcome out = ScalingDecider.decide(v, Memory.EMPTY, T0);

        // 0.77 GiB used at 70 % needs 1.1 GiB offered, 1.16 GiB provisioned: two units.
        assertThat(out.decision().units()).isEqualTo(2);
    }
}
