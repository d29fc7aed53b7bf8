package io.warden.controller.repair;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.Member;
import io.warden.cluster.RepairSettings;
import io.warden.common.Json;
import io.warden.controller.ControlEvent;
import io.warden.controller.EventLog;
import io.warden.controller.repair.RepairDecider.Abnormality;
import io.warden.controller.repair.RepairDecider.Action;
import io.warden.controller.repair.RepairDecider.Decision;
import io.warden.controller.repair.RepairDecider.Memory;
import io.warden.controller.repair.RepairDecider.Outcome;
import io.warden.controller.repair.RepairDecider.Policy;
import io.warden.controller.repair.RepairPlan.Step;
import io.warden.dcs.ControlStore;
import io.warden.dcs.Dcs;
import io.warden.runtime.Container;
import io.warden.runtime.Host;
import io.warden.runtime.QuarantinedVolume;
import io.warden.runtime.ResourceLimits;
import io.warden.runtime.Runtime;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The repair controller's round, run by the controller that leads ({@link #round} with its epoch): it reads the
 * cluster, the runtime and its own durable state, asks {@link RepairDecider} what to do, and moves the repair under
 * way one step forward ({@link RepairPlan.Step}). Every step is recorded by a write that holds only while this
 * controller still leads, and every step is safe to run twice: a controller killed anywhere leaves a plan and
 * labelled containers from which its successor goes on, or rolls back.
 *
 * <p>It acts only through the {@link Runtime} and the {@link Dcs}: it never touches a process, a file or postgres.
 */
public final class RepairController {
    private static final Logger LOG = LoggerFactory.getLogger(RepairController.class);

    /** Keys under the control prefix. */
    static final String PLAN = "repair";

    static final String MEMORY = "memory";
    static final String EVENTS = EventLog.KEY;

    /** The scaling controller's plan (controller.scaling.ScalingController.PLAN). */
    static final String SCALING_PLAN = "scaling";

    /** The label a replacement carries while its repair runs: the repair's id. */
    public static final String REPAIR_LABEL = "repair";

    /** The label with the epoch of the controller that made a container. */
    public static final String EPOCH_LABEL = "epoch";

    /** The label a finished replacement keeps: the node it replaced. */
    public static final String REPLACED_LABEL = "replaced";

    /** The event log keeps this many entries, newest last. */
    static final int EVENT_LIMIT = EventLog.LIMIT;

    /** A replacement gets its volume as large as the node it replaces, or this when that is unknown. */
    private static final long DEFAULT_VOLUME_BYTES = 512L << 20;

    private final Dcs dcs;
    private final ControlStore store;
    private final Runtime runtime;

    /** The last decision sentence logged (with its figures stripped), so a held repair is logged once, not each round. */
    private String lastDecision = "";

    /** The epoch the last round ran under, to log a new leadership once. */
    private long ledAt;

    /** The epoch this controller last fenced the runtime with. */
    private long fencedAt;

    private long repairsDone;
    private long repairsFailed;
    private long repairsCancelled;

    /**
     * Measures how far into a round each event and step happened: a round that creates a replacement and lets it
     * clone runs for many seconds, and each step's time is when it was done, not when the round began. Empty: every
     * step of a round carries the round's instant (the unit tests, which pass literal times).
     */
    private final Optional<io.warden.common.Clock> elapsed;

    private long roundStartNanos;
    private Instant roundStart = Instant.EPOCH;

    public RepairController(Dcs dcs, ControlStore store, Runtime runtime) {
        this(dcs, store, runtime, Optional.empty());
    }

    public RepairController(Dcs dcs, ControlStore store, Runtime runtime, Optional<io.warden.common.Clock> elapsed) {
        this.dcs = Objects.requireNonNull(dcs, "dcs is null");
        this.store = Objects.requireNonNull(store, "store is null");
        this.runtime = Objects.requireNonNull(runtime, "runtime is null");
        this.elapsed = Objects.requireNonNull(elapsed, "elapsed is null");
    }

    /** The round's instant plus the time the round has run so far (the round's instant alone without a clock). */
    private Instant sinceRoundStart() {
        return elapsed.map(c -> roundStart.plusNanos(Math.max(0, c.nanoTime() - roundStartNanos)))
                .orElse(roundStart);
    }

