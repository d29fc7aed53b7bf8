package io.warden.controller;

import io.warden.common.Clock;
import io.warden.controller.repair.RepairController;
import io.warden.controller.scaling.ScalingController;
import io.warden.dcs.ControlStore;
import io.warden.dcs.Lease;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One controller of a deployment: two run, each under a supervisor, and the one that holds {@code leader} under the
 * control prefix acts; the other waits for the key to vanish with its holder's lease. The leader runs a repair round
 * every {@link #ROUND} and the certificate upkeep when it is due. Each round is a fresh read; nothing the loop keeps
 * in memory is needed by the next leader, which finds the repair's state in the DCS.
 *
 * <p>The loop never dies: a round that throws (etcd away, the runtime refusing) is logged and the next runs.
 */
public final class ControllerLoop {
    private static final Logger LOG = LoggerFactory.getLogger(ControllerLoop.class);

    /** How often the leader looks: a second, so a 10 s grace period is judged within about 11 s. */
    public static final Duration ROUND = Duration.ofSeconds(1);

    /** The controller lease: a standby takes over within this once the leader dies. */
    public static final Duration TTL = Duration.ofSeconds(10);

    private final String id;
    private final Lease lease;
    private final ControlStore store;
    private final Optional<RepairController> repair;
    private final Optional<ScalingController> scaling;
    private final CertificateUpkeep upkeep;
    private final Clock clock;

    private long epoch;
    private Instant certificatesDue = Instant.MIN;
    private final AtomicReference<Status> status;

    /**
     * What the controller's API shows: whether it leads, its epoch, the last round's decisions (repair, then
     * scaling), the repair and the scaling change under way, and any problem.
     */
    public record Status(
            String id,
            boolean leader,
            long epoch,
            String decision,
            String repair,
            String problem,
            String scalingDecision,
            String scaling) {
        public Status(String id, boolean leader, long epoch, String decision, String repair, String problem) {
            this(id, leader, epoch, decision, repair, problem, "", "");
        }
    }

    public ControllerLoop(
            String id,
            Lease lease,
            ControlStore store,
            Optional<RepairController> repair,
            CertificateUpkeep upkeep,
            Clock clock) {
        this(id, lease, store, repair, Optional.empty(), upkeep, clock);
    }

    public ControllerLoop(
            String id,
            Lease lease,
            ControlStore store,
            Optional<RepairController> repair,
            Optional<ScalingController> scaling,
            CertificateUpkeep upkeep,
            Clock clock) {
        this.id = Objects.requireNonNull(id, "id is null");
        this.lease = Objects.requireNonNull(lease, "lease is null");
        this.store = Objects.requireNonNull(store, "store is null");
        this.repair = Objects.requireNonNull(repair, "repair is null");
        this.scaling = Objects.requireNonNull(scaling, "scaling is null");
        this.upkeep = Objects.requireNonNull(upkeep, "upkeep is null");
        this.clock = Objects.requireNonNull(clock, "clock is null");
        this.status = new AtomicReference<>(new Status(id, false, 0, "", "", "starting"));
    }

    public Status status() {
        return status.get();
    }

    /** Its scaling rounds; empty for a controller started with {@code --no-scaling}. */
    public Optional<ScalingController> scaling() {
        return scaling;
    }

    /** Its repair rounds; empty for a controller started with {@code --no-repair}. */
    public Optional<RepairController> repair() {
        return repair;
    }

    /** One step at {@code now}: take or keep the leadership, and lead when it is ours. Returns when to step again. */
    public Duration step(Instant now) {
        long nanos = clock.nanoTime();
        lease.ownerAlive(nanos);
        try {
            if (!lease.valid(nanos)) {
                if (epoch != 0) {
                    LOG.warn("{}: the controller lease is lost; not acting until it leads again", id);
                }
                epoch = 0;
                status.set(new Status(id, false, 0, "", "", "no valid controller lease (is etcd reachable?)"));
                return ROUND;
            }
            ControlStore.Snapshot control = store.read();
            Optional<ControlStore.Leadership> leader = control.leader();
            if (epoch != 0 && leader.map(l -> l.epoch() != epoch).orElse(true)) {
                LOG.warn(
                        "{}: no longer leads (the leader key is {})",
                        id,
                        leader.map(Object::toString).orElse("gone"));
                epoch = 0;
            }
            if (epoch == 0 && leader.isEmpty()) {
                epoch = store.acquireLeadership(id, lease.term().id());
                if (epoch != 0) {
                    LOG.info("{} leads the controllers (epoch {})", id, epoch);
                }
            }
            if (epoch == 0) {
                status.set(new Status(
                        id,
                        false,
                        0,
                        "",
                        "",
                        "standing by: "
                                + leader.map(ControlStore.Leadership::holder).orElse("?") + " leads"));
                return ROUND;
            }
            if (!now.isBefore(certificatesDue)) {
                certificatesDue = now.plus(upkeep.step(now).nextIn());
            }
            String decision = "repair is off for this controller (--no-repair)";
            String repairing = "";
            if (repair.isPresent()) {
                RepairController.Round round = repair.get().round(epoch, now);
                decision = round.decision().reason();
                repairing = round.plan()
                        .map(p -> p.node() + " → " + (p.replacement().isEmpty() ? "?" : p.replacement()) + " at "
                                + p.step())
                        .orElse("");
            }
            String scalingDecision = "scaling is off for this controller (--no-scaling)";
            String scaled = "";
            if (scaling.isPresent()) {
                // Its own failure must not hide the repair round's status (nor the repair round's, its round).
                try {
                    ScalingController.Round round = scaling.get().round(epoch, now);
                    scalingDecision = round.decision().reason();
                    scaled = round.plan()
                            .map(p -> p.from() + " → " + p.to() + " units at " + p.step()
                                    + (p.node().isEmpty() ? "" : " (" + p.node() + ": " + p.nodeStep() + ")"))
                            .orElse("");
                } catch (RuntimeException e) {
                    LOG.warn("{}: scaling round failed: {}", id, e.toString());
                    scalingDecision = "scaling round failed: " + e;
                }
            }
            status.set(new Status(id, true, epoch, decision, repairing, "", scalingDecision, scaled));
        } catch (RuntimeException e) {
            // Etcd away, the runtime refusing, a bug: the next round tries again, and its steps are idempotent.
            LOG.warn("{}: round failed: {}", id, e.toString());
            Status before = status.get();
            status.set(new Status(
                    id,
                    before.leader(),
                    before.epoch(),
                    before.decision(),
                    before.repair(),
                    e.toString(),
                    before.scalingDecision(),
                    before.scaling()));
        }
        return ROUND;
    }

    /** Gives up the leadership at once (on SIGTERM), so the standby need not wait for the lease to run out. */
    public void resign() {
        if (epoch != 0) {
            try {
                store.releaseLeadership(epoch);
            } catch (RuntimeException e) {
                LOG.warn("{}: could not release the leadership ({}); it ends with the lease", id, e.toString());
            }
            epoch = 0;
        }
    }

    /** The stored event log (for the API), oldest first. */
    public List<ControlEvent> events() {
        return RepairController.events(store.read());
    }
}
