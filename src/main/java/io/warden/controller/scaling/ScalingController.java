package io.warden.controller.scaling;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.cluster.MemoryParameters;
import io.warden.cluster.ScalingSettings;
import io.warden.cluster.Switchover;
import io.warden.common.Json;
import io.warden.common.Units;
import io.warden.controller.ControlEvent;
import io.warden.controller.EventLog;
import io.warden.controller.scaling.ScalingDecider.Action;
import io.warden.controller.scaling.ScalingDecider.Decision;
import io.warden.controller.scaling.ScalingDecider.Memory;
import io.warden.controller.scaling.ScalingPlan.NodeStep;
import io.warden.controller.scaling.ScalingPlan.Step;
import io.warden.dcs.ControlStore;
import io.warden.dcs.Dcs;
import io.warden.runtime.Container;
import io.warden.runtime.ResourceLimits;
import io.warden.runtime.Runtime;
import io.warden.runtime.Runtime.VolumeGrowth;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scaling rounds of the leading controller: it samples the members' volumes, asks {@link ScalingDecider} whether
 * the cluster needs more units, records a step by raising {@code scaling.units} in the cluster config, and applies
 * what the units imply to every member through the {@link Runtime}, one recorded step at a time
 * ({@link ScalingPlan}). The same path brings up to size a member that has less than the units imply, whoever set
 * them: {@code edit-config --set scaling.units=N}, or a controller that died half way. It never shrinks anything.
 *
 * <p>No scaling step starts while a repair is under way, the cluster is paused or a switchover runs; the repair
 * round in turn starts nothing while a scaling plan is recorded.
 */
public final class ScalingController {
    private static final Logger LOG = LoggerFactory.getLogger(ScalingController.class);

    /** The plan under the control prefix. */
    public static final String PLAN = "scaling";

    /** What the decider remembers (its last check, samples, last step). */
    static final String MEMORY = "scaling-memory";

    /** The repair controller's plan: none of ours starts beside it. */
    static final String REPAIR_PLAN = "repair";

    /** How long a member stopped and started again may take to stream before the change is given up. */
    static final Duration RESTART_LIMIT = Duration.ofMinutes(5);

    /** How long a requested switchover may take before it is requested again. */
    static final Duration SWITCHOVER_LIMIT = Duration.ofSeconds(60);

    private final Dcs dcs;
    private final ControlStore store;
    private final Runtime runtime;

    private Instant lastSample = Instant.MIN;
    private Decision lastDecision = new Decision(Action.HOLD, 0, false, "", "no sample yet");
    private String lastGist = "";
    private final Set<String> warned = new HashSet<>();
    private long steps;
    private long fencedAt;

    public ScalingController(Dcs dcs, ControlStore store, Runtime runtime) {
        this.dcs = Objects.requireNonNull(dcs, "dcs is null");
        this.store = Objects.requireNonNull(store, "store is null");
        this.runtime = Objects.requireNonNull(runtime, "runtime is null");
    }

    /** What one round saw and did, for the controller's status. */
    public record Round(Decision decision, Optional<ScalingPlan> plan) {}

    /** The steps this controller decided (for its metrics). */
    public long steps() {
        return steps;
    }

