package io.warden.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The "Packages" table of ../shared/ARCHITECTURE.md, one rule per row: each package depends only on the packages
 * its row names (and on {@code common}, the small utilities every package may use). A new package must be added
 * here, and so to the table, before any class may live in it.
 */
class PackageRulesTest {
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.warden");

    /** Every top-level package under io.warden. */
    private static final List<String> PACKAGES = List.of(
            "cluster",
            "dcs",
            "postgres",
            "agent",
            "watchdog",
            "router",
            "runtime",
            "controller",
            "api",
            "http",
            "security",
            "ops",
            "cli",
            "common");

    /** Classes in {@code owner} depend on no io.warden package but {@code allowed}, {@code common} and their own. */
    static ArchRule mayDependOnlyOn(String owner, String... allowed) {
        Set<String> permitted = new java.util.HashSet<>(Arrays.asList(allowed));
        permitted.add(owner);
        permitted.add("common");
        String[] forbidden = PACKAGES.stream()
                .filter(p -> !permitted.contains(p))
                .map(p -> "io.warden." + p + "..")
                .toArray(String[]::new);
        return noClasses()
                .that()
                .resideInAPackage("io.warden." + owner + "..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(forbidden)
                .because("ARCHITECTURE.md's table says " + owner + " depends on "
                        + (allowed.length == 0 ? "nothing" : String.join(", ", allowed)));
    }

    /** The model: members, roles, states, snapshot, switchover, sync state, history, Lsn. Depends on nothing. */
    static ArchRule theModelDependsOnNothing() {
        return mayDependOnlyOn("cluster");
    }

    @Test
    void theModelDependsOnNoOtherPackage() {
        theModelDependsOnNothing().check(MAIN);
    }

    @Test
    void theDcsDependsOnlyOnTheModel() {
        mayDependOnlyOn("dcs", "cluster").check(MAIN);
    }

    @Test
    void postgresDependsOnlyOnTheModel() {
        mayDependOnlyOn("postgres", "cluster").check(MAIN);
    }

    @Test
    void theAgentAndWatchdogDependOnlyOnTheModelTheDcsAndPostgres() {
        mayDependOnlyOn("agent", "cluster", "dcs", "postgres", "watchdog").check(MAIN);
        mayDependOnlyOn("watchdog", "cluster", "dcs", "postgres").check(MAIN);
    }

    /** The router serves its own API through the shared HTTP layer; it never reaches into the agent. */
    static ArchRule theRouterNeverUsesTheAgent() {
        return mayDependOnlyOn("router", "cluster", "dcs", "http");
    }

    @Test
    void theRouterDependsOnlyOnTheModelTheDcsAndTheHttpLayer() {
        theRouterNeverUsesTheAgent().check(MAIN);
    }

    @Test
    void theRuntimeDependsOnlyOnTheModel() {
        mayDependOnlyOn("runtime", "cluster").check(MAIN);
    }

    /**
     * api serves the agent's REST API: it may use the agent and what the agent itself stands on (model, dcs, postgres:
     * the agent's view carries its postgres's state), with the checks of ops; http is the one small HTTP layer under
     * every API and depends only on security, whose credentials it checks before any handler runs.
     */
    @Test
    void theHttpLayerDependsOnlyOnSecurityAndTheApiOnlyOnTheComponentItServes() {
        mayDependOnlyOn("http", "security").check(MAIN);
        mayDependOnlyOn("api", "agent", "controller", "cluster", "dcs", "postgres", "http", "ops")
                .check(MAIN);
    }

    /** controller: the control plane's rounds (certificate upkeep now; repair and scaling next), through the runtime. */
    @Test
    void theControllerDependsOnlyOnTheModelTheDcsAndTheRuntime() {
        mayDependOnlyOn("controller", "cluster", "dcs", "runtime").check(MAIN);
    }

    /** security: credentials (and later the CA and the extension policy), on the model only. */
    @Test
    void securityDependsOnlyOnTheModel() {
        mayDependOnlyOn("security", "cluster").check(MAIN);
    }

    /** ops: the pure checks of operator requests and config patches, on the model. */
    @Test
    void operatorChecksDependOnlyOnTheModel() {
        mayDependOnlyOn("ops", "cluster").check(MAIN);
    }

    @Test
    void commonDependsOnNoOtherPackage() {
        mayDependOnlyOn("common").check(MAIN);
    }

    /** cli is the composition root: it may use everything, and nothing uses it. */
    @Test
    void nothingDependsOnTheCommandLine() {
        noClasses()
                .that()
                .resideOutsideOfPackage("io.warden.cli..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("io.warden.cli..")
                .because("cli is the composition root")
                .check(MAIN);
    }

    @Test
    void everyClassLivesInAPackageOfTheTable() {
        classes()
                .should()
                .resideInAnyPackage(
                        PACKAGES.stream().map(p -> "io.warden." + p + "..").toArray(String[]::new))
                .because("a new package is added to ARCHITECTURE.md's table and to this test first")
                .check(MAIN);
    }

    /** The rules can fail: classes of this test's own, in the router and the model, that break their rows. */
    @Test
    void theRulesCatchARouterThatUsesTheAgentAndAModelThatUsesTheDcs() {
        EvaluationResult router = theRouterNeverUsesTheAgent()
                .evaluate(new ClassFileImporter().importClasses(io.warden.router.PackageRuleFixture.class));
        EvaluationResult model = theModelDependsOnNothing()
                .evaluate(new ClassFileImporter().importClasses(io.warden.cluster.PackageRuleFixture.class));

        assertThat(router.hasViolation()).isTrue();
        assertThat(router.getFailureReport().toString())
                .contains("io.warden.router.PackageRuleFixture")
                .contains("io.warden.agent.Action");
        assertThat(model.hasViolation()).isTrue();
        assertThat(model.getFailureReport().toString())
                .contains("io.warden.cluster.PackageRuleFixture")
                .contains("io.warden.dcs.Dcs");
    }
}