    /** What one round saw and did, for the controller's status and its log. */
    public record Round(Decision decision, Optional<RepairPlan> plan, List<ControlEvent> events) {}

    /**
     * One round under the leadership taken at {@code epoch}. Throws when the DCS or the runtime fails; the caller
     * logs it and runs the next round (every step is idempotent, so a round cut short is simply run again).
     */
    public Round round(long epoch, Instant now) {
        roundStart = now;
        roundStartNanos = elapsed.map(io.warden.common.Clock::nanoTime).orElse(0L);
        ClusterSnapshot cluster = dcs.read();
        ControlStore.Snapshot control = store.read();
        List<ControlEvent> events = new ArrayList<>();
        if (control.leader().map(l -> l.epoch() != epoch).orElse(true)) {
            // The runtime's actions are not guarded by etcd as the plan's writes are: a controller that no longer
            // leads must not even start one.
            return new Round(
                    new Decision(
                            Action.HOLD,
                            "",
                            Optional.empty(),
                            "this controller no longer leads (epoch " + epoch + " is over): it acts on nothing"),
                    RepairController.plan(control),
                    List.of());
        }
        Optional<String> planText = control.text(PLAN);
        final Optional<RepairPlan> plan = planText.flatMap(RepairController::parsePlan);
        if (planText.isPresent() && plan.isEmpty()) {
            // A plan another version wrote, or a hand edit: acting around it could start a second repair beside it.
            Decision held = new Decision(
                    Action.HOLD,
                    "",
                    Optional.empty(),
                    "the repair plan under /warden-control/.../repair cannot be read; no repair until it is"
                            + " deleted (etcdctl del) or rewritten by the version that wrote it");
            logDecision(held, events, now);
            return new Round(held, Optional.empty(), publish(epoch, control, events));
        }
        if (epoch != ledAt) {
            ledAt = epoch;
            events.add(event(
                    now,
                    "leader",
                    "",
                    control.leader().map(ControlStore.Leadership::holder).orElse("this controller")
                            + " leads (epoch " + epoch + ")"
                            + plan.map(p -> "; going on with the repair of " + p.node() + " from " + p.step())
                                    .orElse("")));
        }
        Memory memory = control.text(MEMORY).flatMap(StoredMemory::parse).orElse(Memory.EMPTY);
        if (fencedAt != epoch) {
            // Before this leadership's first action: from here on no controller of an older epoch acts through the
            // runtime, even one that stalled between its check and its action.
            runtime.fence(epoch);
            fencedAt = epoch;
        }
        if (leads(epoch)) {
            // A create or remove whose process died half way (a controller, the CLI) is finished or undone first, so
            // no reserved host or half-made volume outlives it.
            try {
                runtime.resolveIntents().forEach(done -> events.add(event(now, "cleanup", "", done)));
            } catch (RuntimeException e) {
                // One that cannot be finished now (a volume still busy) must not hold back every repair.
                warnOnce("intents", "cannot resolve an unfinished intent yet: " + e.getMessage(), events, now);
            }
        }
        // A scaling change stops and grows members one at a time: none of that is abnormal, and no repair starts
        // beside it.
        boolean scaling = control.text(SCALING_PLAN).isPresent();
        removeOrphans(epoch, plan, runtime.containers(), events, now);
        List<Container> containers = runtime.containers();
        List<Host> hosts = runtime.hosts();

        List<String> nodes = containers.stream()
                .map(Container::name)
                .filter(name -> plan.map(p -> !p.replacement().equals(name)).orElse(true))
                .toList();
        RepairDecider.View view = new RepairDecider.View(
                cluster,
                nodes,
                containers,
                hosts,
                plan.map(RepairPlan::node),
                scaling,
                plan.map(RepairPlan::abnormality));
        Outcome outcome = RepairDecider.decide(view, memory, Policy.of(cluster.config()), now);
        Decision decision = outcome.decision();
        Memory next = outcome.memory();
        logDecision(decision, events, now);

        Optional<String> suspended = RepairDecider.suspension(cluster, scaling);
        if (plan.isPresent()) {
            RepairPlan current = plan.get();
            if (decision.action() == Action.CANCEL && current.step().cancellable()) {
                rollBack(epoch, current, "cancelled: " + decision.reason(), events, now);
                repairsCancelled++;
            } else if (suspended.isPresent() && current.step().cancellable()) {
                // The old node is untouched: calling the repair off leaves the cluster as the operator left it.
                rollBack(epoch, current, "cancelled: " + suspended.get(), events, now);
                repairsCancelled++;
            } else if (suspended.isPresent()) {
                // Past the point of no return the old node is stopped or detached: the repair waits, as it is.
                logDecision(
                        new Decision(
                                Action.HOLD,
                                current.node(),
                                Optional.of(current.abnormality()),
                                "the repair of " + current.node() + " waits at " + current.step() + ": "
                                        + suspended.get()),
                        events,
                        now);
            } else {
                next = advanceWhileDone(epoch, current, cluster, containers, hosts, next, events, now);
            }
        } else if (decision.action() == Action.REPLACE) {
            RepairDecider.Inheritance inherited = RepairDecider.inheritance(decision.node(), next);
            RepairPlan planned = new RepairPlan(
                    UUID.randomUUID().toString(),
                    epoch,
                    decision.node(),
                    decision.abnormality().orElseThrow(),
                    decision.reason(),
                    Step.PLANNED,
                    "",
                    now.toString(),
                    now.toString(),
                    inherited.tags(),
                    inherited.quarantine().orElse(""));
            if (record(epoch, planned)) {
                next = next.repairBegan(now);
                events.add(event(
                        now,
                        "step",
                        planned.node(),
                        planned.node() + ": planned its replacement"
                                + inherited
                                        .quarantine()
                                        .map(why -> "; its volume will be kept (quarantined): " + why)
                                        .orElse("")));
                next = advanceWhileDone(epoch, planned, cluster, containers, hosts, next, events, now);
            }
        }
        expireQuarantine(epoch, now, events);
        String memoryText = StoredMemory.text(next);
        if (!control.text(MEMORY).orElse("").equals(memoryText)) {
            store.put(epoch, MEMORY, memoryText);
        }
        Optional<RepairPlan> after = store.read().text(PLAN).flatMap(RepairController::parsePlan);
        return new Round(decision, after, publish(epoch, control, events));
    }

