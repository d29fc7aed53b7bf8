package io.warden.cli;

import picocli.CommandLine.Option;

/** The --json of every command that prints one agent's answer: its JSON body instead of a sentence. */
final class JsonOption {
    @Option(names = "--json", description = "print the agent's JSON answer")
    boolean requested;

    /** Prints the answer as {@link Output#print} does and returns the exit status. */
    int print(ClusterClient.Answer answer) {
        return Output.print(answer, requested);
    }
}