    /**
     * One round under the leadership taken at {@code epoch}. Throws when the DCS or the runtime fails; the caller
     * logs it and runs the next round.
     */
    public Round round(long epoch, Instant now) {
        ClusterSnapshot cluster = dcs.read();
        ControlStore.Snapshot control = store.read();
        List<ControlEvent> events = new ArrayList<>();
        if (control.leader().map(l -> l.epoch() != epoch).orElse(true)) {
            return new Round(
                    new Decision(Action.HOLD, 0, false, "", "this controller no longer leads: it scales nothing"),
                    plan(control));
        }
        ScalingSettings settings = cluster.config().scalingSettings();
        Optional<String> planText = control.text(PLAN);
        Optional<ScalingPlan> plan = planText.flatMap(ScalingController::parsePlan);
        if (planText.isPresent() && plan.isEmpty()) {
            Decision held = new Decision(
                    Action.HOLD,
                    settings.units(),
                    false,
                    "",
                    "the scaling plan under /warden-control/.../scaling cannot be read; no scaling until it is"
                            + " deleted (etcdctl del) or rewritten by the version that wrote it");
            logDecision(held, events, now);
            EventLog.append(store, epoch, store.read(), events);
            return new Round(held, Optional.empty());
        }
        if (fencedAt != epoch) {
            // As the repair round does: from here on no controller of an older epoch acts through the runtime.
            runtime.fence(epoch);
            fencedAt = epoch;
        }
        List<Container> containers = runtime.containers();
        Memory memory = control.text(MEMORY).flatMap(StoredMemory::parse).orElse(Memory.EMPTY);
        Optional<String> suspended = suspension(cluster, control);
        if (!now.isBefore(lastSample.plus(settings.sample()))) {
            lastSample = now;
            ScalingDecider.Outcome outcome = ScalingDecider.decide(
                    new ScalingDecider.View(settings, volumes(cluster, containers), suspended, plan.isPresent()),
                    memory,
                    now);
            lastDecision = outcome.decision();
            logDecision(outcome.decision(), events, now);
            Memory next = outcome.memory();
            if (plan.isEmpty() && outcome.decision().action() == Action.GROW) {
                if (!raiseUnits(cluster, outcome.decision().units())) {
                    // Someone changed the config meanwhile: the next sample decides on what they wrote.
                    next = memory;
                } else {
                    steps++;
                    ScalingSettings raised =
                            settings.withUnits(outcome.decision().units());
                    plan = record(
                            epoch,
                            newPlan(
                                    epoch,
                                    settings.units(),
                                    raised,
                                    outcome.decision().reason(),
                                    now));
                    plan.ifPresent(p -> events.add(event(
                            now,
                            "scale",
                            "",
                            "units " + p.from() + " → " + p.to() + ": every member to "
                                    + Units.bytesText(p.diskBytes()) + " of disk, "
                                    + Units.bytesText(p.memoryBytes()) + " of memory, " + p.cpuMillis()
                                    + "m of CPU (" + outcome.decision().reason() + ")")));
                }
            } else if (outcome.decision().action() == Action.AT_MAXIMUM) {
                warnOnce("maximum", outcome.decision().reason(), events, now);
            }
            String text = StoredMemory.text(next);
            if (!control.text(MEMORY).orElse("").equals(text)) {
                store.put(epoch, MEMORY, text);
            }
        }
        if (plan.isEmpty() && suspended.isEmpty()) {
            List<String> short_ = shortOf(settings, containers);
            if (!short_.isEmpty()) {
                plan = record(
                        epoch,
                        newPlan(
                                epoch,
                                settings.units(),
                                settings,
                                String.join("; ", short_) + ": brought up to the " + settings.units() + " units set",
                                now));
                plan.ifPresent(p -> events.add(
                        event(now, "scale", "", "bringing members up to " + p.to() + " units: " + p.reason())));
            }
        }
        if (plan.isPresent()) {
            advance(epoch, plan.get(), cluster, containers, events, now);
        }
        EventLog.append(store, epoch, store.read(), events);
        return new Round(lastDecision, plan(store.read()));
    }

    /** Why no step may start now; empty when one may. */
    static Optional<String> suspension(ClusterSnapshot cluster, ControlStore.Snapshot control) {
        if (control.text(REPAIR_PLAN).isPresent()) {
            return Optional.of("a repair is under way");
        }
        if (cluster.config().pause()) {
            return Optional.of("the cluster is paused (maintenance mode)");
        }
        if (cluster.switchover().isPresent()) {
            return Optional.of("a switchover is under way");
        }
        if (cluster.leader().isEmpty()) {
            return Optional.of("the cluster has no leader");
        }
        return Optional.empty();
    }

