package io.warden.cli;

import com.sun.net.httpserver.HttpServer;
import io.warden.common.Clock;
import io.warden.common.WardenException;
import io.warden.dcs.EtcdDcs;
import io.warden.router.Router;
import io.warden.router.RouterConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "router", description = "Run one router (started by 'up'; runs until SIGTERM).")
final class RouterCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, description = "the router's YAML config file")
    Path config;

    @Override
    public Integer call() {
        RouterConfig settings = RouterConfig.load(config);
        Router router = new Router(settings, new EtcdDcs(settings.etcd(), settings.cluster(), Duration.ofMillis(500)), Clock.SYSTEM);
        HttpServer api;
        try {
            api = HttpServer.create(new InetSocketAddress(settings.host(), settings.apiPort()), 16);
        } catch (IOException e) {
            throw new WardenException(
                    "cannot serve the router API on " + settings.host() + ":" + settings.apiPort() + ": " + e.getMessage(),
                    "another process uses that port; change api_port in " + config);
        }
        api.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        api.createContext("/", exchange -> {
            try (exchange) {
                String path = exchange.getRequestURI().getPath();
                int status;
                String body;
                String type = "application/json";
                switch (path) {
                    case "/metrics" -> {
                        status = 200;
                        body = router.metricsText();
                        type = "text/plain; version=0.0.4";
                    }
                    case "/health" -> {
                        status = router.serving() ? 200 : 503;
                        body = io.warden.common.Json.write(router.describe());
                    }
                    case "/", "/status" -> {
                        status = 200;
                        body = io.warden.common.Json.write(router.describe());
                    }
                    default -> {
                        status = 404;
                        body = "{\"error\":\"no such endpoint: " + path.replace("\"", "") + "\"}";
                    }
                }
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", type);
                exchange.sendResponseHeaders(status, bytes.length);
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            }
        });
        api.start();
        Thread main = Thread.currentThread();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            router.close();
            main.interrupt();
        }, "shutdown"));
        router.run();
        api.stop(0);
        return 0;
    }
}
