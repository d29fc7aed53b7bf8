package io.warden.cli;

import io.warden.common.Json;
import io.warden.common.WardenException;
import io.warden.runtime.QuarantinedVolume;
import io.warden.runtime.local.LocalRuntime;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
        name = "quarantine",
        description = {
            "The volumes of removed former primaries, kept detached with their keys: one that led in asynchronous"
                    + " mode before it was failed over may hold commits no other node has. The repair controller"
                    + " deletes each when its time is over (repair.quarantine in the cluster config, 168h by"
                    + " default).",
            "  quarantine                 list them",
            "  quarantine open NODE       mount one (unlocked) to read what it holds; nothing starts on it",
            "  quarantine close NODE      unmount it again",
            "  quarantine remove NODE     delete it and its key for good"
        })
final class QuarantineCommand implements Callable<Integer> {
    @Mixin
    DirOption dir;

    @Parameters(index = "0", arity = "0..1", paramLabel = "ACTION", description = "list (default), open, close, remove")
    String action = "list";

    @Parameters(index = "1", arity = "0..1", paramLabel = "NODE", description = "the removed node's name")
    String node;

    @Option(names = "--json", description = "list as JSON")
    boolean json;

    @Override
    public Integer call() {
        Path deployment = dir.resolve();
        LocalRuntime runtime = (LocalRuntime) Deployments.runtime(deployment);
        switch (action) {
            case "list" -> list(runtime.quarantined());
            case "open" -> {
                Path data = runtime.openQuarantined(required());
                System.out.println("mounted " + node + "'s quarantined volume; its data directory is " + data);
                System.out.println("read it with a postgres of your own on a copy (cp -a " + data + " /somewhere),"
                        + " or pg_waldump its WAL; close it with: ./warden quarantine close " + node);
            }
            case "close" -> {
                runtime.closeQuarantined(required());
                System.out.println("unmounted " + node + "'s quarantined volume; it stays kept");
            }
            case "remove" -> {
                runtime.discard(required());
                System.out.println("deleted " + node + "'s quarantined volume and its key");
            }
            default ->
                throw new WardenException(
                        "unknown quarantine action '" + action + "'",
                        "use one of: list, open NODE, close NODE, remove NODE");
        }
        return 0;
    }

    private String required() {
        if (node == null || node.isBlank()) {
            throw new WardenException(
                    "quarantine " + action + " needs the node's name", "./warden quarantine lists the kept volumes");
        }
        return node;
    }

    private void list(List<QuarantinedVolume> kept) {
        if (json) {
            System.out.println(Json.writePretty(kept));
            return;
        }
        if (kept.isEmpty()) {
            System.out.println("no volume is quarantined");
            return;
        }
        System.out.printf("%-9s %-9s %-10s %-22s %-22s %s%n", "NODE", "SIZE", "KEY", "SINCE", "UNTIL", "WHY");
        for (QuarantinedVolume q : kept) {
            System.out.printf(
                    "%-9s %-9s %-10s %-22s %-22s %s%n",
                    q.node(),
                    (q.bytes() >> 20) + "M",
                    q.encrypted() ? "kept" : "(none)",
                    q.since().replaceAll("\\.\\d+Z$", "Z"),
                    q.until().replaceAll("\\.\\d+Z$", "Z"),
                    q.reason());
        }
    }
}