    /** The volumes of the running members that have one. */
    private List<ScalingDecider.VolumeUse> volumes(ClusterSnapshot cluster, List<Container> containers) {
        List<ScalingDecider.VolumeUse> volumes = new ArrayList<>();
        for (Container c : containers) {
            if (c.state() != Container.State.RUNNING || !cluster.members().containsKey(c.name())) {
                continue;
            }
            runtime.volumeUsage(c.name())
                    .filter(u -> u.totalBytes() > 0)
                    .ifPresent(u -> volumes.add(new ScalingDecider.VolumeUse(
                            c.name(), u.provisionedBytes(), u.totalBytes(), u.usedBytes())));
        }
        return volumes;
    }

    /** The members with less than {@code settings} imply, each as a sentence; limits of 0 (none) are left alone. */
    static List<String> shortOf(ScalingSettings settings, List<Container> containers) {
        int units = settings.units();
        List<String> short_ = new ArrayList<>();
        for (Container c : containers) {
            List<String> what = new ArrayList<>();
            if (c.volumeBytes() > 0 && c.volumeBytes() < settings.disk(units)) {
                what.add(Units.bytesText(c.volumeBytes()) + " of disk");
            }
            if (c.limits().memoryBytes() > 0 && c.limits().memoryBytes() < settings.memory(units)) {
                what.add(Units.bytesText(c.limits().memoryBytes()) + " of memory");
            }
            if (c.limits().cpuMillis() > 0 && c.limits().cpuMillis() < settings.cpu(units)) {
                what.add(c.limits().cpuMillis() + "m of CPU");
            }
            if (!what.isEmpty()) {
                short_.add(c.name() + " has " + String.join(", ", what));
            }
        }
        return short_;
    }

    private static ScalingPlan newPlan(long epoch, int from, ScalingSettings after, String reason, Instant now) {
        int to = after.units();
        return new ScalingPlan(
                UUID.randomUUID().toString(),
                epoch,
                from,
                to,
                reason,
                after.disk(to),
                after.memory(to),
                after.cpu(to),
                Step.LIMITS,
                "",
                NodeStep.NONE,
                List.of(),
                now.toString(),
                now.toString(),
                false);
    }

    /** Raises {@code scaling.units} in the cluster config, only if it is as read; false when it changed meanwhile. */
    private boolean raiseUnits(ClusterSnapshot cluster, int units) {
        Map<String, String> scaling = new LinkedHashMap<>(cluster.config().scaling());
        scaling.put(ScalingSettings.UNITS, Integer.toString(units));
        return dcs.compareAndSetConfig(
                cluster.configRevision(), cluster.config().withScaling(scaling));
    }

    /** Runs the step {@code plan} is at; each action is recorded before it starts when it cannot be undone. */
    private void advance(
            long epoch,
            ScalingPlan plan,
            ClusterSnapshot cluster,
            List<Container> containers,
            List<ControlEvent> events,
            Instant now) {
        switch (plan.step()) {
            case LIMITS -> {
                boolean restart = plan.restart();
                for (Container c : containers) {
                    if (c.limits().memoryBytes() == 0 && c.limits().cpuMillis() == 0) {
                        continue;
                    }
                    ResourceLimits raised = new ResourceLimits(
                            Math.max(c.limits().cpuMillis(), plan.cpuMillis()),
                            Math.max(c.limits().memoryBytes(), plan.memoryBytes()),
                            c.limits().pids());
                    if (!raised.equals(c.limits())) {
                        if (!leads(epoch)) {
                            return;
                        }
                        runtime.resize(c.name(), raised);
                        restart |= !cluster.config().parameters().containsKey("shared_buffers")
                                && MemoryParameters.restartBetween(c.limits().memoryBytes(), raised.memoryBytes());
                        events.add(event(
                                now,
                                "step",
                                c.name(),
                                c.name() + ": limits raised to " + raised.cpuMillis() + "m of CPU and "
                                        + Units.bytesText(raised.memoryBytes()) + " of memory, while it runs"));
                    }
                }
                if (restart) {
                    events.add(event(
                            now,
                            "step",
                            "",
                            "shared_buffers changes with the memory: every member restarts, one at a time"));
                }
                record(epoch, plan.restarting(restart).at(Step.VOLUMES, now));
            }
            case VOLUMES -> volumes(epoch, plan, cluster, containers, events, now);
        }
    }

