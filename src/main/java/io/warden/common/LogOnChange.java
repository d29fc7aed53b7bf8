package io.warden.common;

import java.util.Objects;
import org.slf4j.Logger;

/**
 * A line logged only when it differs from the last one: a loop that meets the same obstacle every round says so
 * once, and says so again when the obstacle changes or clears. Not thread-safe: one thread owns each instance.
 */
public final class LogOnChange {
    private final Logger log;
    private final String cleared;
    private String last = "";

    /** @param cleared logged (at info) when a problem gives way to none; empty logs nothing then */
    public LogOnChange(Logger log, String cleared) {
        this.log = Objects.requireNonNull(log, "log is null");
        this.cleared = Objects.requireNonNull(cleared, "cleared is null");
    }

    /** The state now: a problem (logged as a warning when new), or the empty string for none. */
    public void problem(String text) {
        if (!text.equals(last)) {
            if (!text.isEmpty()) {
                log.warn(text);
            } else if (!cleared.isEmpty()) {
                log.info(cleared);
            }
            last = text;
        }
    }

    /** A sentence that says why, logged at info when it differs from the last one. */
    public void reason(String text) {
        if (!text.equals(last)) {
            log.info(text);
            last = text;
        }
    }

    /** The last line given, or the empty string. */
    public String last() {
        return last;
    }
}