    /**
     * Runs the step {@code plan} is at, and the next ones at once while they complete: only a step that waits for
     * the cluster (a clone, a detach the primary has yet to see) costs a round. Each step is recorded before the
     * next begins, and each reads the cluster and the runtime afresh.
     */
    private Memory advanceWhileDone(
            long epoch,
            RepairPlan plan,
            ClusterSnapshot cluster,
            List<Container> containers,
            List<Host> hosts,
            Memory memory,
            List<ControlEvent> events,
            Instant now) {
        RepairPlan current = plan;
        Memory kept = advance(epoch, current, cluster, containers, hosts, memory, events, now);
        for (int i = 0; i < Step.values().length; i++) {
            Optional<RepairPlan> stored = RepairController.plan(store.read());
            if (stored.isEmpty()
                    || !stored.get().id().equals(current.id())
                    || stored.get().step() == current.step()) {
                break;
            }
            current = stored.get();
            ClusterSnapshot fresh = dcs.read();
            if (RepairDecider.suspension(fresh, store.read().text(SCALING_PLAN).isPresent())
                    .isPresent()) {
                // Paused (or a switchover began) during this round: the next round rolls back or waits.
                break;
            }
            kept = advance(
                    epoch, current, fresh, runtime.containers(), runtime.hosts(), kept, events, sinceRoundStart());
        }
        return kept;
    }