    private void volumes(
            long epoch,
            ScalingPlan plan,
            ClusterSnapshot cluster,
            List<Container> containers,
            List<ControlEvent> events,
            Instant now) {
        Optional<Container> member = plan.node().isEmpty()
                ? next(plan, cluster, containers)
                : containers.stream().filter(c -> c.name().equals(plan.node())).findFirst();
        if (member.isEmpty()) {
            if (!plan.node().isEmpty()) {
                // Removed meanwhile (a repair cannot run beside us; an operator did it): the others go on.
                record(epoch, plan.grown(plan.node(), now));
                return;
            }
            if (store.delete(epoch, PLAN)) {
                events.add(event(
                        now,
                        "done",
                        "",
                        "scaled to " + plan.to() + " units in "
                                + Units.format(Duration.between(plan.startInstant(), now)) + ": every member has "
                                + Units.bytesText(plan.diskBytes()) + " of disk"));
            }
            return;
        }
        Container c = member.get();
        String name = c.name();
        if (cluster.config().pause() && plan.nodeStep() == NodeStep.NONE) {
            warnOnce(plan.id() + "paused", "the scaling change waits: the cluster is paused", events, now);
            return;
        }
        switch (plan.nodeStep()) {
            case NONE -> {
                if (c.state() != Container.State.RUNNING) {
                    // Stopped by someone else: it grows now and starts as they left it.
                    VolumeGrowth grown = grow(epoch, name, plan.diskBytes());
                    events.add(event(now, "step", name, grown.detail()));
                    record(epoch, plan.grown(name, now));
                    return;
                }
                if (cluster.switchover().isPresent()) {
                    return;
                }
                VolumeGrowth grown = grow(epoch, name, plan.diskBytes());
                Member published = cluster.members().get(name);
                boolean restart = plan.restart() || published != null && published.pendingRestart();
                if (grown.how() != VolumeGrowth.How.NEEDS_STOP && !restart) {
                    events.add(event(now, "step", name, grown.detail()));
                    record(epoch, plan.grown(name, now));
                    return;
                }
                if (grown.how() == VolumeGrowth.How.NEEDS_STOP) {
                    warnOnce("offline", grown.detail(), events, now);
                } else {
                    warnOnce(
                            plan.id() + name + "restart",
                            grown.detail() + "; it restarts for shared_buffers (or a pending restart)",
                            events,
                            now);
                }
                if (cluster.isLeader(name)) {
                    Optional<Member> candidate = candidate(cluster, name);
                    if (candidate.isEmpty()) {
                        warnOnce(
                                plan.id() + "candidate",
                                name + " leads and no replica streams to take over from it: its volume waits",
                                events,
                                now);
                        return;
                    }
                    if (record(epoch, plan.on(name, NodeStep.SWITCHING_OVER, now))
                                    .isPresent()
                            && dcs.requestSwitchover(
                                    new Switchover(name, candidate.get().name(), now.toString()), SWITCHOVER_LIMIT)) {
                        events.add(event(
                                now,
                                "step",
                                name,
                                name + " leads: switching over to "
                                        + candidate.get().name() + " before its volume grows"));
                    }
                    return;
                }
                Optional<String> unhealthy = othersUnhealthy(cluster, name);
                if (unhealthy.isPresent()) {
                    warnOnce(
                            plan.id() + name + "wait",
                            name + " waits to be stopped for its volume: " + unhealthy.get(),
                            events,
                            now);
                    return;
                }
                if (record(epoch, plan.on(name, NodeStep.STOPPED, now)).isPresent() && leads(epoch)) {
                    runtime.stop(name);
                    events.add(event(now, "step", name, name + ": stopped for its volume to grow"));
                }
            }
            case SWITCHING_OVER -> {
                if (cluster.leader().isPresent() && !cluster.isLeader(name)) {
                    events.add(event(
                            now,
                            "step",
                            name,
                            name + " no longer leads (" + cluster.leader().get().name() + " does)"));
                    record(epoch, plan.on(name, NodeStep.NONE, now));
                } else if (!now.isBefore(plan.stepInstant().plus(SWITCHOVER_LIMIT))) {
                    warnOnce(
                            plan.id() + "switchover",
                            "the switchover away from " + name + " did not happen within "
                                    + Units.format(SWITCHOVER_LIMIT) + "; asking again",
                            events,
                            now);
                    record(epoch, plan.on(name, NodeStep.NONE, now));
                }
            }
            case STOPPED -> {
                if (!leads(epoch)) {
                    return;
                }
                if (c.state() == Container.State.RUNNING) {
                    // A stop cut short by a crash of the controller before it finished.
                    runtime.stop(name);
                }
                VolumeGrowth grown = grow(epoch, name, plan.diskBytes());
                events.add(event(now, "step", name, grown.detail()));
                runtime.start(name);
                record(epoch, plan.on(name, NodeStep.STARTED, now));
            }
            case STARTED -> {
                Member m = cluster.members().get(name);
                if (m != null && well(cluster, m) && c.state() == Container.State.RUNNING) {
                    events.add(event(now, "step", name, name + " is back and streams on its larger volume"));
                    record(epoch, plan.grown(name, now));
                } else if (!now.isBefore(plan.stepInstant().plus(RESTART_LIMIT))) {
                    // Give up the change rather than hold every repair back: the repair controller judges it now.
                    if (store.delete(epoch, PLAN)) {
                        events.add(event(
                                now,
                                "failure",
                                name,
                                name + " did not stream within " + Units.format(RESTART_LIMIT) + " of its restart"
                                        + " on its grown volume; the scaling change stops here (its limits are raised,"
                                        + " members " + plan.done() + " grown) and the repair controller judges "
                                        + name));
                    }
                }
            }
        }
    }

