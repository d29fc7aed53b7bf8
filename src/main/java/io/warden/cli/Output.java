package io.warden.cli;

import io.warden.common.Json;

/** How operator commands print an agent's answer: a sentence for people, the JSON body with --json. */
final class Output {
    private Output() {}

    /** Prints the answer and returns the exit status: 0 when the agent did it, 1 when it refused or failed. */
    static int print(ClusterClient.Answer answer, boolean json) {
        if (json) {
            System.out.println(Json.writePretty(answer.body()));
        } else if (answer.ok()) {
            System.out.println(answer.message());
        } else {
            System.err.println("error: " + answer.message() + " (HTTP " + answer.status() + ")");
        }
        return answer.ok() ? 0 : 1;
    }
}
