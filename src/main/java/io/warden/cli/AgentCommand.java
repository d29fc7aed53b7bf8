package io.warden.cli;

import io.warden.agent.Agent;
import io.warden.agent.NodeConfig;
import io.warden.api.AgentApi;
import io.warden.http.HttpEndpoint;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "agent", description = "Run one node's HA agent (started by 'up'; runs until SIGTERM).")
final class AgentCommand implements Callable<Integer> {
    @Option(names = "--config", required = true, description = "the node's YAML config file")
    Path config;

    @Override
    public Integer call() {
        NodeConfig node = NodeConfig.load(config);
        Agent agent = new Agent(node);
        HttpEndpoint api = HttpEndpoint.start("agent REST API", node.apiHost(), node.apiPort(), "api_port in " + config, new AgentApi(agent));
        Thread main = Thread.currentThread();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            agent.shutdown();
            main.interrupt();
        }, "shutdown"));
        agent.run();
        api.close();
        return 0;
    }
}
