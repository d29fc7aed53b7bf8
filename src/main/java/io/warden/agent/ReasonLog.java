package io.warden.agent;

import io.warden.common.LogOnChange;
import org.slf4j.Logger;

/**
 * The sentences that say why the agent does, or cannot do, what it does, logged once per change: a loop that meets
 * the same obstacle every cycle says so once. One instance per agent, shared by everything its HA loop runs, so a
 * reason repeated by any of them is not logged again. Touched by the HA loop's thread only.
 */
final class ReasonLog {
    private final LogOnChange reasons;

    ReasonLog(Logger log) {
        this.reasons = new LogOnChange(log, "");
    }

    /** Nanoseconds as seconds, for the durations the agent's log lines report. */
    static double seconds(long nanos) {
        return nanos / 1e9;
    }

    void log(String reason) {
        reasons.reason(reason);
    }
}