    /** The next member whose volume is to grow: replicas first (by name), the leader last. */
    private static Optional<Container> next(ScalingPlan plan, ClusterSnapshot cluster, List<Container> containers) {
        return containers.stream()
                .filter(c -> c.volumeBytes() > 0 && !plan.done().contains(c.name()))
                .min(Comparator.comparing((Container c) -> cluster.isLeader(c.name()))
                        .thenComparing(Container::name));
    }

    private VolumeGrowth grow(long epoch, String name, long bytes) {
        if (!leads(epoch)) {
            throw new IllegalStateException("this controller no longer leads (epoch " + epoch + ")");
        }
        return runtime.growVolume(name, bytes);
    }

    /** The streaming replica most up to date that may be promoted. */
    private static Optional<Member> candidate(ClusterSnapshot cluster, String leader) {
        return cluster.members().values().stream()
                .filter(m -> !m.name().equals(leader)
                        && m.isStreamingReplica()
                        && !m.tags().nofailover())
                .max(Comparator.comparing(Member::position));
    }

    /** Why stopping {@code name} now would leave the cluster short, if it would: every other member must be well. */
    private static Optional<String> othersUnhealthy(ClusterSnapshot cluster, String name) {
        for (Member m : cluster.members().values()) {
            if (m.name().equals(name)) {
                continue;
            }
            if (!well(cluster, m)) {
                return Optional.of(m.name() + " is " + m.state().toString().toLowerCase(java.util.Locale.ROOT));
            }
        }
        return Optional.empty();
    }

