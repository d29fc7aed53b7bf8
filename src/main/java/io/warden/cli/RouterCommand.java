package io.warden.cli;

import io.warden.common.Clock;
import io.warden.dcs.EtcdDcs;
import io.warden.http.Admission;
import io.warden.http.HttpEndpoint;
import io.warden.router.Router;
import io.warden.router.RouterApi;
import io.warden.router.RouterConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "router", description = "Run one router (started by 'up'; runs until SIGTERM).")
final class RouterCommand implements Callable<Integer> {
    @Option(
            names = "--config",
            paramLabel = "FILE",
            required = true,
            description = "the router's YAML config file (every key: docs/router.md)")
    Path config;

    @Override
    public Integer call() {
        RouterConfig settings = RouterConfig.load(config);
        EtcdDcs dcs = new EtcdDcs(settings.etcd(), settings.cluster(), Duration.ofMillis(500), settings.etcdTls());
        EtcdVersionCheck.start(dcs);
        Router router = new Router(settings, dcs, Clock.SYSTEM);
        HttpEndpoint api = HttpEndpoint.start(
                "router API",
                settings.host(),
                settings.apiPort(),
                "api_port in " + config,
                new RouterApi(router),
                Admission.readOnlyApi());
        Thread main = Thread.currentThread();
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            router.close();
                            main.interrupt();
                        },
                        "shutdown"));
        router.run();
        api.close();
        return 0;
    }
}
