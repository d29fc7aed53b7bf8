package io.warden.cli;

import io.warden.common.Clock;
import io.warden.dcs.EtcdDcs;
import io.warden.http.Admission;
import io.warden.http.HttpEndpoint;
import io.warden.router.Router;
import io.warden.router.RouterApi;
import io.warden.router.RouterConfig;
import java.time.Duration;
import picocli.CommandLine.Command;

@Command(name = "router", description = "Run one router (started by 'up'; runs until SIGTERM).")
final class RouterCommand extends ServiceCommand {
    @Override
    public Integer call() {
        RouterConfig settings = RouterConfig.load(config.file);
        EtcdDcs dcs = new EtcdDcs(settings.etcd(), settings.cluster(), Duration.ofMillis(500), settings.etcdTls());
        EtcdVersionCheck.start(dcs);
        Router router = new Router(settings, dcs, Clock.SYSTEM);
        HttpEndpoint api = HttpEndpoint.start(
                "router API",
                settings.host(),
                settings.apiPort(),
                "api_port in " + config.file,
                new RouterApi(router),
                Admission.readOnlyApi());
        Thread main = Thread.currentThread();
        return serve(api, router::run, () -> {
            router.close();
            main.interrupt();
        });
    }
}