    /** A member that serves as it should: the leader running as primary, any other streaming from it. */
    private static boolean well(ClusterSnapshot cluster, Member m) {
        return cluster.isLeader(m.name()) ? m.state() == io.warden.cluster.MemberState.RUNNING : m.isStreamingReplica();
    }

    private boolean leads(long epoch) {
        boolean leads = store.read().leader().map(l -> l.epoch() == epoch).orElse(false);
        if (!leads) {
            LOG.warn("not acting: this controller's leadership (epoch {}) is over", epoch);
        }
        return leads;
    }

    private Optional<ScalingPlan> record(long epoch, ScalingPlan plan) {
        if (!store.put(epoch, PLAN, Json.write(plan))) {
            LOG.warn("not recording the scaling plan: this controller no longer leads");
            return Optional.empty();
        }
        return Optional.of(plan);
    }

    private void logDecision(Decision decision, List<ControlEvent> events, Instant now) {
        // A hold is news only when the action before it was another: the fullest member and its figures change at
        // every sample, and a log full of them would push the repairs' events out of the bounded log.
        String gist = decision.action() == Action.HOLD
                ? "HOLD"
                : decision.action() + " " + decision.reason().replaceAll("\\d+", "#");
        if (!gist.equals(lastGist)) {
            lastGist = gist;
            events.add(event(now, "decision", "", "scaling: " + decision.reason()));
        }
    }

    private void warnOnce(String key, String message, List<ControlEvent> events, Instant now) {
        if (warned.add(key + " " + message.replaceAll("\\d+", "#"))) {
            events.add(event(now, "warning", "", message));
        }
    }

    private static ControlEvent event(Instant at, String kind, String node, String message) {
        return new ControlEvent(at.toString(), kind, node, message);
    }

    /** The scaling change under way as stored, if any and readable. */
    public static Optional<ScalingPlan> plan(ControlStore.Snapshot control) {
        return control.text(PLAN).flatMap(ScalingController::parsePlan);
    }

    private static Optional<ScalingPlan> parsePlan(String text) {
        try {
            return Optional.of(Json.wire().readValue(text, ScalingPlan.class));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** {@link Memory} as stored: instants as text ("at@bytes" samples, "at@from@to" step). */
    record StoredMemory(String lastCheck, List<String> samples, String lastStep) {
        static String text(Memory memory) {
            return Json.write(new StoredMemory(
                    memory.lastCheck().map(Instant::toString).orElse(""),
                    memory.samples().stream()
                            .map(s -> s.at() + "@" + s.usedBytes())
                            .toList(),
                    memory.lastStep()
                            .map(s -> s.at() + "@" + s.from() + "@" + s.to())
                            .orElse("")));
        }

        /** The memory stored; empty when it cannot be read (the next round starts afresh, and checks at once). */
        static Optional<Memory> parse(String text) {
            try {
                StoredMemory stored = Json.wire().readValue(text, StoredMemory.class);
                List<ScalingDecider.Sample> samples = new ArrayList<>();
                for (String s : stored.samples() == null ? List.<String>of() : stored.samples()) {
                    String[] parts = s.split("@", 2);
                    samples.add(new ScalingDecider.Sample(Instant.parse(parts[0]), Long.parseLong(parts[1])));
                }
                Optional<ScalingDecider.Step> step = Optional.empty();
                if (stored.lastStep() != null && !stored.lastStep().isEmpty()) {
                    String[] parts = stored.lastStep().split("@", 3);
                    step = Optional.of(new ScalingDecider.Step(
                            Instant.parse(parts[0]), Integer.parseInt(parts[1]), Integer.parseInt(parts[2])));
                }
                return Optional.of(new Memory(
                        stored.lastCheck() == null || stored.lastCheck().isEmpty()
                                ? Optional.empty()
                                : Optional.of(Instant.parse(stored.lastCheck())),
                        samples,
                        step));
            } catch (IOException | RuntimeException e) {
                return Optional.empty();
            }
        }
    }
}