    /** Runs the step {@code plan} is at; returns the memory to keep (changed when the repair ends). */
    private Memory advance(
            long epoch,
            RepairPlan plan,
            ClusterSnapshot cluster,
            List<Container> containers,
            List<Host> hosts,
            Memory memory,
            List<ControlEvent> events,
            Instant now) {
        Policy policy = Policy.of(cluster.config());
        Optional<Container> replacement = plan.replacement().isEmpty()
                ? containers.stream()
                        .filter(c -> plan.id().equals(c.labels().get(REPAIR_LABEL)))
                        .findFirst()
                : find(containers, plan.replacement());
        Optional<Container> old = find(containers, plan.node());
        switch (plan.step()) {
            case PLANNED -> {
                if (replacement.isPresent()) {
                    // Made by a controller that died before it could record it: adopt it.
                    if (record(epoch, plan.created(replacement.get().name(), now))) {
                        events.add(event(
                                now,
                                "step",
                                plan.node(),
                                "adopted " + replacement.get().name()
                                        + ", made for this repair before the last controller stopped"));
                    }
                    return memory;
                }
                if (!leads(epoch)) {
                    return memory;
                }
                Container made;
                try {
                    made = runtime.create(new Runtime.ContainerSpec(
                            Optional.empty(),
                            old.map(Container::limits).orElse(ResourceLimits.NONE),
                            old.map(Container::volumeBytes)
                                    .filter(bytes -> bytes > 0)
                                    .orElse(DEFAULT_VOLUME_BYTES),
                            Map.of(REPAIR_LABEL, plan.id(), EPOCH_LABEL, Long.toString(epoch)),
                            plan.tags()));
                } catch (RuntimeException e) {
                    return fail(epoch, plan, memory, "cannot make its replacement: " + e.getMessage(), events, now);
                }
                if (record(epoch, plan.created(made.name(), now))) {
                    events.add(event(
                            now,
                            "step",
                            plan.node(),
                            plan.node() + ": " + plan.abnormality() + " → replacing" + " it with " + made.name()
                                    + " on " + made.host()));
                }
            }
            case CREATED -> {
                if (replacement.isEmpty()) {
                    return fail(epoch, plan, memory, plan.replacement() + " is gone before it started", events, now);
                }
                try {
                    if (replacement.get().state() != Container.State.RUNNING && leads(epoch)) {
                        runtime.start(plan.replacement());
                    }
                } catch (RuntimeException e) {
                    return fail(
                            epoch,
                            plan,
                            memory,
                            "cannot start " + plan.replacement() + ": " + e.getMessage(),
                            events,
                            now);
                }
                if (record(epoch, plan.at(Step.CLONING, now))) {
                    events.add(event(now, "step", plan.node(), plan.replacement() + " started: cloning"));
                }
            }
            case CLONING -> {
                Member member = cluster.members().get(plan.replacement());
                if (member != null && member.isStreamingReplica()) {
                    if (record(epoch, plan.at(Step.STREAMING, now))) {
                        events.add(event(
                                now, "step", plan.node(), plan.replacement() + " streaming, detaching " + plan.node()));
                    }
                } else if (replacement.isEmpty()) {
                    return fail(epoch, plan, memory, plan.replacement() + " is gone while it cloned", events, now);
                } else if (!now.isBefore(plan.stepInstant().plus(policy.cloningLimit()))) {
                    return fail(
                            epoch,
                            plan,
                            memory,
                            plan.replacement() + " is not streaming "
                                    + policy.cloningLimit().toSeconds()
                                    + " s after it started (" + (member == null ? "no member record" : member.state())
                                    + ")",
                            events,
                            now);
                }
            }
            case STREAMING -> {
                if (cluster.isLeader(plan.node())) {
                    // It won an election since it was judged: stopping it now would stop the primary.
                    warnOnce(
                            plan,
                            plan.node() + " holds the leader key now: its detach waits until it is failed over or"
                                    + " switched over",
                            events,
                            now);
                    return memory;
                }
                // Detach the old node: stop it, take it out of the DCS (its lease, so the primary drops its slot),
                // and wait until no synchronous set names it. A frozen, cut-off or dead host is not asked to stop
                // (a frozen one would keep a stop waiting for minutes): the removal in the next step kills what is
                // left of it.
                boolean reachable = old.flatMap(c -> hosts.stream()
                                .filter(h -> h.id().equals(c.host()))
                                .findFirst())
                        .map(h -> h.state() == Host.State.UP)
                        .orElse(false);
                if (!leads(epoch)) {
                    return memory;
                }
                if (old.isPresent() && old.get().state() == Container.State.RUNNING && reachable) {
                    try {
                        runtime.stop(plan.node());
                    } catch (RuntimeException e) {
                        LOG.warn("cannot stop {} ({}); it is removed next", plan.node(), e.getMessage());
                    }
                }
                dcs.removeMember(plan.node());
                ClusterSnapshot detached = dcs.read();
                boolean inSync = detached.sync()
                        .map(s -> s.standbys().contains(plan.node()))
                        .orElse(false);
                if (inSync || detached.members().containsKey(plan.node())) {
                    if (!now.isBefore(plan.stepInstant().plus(policy.startingLimit()))) {
                        warnOnce(
                                plan,
                                plan.node() + " is detached but "
                                        + (inSync
                                                ? "the synchronous set still names it (only a running primary"
                                                        + " rewrites it)"
                                                : "its member record is back (its agent still runs)")
                                        + "; the repair waits",
                                events,
                                now);
                    }
                    return memory;
                }
                if (record(epoch, plan.at(Step.OLD_DETACHED, now))) {
                    events.add(event(
                            now,
                            "step",
                            plan.node(),
                            plan.node() + " detached: stopped, its member record"
                                    + " and lease gone, in no synchronous set"));
                }
            }
            case OLD_DETACHED -> {
                // Judged again now, not only at the plan: a node may have led (asynchronously) since, say a crash-
                // looping replica promoted between two crashes.
                String why = plan.quarantine().isEmpty()
                        ? RepairDecider.inheritance(plan.node(), memory)
                                .quarantine()
                                .orElse("")
                        : plan.quarantine();
                boolean keep = !why.isEmpty();
                if (old.isPresent() && leads(epoch)) {
                    if (keep) {
                        runtime.quarantine(
                                plan.node(),
                                why,
                                now.plus(RepairSettings.grace(cluster.config().repair(), RepairSettings.QUARANTINE)));
                    } else {
                        runtime.remove(plan.node());
                    }
                }
                if (record(epoch, plan.at(Step.REMOVED, now))) {
                    events.add(event(
                            now,
                            "step",
                            plan.node(),
                            keep
                                    ? plan.node() + " removed; its volume and key are kept (warden quarantine lists"
                                            + " them): " + why
                                    : plan.node() + " removed: container, volume and key"));
                }
            }
            case REMOVED -> {
                replacement.ifPresent(r -> runtime.label(
                        r.name(), Map.of(REPLACED_LABEL, plan.node(), EPOCH_LABEL, Long.toString(epoch))));
                if (replacement.isEmpty()) {
                    // Lost after it streamed (its host died too): the old node is gone already, so the cluster is a
                    // node short; said as a failure, not as done.
                    if (store.delete(epoch, PLAN)) {
                        repairsFailed++;
                        events.add(event(
                                now,
                                "failure",
                                plan.node(),
                                plan.node() + " was removed but its replacement " + plan.replacement()
                                        + " is gone too: the cluster is a node short"));
                        return memory.repairFailed(now);
                    }
                    return memory;
                }
                if (store.delete(epoch, PLAN)) {
                    repairsDone++;
                    events.add(event(
                            now,
                            "done",
                            plan.node(),
                            plan.node() + " replaced by " + plan.replacement() + " in "
                                    + Duration.between(plan.startInstant(), now).toSeconds() + " s"));
                    return memory.repairSucceeded();
                }
            }
        }
        return memory;
    }

