package io.warden.router;

/** Breaks the router's row of the package rules on purpose (PackageRulesTest). Never used by anything else. */
public final class PackageRuleFixture {
    private PackageRuleFixture() {}

    public static String decisionName() {
        return io.warden.agent.Action.LEAD.name();
    }
}
