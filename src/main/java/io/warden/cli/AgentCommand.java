package io.warden.cli;

import io.warden.agent.Agent;
import io.warden.agent.AgentConfig;
import io.warden.agent.HttpPeers;
import io.warden.api.AgentApi;
import io.warden.common.Clock;
import io.warden.common.PemTls;
import io.warden.common.Processes;
import io.warden.dcs.EtcdDcs;
import io.warden.http.Admission;
import io.warden.http.HttpEndpoint;
import io.warden.postgres.LocalPostgres;
import io.warden.postgres.PostgresCtl;
import io.warden.security.ApiToken;
import io.warden.security.NodeCertificates;
import io.warden.watchdog.WatchdogClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import picocli.CommandLine.Command;

@Command(name = "agent", description = "Run one node's HA agent (started by 'up'; runs until SIGTERM).")
final class AgentCommand extends ServiceCommand {
    @Override
    public Integer call() {
        AgentConfig node = AgentConfig.load(config.file);
        // Read before anything starts: a token file others can read stops the agent with the fix in the message.
        Optional<ApiToken> token = node.apiTokenPath().map(ApiToken::read);
        Agent agent = wire(node);
        HttpEndpoint api = HttpEndpoint.start(
                "agent REST API",
                node.apiHost(),
                node.apiPort(),
                "api_port in " + config.file,
                new AgentApi(agent),
                Admission.operator(token),
                node.tlsPath()
                        .map(tls -> new HttpEndpoint.Tls(
                                tls.resolve(NodeCertificates.CA),
                                tls.resolve(NodeCertificates.API_CERTIFICATE),
                                tls.resolve(NodeCertificates.API_KEY))));
        // The hook only asks: the HA loop (this thread) stops postgres and releases the key, then run() returns.
        return serve(api, agent::run, agent::shutdown);
    }

    /** The one place an agent's collaborators are made: etcd, its postgres, its peers, its watchdog, the system clock. */
    static Agent wire(AgentConfig node) {
        String osUser = node.postgresUser() != null ? node.postgresUser() : (Processes.isRoot() ? "postgres" : null);
        LocalPostgres.checkDataDirectory(node.dataPath(), osUser);
        PostgresCtl ctl = new PostgresCtl(
                Path.of(node.binDir()),
                node.dataPath(),
                node.workPath(),
                node.logPath(),
                osUser,
                node.tlsPath(),
                node.postgresCgroupSet());
        // Each DCS request gets a third of the ttl (at least 500 ms): several fit before a lease runs out.
        EtcdDcs dcs = new EtcdDcs(
                node.etcd(),
                node.cluster(),
                Duration.ofMillis(Math.max(500, node.ttlDuration().toMillis() / 3)),
                node.etcdTls());
        EtcdVersionCheck.start(dcs);
        Optional<WatchdogClient> watchdog =
                node.watchdogRequired() ? Optional.of(WatchdogClient.socket(node.watchdogSocket())) : Optional.empty();
        return new Agent(
                node,
                dcs,
                new LocalPostgres(ctl, node.port(), node.superuserPassword()),
                // The agent's own API pair as its client certificate: the others know who calls (a node may read).
                new HttpPeers(node.tlsPath()
                        .map(tls -> PemTls.client(
                                tls.resolve(NodeCertificates.CA),
                                tls.resolve(NodeCertificates.API_CERTIFICATE),
                                tls.resolve(NodeCertificates.API_KEY)))),
                watchdog,
                Clock.SYSTEM);
    }
}