    /** Deletes the quarantined volumes whose time is over, each with an event. */
    private void expireQuarantine(long epoch, Instant now, List<ControlEvent> events) {
        for (QuarantinedVolume kept : runtime.quarantined()) {
            if (!kept.expired(now) || !leads(epoch)) {
                continue;
            }
            try {
                runtime.discard(kept.node());
            } catch (RuntimeException e) {
                // Opened by an operator, say: it stays until the next round can delete it; the round goes on.
                warnOnce(
                        kept.node(),
                        "cannot delete " + kept.node() + "'s quarantined volume, due since " + kept.until() + ": "
                                + e.getMessage(),
                        events,
                        now);
                continue;
            }
            events.add(event(
                    now,
                    "cleanup",
                    kept.node(),
                    "deleted " + kept.node() + "'s quarantined volume: kept since " + kept.since() + ", until "
                            + kept.until()));
        }
    }

    /** The repair failed before its replacement streamed: remove what it made, end it, and back off. */
    private Memory fail(
            long epoch, RepairPlan plan, Memory memory, String why, List<ControlEvent> events, Instant now) {
        repairsFailed++;
        events.add(event(now, "failure", plan.node(), "repair of " + plan.node() + " failed: " + why));
        rollBack(epoch, plan, "failed: " + why, events, now);
        return memory.repairFailed(now);
    }

