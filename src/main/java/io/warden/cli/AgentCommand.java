package io.warden.cli;

import io.warden.agent.Agent;
import io.warden.agent.NodeConfig;
import io.warden.api.AgentApi;
import io.warden.common.WardenException;
import java.io.IOException;
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
        AgentApi api;
        try {
            api = new AgentApi(agent, node.apiHost(), node.apiPort());
        } catch (IOException e) {
            throw new WardenException(
                    "cannot serve the REST API on " + node.apiHost() + ":" + node.apiPort() + ": " + e.getMessage(),
                    "another process uses that port; change api_port in " + config);
        }
        api.start();
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
