package io.warden.common;

/**
 * An error a person can act on: what went wrong, with the state that explains it, and what to do next.
 * Every failure that reaches a user (CLI exit, REST body, agent start-up) is one of these.
 */
public class WardenException extends RuntimeException {
    private final String nextStep;

    public WardenException(String problem, String nextStep) {
        this(problem, nextStep, null);
    }

    public WardenException(String problem, String nextStep, Throwable cause) {
        super(problem, cause);
        this.nextStep = nextStep;
    }

    /** What the user should do about it; never empty. */
    public String nextStep() {
        return nextStep;
    }

    /** Problem and next step, as printed by the CLI. */
    public String describe() {
        return getMessage() + "\n  -> " + nextStep;
    }
}