    /** Removes the half-made replacement, then the plan: the old node was never touched. */
    private void rollBack(long epoch, RepairPlan plan, String why, List<ControlEvent> events, Instant now) {
        List<Container> made = runtime.containers().stream()
                .filter(c -> c.name().equals(plan.replacement())
                        || plan.id().equals(c.labels().get(REPAIR_LABEL)))
                .toList();
        for (Container container : made) {
            if (!leads(epoch)) {
                return;
            }
            runtime.remove(container.name());
            dcs.removeMember(container.name());
        }
        if (store.delete(epoch, PLAN)) {
            events.add(event(
                    now,
                    "cancel",
                    plan.node(),
                    "repair of " + plan.node() + " " + why
                            + (made.isEmpty()
                                    ? ""
                                    : "; removed "
                                            + String.join(
                                                    ", ",
                                                    made.stream()
                                                            .map(Container::name)
                                                            .toList()))));
        }
    }

    /**
     * Removes containers a repair made that no plan holds any more: a controller that died between making one and
     * recording it, with the plan since rolled back by its successor.
     */
    private void removeOrphans(
            long epoch, Optional<RepairPlan> plan, List<Container> containers, List<ControlEvent> events, Instant now) {
        for (Container container : containers) {
            String repair = container.labels().get(REPAIR_LABEL);
            if (repair != null && plan.map(p -> !p.id().equals(repair)).orElse(true)) {
                // Read again now: a controller that stalled after its round began may see a successor's live
                // replacement as an orphan of its own stale plan.
                if (!leads(epoch)
                        || !RepairController.plan(store.read())
                                .map(p -> !p.id().equals(repair))
                                .orElse(true)) {
                    continue;
                }
                runtime.remove(container.name());
                dcs.removeMember(container.name());
                events.add(event(
                        now,
                        "cleanup",
                        container.name(),
                        "removed " + container.name() + ", made by the"
                                + " controller of epoch " + container.labels().getOrDefault(EPOCH_LABEL, "?")
                                + " for a repair no plan holds any more"));
            }
        }
    }

    /**
     * Whether this controller still leads, read from etcd right before a runtime action: the plan's writes are
     * guarded by etcd, the runtime's actions are not, so a controller that stalled past its lease must not act on
     * what it read before the stall.
     */
    private boolean leads(long epoch) {
        boolean leads = store.read().leader().map(l -> l.epoch() == epoch).orElse(false);
        if (!leads) {
            LOG.warn("not acting: this controller's leadership (epoch {}) is over", epoch);
        }
        return leads;
    }

    /** The plan ids and sentences already warned about, so a step that waits says why once, not every round. */
    private final java.util.Set<String> warned = new java.util.HashSet<>();

    private void warnOnce(RepairPlan plan, String message, List<ControlEvent> events, Instant now) {
        if (warned.add(plan.id() + " " + message)) {
            events.add(event(now, "warning", plan.node(), message));
        }
    }

    private void warnOnce(String node, String message, List<ControlEvent> events, Instant now) {
        // Figures and pids change: the gist says whether it is news.
        if (warned.add(node + " " + message.replaceAll("\\d+", "#"))) {
            events.add(event(now, "warning", node.equals("intents") ? "" : node, message));
        }
    }

    private boolean record(long epoch, RepairPlan plan) {
        boolean written = store.put(epoch, PLAN, Json.write(plan));
        if (!written) {
            LOG.warn("not recording {} of the repair of {}: this controller no longer leads", plan.step(), plan.node());
        }
        return written;
    }

    private void logDecision(Decision decision, List<ControlEvent> events, Instant now) {
        // The figures ("for 12 s") change every round; the sentence without them says whether anything did.
        String gist = decision.action() + " " + decision.node() + " "
                + decision.reason().replaceAll("\\d+", "#");
        if (!gist.equals(lastDecision)) {
            lastDecision = gist;
            events.add(event(now, "decision", decision.node(), decision.reason()));
        }
    }

    /** Appends {@code added} to the shared event log, and returns them. */
    private List<ControlEvent> publish(long epoch, ControlStore.Snapshot control, List<ControlEvent> added) {
        // The log as it is now: the scaling round may have added to it since this round read the store.
        return EventLog.append(store, epoch, store.read(), added);
    }

