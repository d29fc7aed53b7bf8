package io.warden.agent;

/** Breaks the clock rule on purpose, to show that the rule fails (ClockRuleTest). Never used by anything else. */
public final class ClockRuleFixture {
    private ClockRuleFixture() {}

    public static long elapsedSince(long start) {
        return System.nanoTime() - start;
    }
}
