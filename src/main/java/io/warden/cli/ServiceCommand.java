package io.warden.cli;

import io.warden.http.HttpEndpoint;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;

/**
 * A process 'up' starts, agent or router: it runs from its YAML config file on the calling thread until SIGTERM, and
 * serves its API meanwhile.
 */
abstract class ServiceCommand implements Callable<Integer> {
    @Mixin
    ConfigFileOption config;

    /**
     * Runs {@code service} on this thread until it returns, then closes {@code api}; on SIGTERM, {@code onSignal} runs
     * on the shutdown hook's thread and must make {@code service} return. Returns the exit status.
     */
    static int serve(HttpEndpoint api, Runnable service, Runnable onSignal) {
        Runtime.getRuntime().addShutdownHook(new Thread(onSignal, "shutdown"));
        service.run();
        api.close();
        return 0;
    }
}