    /** The stored event log, oldest first. */
    public static List<ControlEvent> events(ControlStore.Snapshot control) {
        return EventLog.read(control);
    }

    /** The repair under way as stored, if any and readable. */
    public static Optional<RepairPlan> plan(ControlStore.Snapshot control) {
        return control.text(PLAN).flatMap(RepairController::parsePlan);
    }

    private static Optional<RepairPlan> parsePlan(String text) {
        try {
            return Optional.of(Json.wire().readValue(text, RepairPlan.class));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static Optional<Container> find(List<Container> containers, String name) {
        return containers.stream().filter(c -> c.name().equals(name)).findFirst();
    }

    /** An event stamped when it happened: {@code at} (the instant of its step), or later in a long round. */
    private ControlEvent event(Instant at, String kind, String node, String message) {
        Instant now = sinceRoundStart();
        return new ControlEvent((now.isAfter(at) ? now : at).toString(), kind, node, message);
    }

    public long repairsDone() {
        return repairsDone;
    }

    public long repairsFailed() {
        return repairsFailed;
    }

    public long repairsCancelled() {
        return repairsCancelled;
    }

    /**
     * {@link Memory} as stored: instants as ISO-8601 text, since the project's mapper has no time module.
     */
    record StoredMemory(
            Map<String, String> abnormal,
            Map<String, String> starts,
            List<String> repairs,
            int failuresInARow,
            String lastFailure,
            Map<String, RepairDecider.Seen> seen,
            Map<String, String> rejoins) {
        static String text(Memory memory) {
            Map<String, String> abnormal = new java.util.TreeMap<>();
            memory.abnormal().forEach((node, since) -> abnormal.put(node, since.abnormality() + "@" + since.at()));
            Map<String, String> starts = new java.util.TreeMap<>();
            memory.starts().forEach((node, s) -> starts.put(node, s.count() + "@" + s.at()));
            Map<String, String> rejoins = new java.util.TreeMap<>();
            memory.rejoins().forEach((node, s) -> rejoins.put(node, s.count() + "@" + s.at()));
            return Json.write(new StoredMemory(
                    abnormal,
                    starts,
                    memory.repairs().stream().map(Instant::toString).toList(),
                    memory.failuresInARow(),
                    memory.lastFailure().map(Instant::toString).orElse(""),
                    new java.util.TreeMap<>(memory.seen()),
                    rejoins));
        }

        /** The memory stored; empty when it cannot be read (the next round starts its clocks afresh). */
        static Optional<Memory> parse(String text) {
            try {
                StoredMemory stored = Json.wire().readValue(text, StoredMemory.class);
                Map<String, RepairDecider.Since> abnormal = new HashMap<>();
                if (stored.abnormal() != null) {
                    stored.abnormal().forEach((node, value) -> {
                        String[] parts = value.split("@", 2);
                        abnormal.put(
                                node, new RepairDecider.Since(Abnormality.valueOf(parts[0]), Instant.parse(parts[1])));
                    });
                }
                Map<String, RepairDecider.Starts> starts = counts(stored.starts());
                Map<String, RepairDecider.Starts> rejoins = counts(stored.rejoins());
                return Optional.of(new Memory(
                        abnormal,
                        starts,
                        stored.repairs() == null
                                ? List.of()
                                : stored.repairs().stream().map(Instant::parse).toList(),
                        stored.failuresInARow(),
                        stored.lastFailure() == null || stored.lastFailure().isEmpty()
                                ? Optional.empty()
                                : Optional.of(Instant.parse(stored.lastFailure())),
                        stored.seen() == null ? Map.of() : stored.seen(),
                        rejoins));
            } catch (IOException | RuntimeException e) {
                return Optional.empty();
            }
        }

        /** Counts stored as "count@instant" per node; none when absent (a memory stored before they were). */
        private static Map<String, RepairDecider.Starts> counts(Map<String, String> stored) {
            Map<String, RepairDecider.Starts> counts = new HashMap<>();
            if (stored != null) {
                stored.forEach((node, value) -> {
                    String[] parts = value.split("@", 2);
                    counts.put(node, new RepairDecider.Starts(Integer.parseInt(parts[0]), Instant.parse(parts[1])));
                });
            }
            return counts;
        }
    }
}
