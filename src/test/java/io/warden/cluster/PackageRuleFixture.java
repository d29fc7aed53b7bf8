package io.warden.cluster;

/** Breaks the model's row of the package rules on purpose (PackageRulesTest). Never used by anything else. */
public final class PackageRuleFixture {
    private PackageRuleFixture() {}

    public static String storeName(io.warden.dcs.Dcs dcs) {
        return dcs.getClass().getSimpleName();
    }
}
