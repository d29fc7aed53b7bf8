package io.warden.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * Time is a parameter in the HA loop and the router: they read it from an injected {@code Clock}, so their
 * decisions can be driven with literal times. A direct call to the machine's clocks there would make a test depend
 * on how fast it runs.
 */
class ClockRuleTest {
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.warden");

    static ArchRule agentAndRouterReadTimeFromTheirClock() {
        return noClasses()
                .that()
                .resideInAnyPackage("io.warden.agent..", "io.warden.router..", "io.warden.dcs..")
                .should()
                .callMethod(System.class, "nanoTime")
                .orShould()
                .callMethod(System.class, "currentTimeMillis")
                .orShould()
                .callMethod(Instant.class, "now")
                .orShould()
                .callMethod(Thread.class, "sleep", long.class)
                .orShould()
                .callMethod(Thread.class, "sleep", java.time.Duration.class)
                .because("the agent, the router and the lease take time from an injected io.warden.common.Clock");
    }

    @Test
    void agentRouterAndLeaseReadTimeOnlyFromTheInjectedClock() {
        agentAndRouterReadTimeFromTheirClock().check(MAIN);
    }

    /** The rule can fail: a class of this test's own that reads System.nanoTime() in a watched package breaks it. */
    @Test
    void theClockRuleCatchesADirectCallToTheMachineClock() {
        JavaClasses fixture = new ClassFileImporter().importClasses(io.warden.agent.ClockRuleFixture.class);

        EvaluationResult result = agentAndRouterReadTimeFromTheirClock().evaluate(fixture);

        assertThat(result.hasViolation()).isTrue();
        assertThat(result.getFailureReport().toString())
                .contains("ClockRuleFixture")
                .contains("nanoTime");
    }
}
