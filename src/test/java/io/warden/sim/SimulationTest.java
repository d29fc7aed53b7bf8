package io.warden.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Optional;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * The whole cluster under random faults, seed after seed (see {@link Simulation} for what runs, what is injected
 * and what is checked). A failing seed is printed with its step, its time and the end of its trace, and replays
 * alone with {@code mvn -B -q test -Dtest=SimulationTest#replaysTheSeedGivenInSimSeed -Dsim.seed=N}.
 *
 * <p>{@code -Dsim.seeds=N} and {@code -Dsim.steps=N} run more (or fewer) seeds and steps than the defaults.
 */
class SimulationTest {
    private static final int SEEDS = Integer.getInteger("sim.seeds", 500);
    private static final int STEPS = Integer.getInteger("sim.steps", 300);
    /** How many seeds a weakened simulation may take to fail a check. */
    private static final int MUTATION_SEEDS = 400;

    private static List<Simulation.Outcome> run(long fromSeed, int seeds, int steps, Simulation.Options options) {
        // Each run is one thread's alone, so runs go in parallel and each stays the same for its seed.
        return LongStream.range(fromSeed, fromSeed + seeds)
                .parallel()
                .mapToObj(seed -> new Simulation(seed, steps, options).run())
                .toList();
    }

    private static String report(Simulation.Outcome failed) {
        return failed.violation().orElseThrow()
                + "\n\nreplay: mvn -B -q test -Dtest=SimulationTest#replaysTheSeedGivenInSimSeed -Dsim.seed="
                + failed.seed() + (STEPS != 300 ? " -Dsim.steps=" + STEPS : "") + "\n\nlast events:\n" + failed.trace();
    }

    /** The runs of every seed with every safety mechanism, shared by the tests that judge them. */
    private static synchronized List<Simulation.Outcome> outcomes() {
        if (outcomes == null) {
            long begun = System.nanoTime();
            outcomes = run(1, SEEDS, STEPS, Simulation.Options.ALL_SAFETY);
            System.out.printf(
                    "simulation: %d seeds x %d steps in %d ms: %d promotions, %d acknowledged commits, %d faults,"
                            + " %d watchdog kills%n",
                    outcomes.size(),
                    STEPS,
                    (System.nanoTime() - begun) / 1_000_000,
                    outcomes.stream().mapToInt(Simulation.Outcome::promotions).sum(),
                    outcomes.stream().mapToInt(Simulation.Outcome::acknowledged).sum(),
                    outcomes.stream().mapToInt(Simulation.Outcome::faults).sum(),
                    outcomes.stream()
                            .mapToInt(Simulation.Outcome::watchdogKills)
                            .sum());
        }
        return outcomes;
    }

    private static List<Simulation.Outcome> outcomes;

    @Test
    void noSeedEverHasTwoPrimariesRoutableOrLosesAnAcknowledgedCommit() {
        Optional<Simulation.Outcome> failed =
                outcomes().stream().filter(o -> o.violation().isPresent()).findFirst();

        assertThat(failed).as(() -> report(failed.get())).isEmpty();
    }

    /**
     * The checks above mean something only if the runs do what they check: fail over, and acknowledge commits
     * through the routers.
     */
    @Test
    void theRunsFailOverAndAcknowledgeCommits() {
        List<Simulation.Outcome> all = outcomes();

        assertThat(all).filteredOn(o -> o.acknowledged() > 0).hasSizeGreaterThan(all.size() * 9 / 10);
        assertThat(all).filteredOn(o -> o.promotions() > 0).hasSizeGreaterThan(all.size() / 2);
    }

    @Test
    void replaysTheSeedGivenInSimSeed() {
        String seed = System.getProperty("sim.seed");
        assumeTrue(seed != null, "give -Dsim.seed=N to replay one seed");

        Simulation.Outcome outcome = new Simulation(Long.parseLong(seed), STEPS, Simulation.Options.ALL_SAFETY).run();

        System.out.println(outcome.trace());
        assertThat(outcome.violation()).as(() -> report(outcome)).isEmpty();
    }

    @Test
    void aSeedReplaysExactlyTheSameRun() {
        Simulation.Outcome first = new Simulation(7, STEPS, Simulation.Options.ALL_SAFETY).run();
        Simulation.Outcome second = new Simulation(7, STEPS, Simulation.Options.ALL_SAFETY).run();

        assertThat(second).isEqualTo(first);
        assertThat(first.faults()).isPositive();
    }

    /**
     * Without two of the mechanisms that stop an old primary (its watchdog; a router's check of its own lease on
     * every read), a frozen agent's postgres and a frozen router outlive their leases, and some seed sees the router
     * deliver writes to the old primary while another router routes to the new one. Proof that check 1 can fail.
     */
    @Test
    void withoutWatchdogsAndWithRoutersIgnoringTheirLeaseSomeSeedHasTwoPrimariesRoutable() {
        Optional<Simulation.Outcome> failed = firstViolation(new Simulation.Options(false, false, true));

        assertThat(failed)
                .as("a seed of 1..%d with two primaries routable", MUTATION_SEEDS)
                .isPresent();
        assertThat(failed.get().violation().orElseThrow()).contains("two primaries routable at once");
        System.out.println("without watchdogs and lease checks: "
                + failed.get().violation().orElseThrow());
    }

    /**
     * With commits acknowledged before any standby has them, a failover to a standby loses them. Proof that check 2
     * can fail.
     */
    @Test
    void withCommitsAcknowledgedWithoutWaitingForTheStandbysSomeSeedLosesAnAcknowledgedCommit() {
        Optional<Simulation.Outcome> failed = firstViolation(new Simulation.Options(true, true, false));

        assertThat(failed)
                .as("a seed of 1..%d that loses an acknowledged commit", MUTATION_SEEDS)
                .isPresent();
        assertThat(failed.get().violation().orElseThrow())
                .contains("acknowledged commit")
                .contains("is missing on");
        System.out.println(
                "with commits not waiting: " + failed.get().violation().orElseThrow());
    }

    /** The first seed (in seed order) whose run fails a check under {@code options}, trying at most {@link #MUTATION_SEEDS}. */
    private static Optional<Simulation.Outcome> firstViolation(Simulation.Options options) {
        // In seed order, one at a time: the first failing seed is usually among the first few dozen.
        return LongStream.rangeClosed(1, MUTATION_SEEDS)
                .mapToObj(seed -> new Simulation(seed, STEPS, options).run())
                .filter(o -> o.violation().isPresent())
                .findFirst();
    }
}
