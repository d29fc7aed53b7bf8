package io.warden.cli;

import io.warden.controller.ControlEvent;
import io.warden.controller.repair.RepairController;
import io.warden.dcs.ControlStore;
import io.warden.dcs.EtcdDcs;
import io.warden.runtime.DeploymentState;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "events",
        description = "Show the controllers' events, oldest first: each repair decision and step with its reason, who"
                + " leads, and the repair under way (read from etcd, so it works while a controller is down).")
final class EventsCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Option(names = "--json", description = "print the leader, the repair under way and the events as JSON")
    boolean json;

    @Option(names = "--limit", description = "show the last N events (default: ${DEFAULT-VALUE})")
    int limit = 50;

    @Override
    public Integer call() {
        DeploymentState state = DeploymentState.read(dir.resolve());
        try (EtcdDcs dcs = Deployments.dcs(state, Duration.ofSeconds(5))) {
            ControlStore.Snapshot control = dcs.control().read();
            List<ControlEvent> all = RepairController.events(control);
            List<ControlEvent> shown = all.subList(Math.max(0, all.size() - Math.max(1, limit)), all.size());
            if (json) {
                Map<String, Object> body = new LinkedHashMap<>();
                body.put(
                        "leader",
                        control.leader().map(ControlStore.Leadership::holder).orElse(""));
                body.put(
                        "epoch",
                        control.leader().map(ControlStore.Leadership::epoch).orElse(0L));
                body.put("repair", RepairController.plan(control).orElse(null));
                body.put("events", shown);
                System.out.println(io.warden.common.Json.writePretty(body));
                return 0;
            }
            System.out.println("leader: "
                    + control.leader()
                            .map(l -> l.holder() + " (epoch " + l.epoch() + ")")
                            .orElse("none (no controller holds the lease)"));
            RepairController.plan(control)
                    .ifPresent(p -> System.out.println("repair under way: " + p.node() + " → "
                            + (p.replacement().isEmpty() ? "(being made)" : p.replacement()) + ", at " + p.step()
                            + " since " + p.stepAt()));
            if (shown.isEmpty()) {
                System.out.println("no events yet");
            }
            for (ControlEvent event : shown) {
                System.out.println(event.at() + "  " + String.format("%-8s", event.kind()) + "  " + event.message());
            }
            return 0;
        }
    }
}
