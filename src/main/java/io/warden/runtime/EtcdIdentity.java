package io.warden.runtime;

import java.nio.file.Path;
import java.util.List;

/**
 * What gives etcd and its clients their certificates: etcd runs with client and peer TLS and lets in only clients
 * whose certificate its CA signed, since whoever can write the cluster's keys controls the database. Called by the
 * runtime for each member before it starts, and for each agent, router and the operator's CLI before they need etcd;
 * implemented by the composition root with the deployment's etcd CA, which the runtime never holds. Each call issues,
 * or renews when due, and returns where the files are.
 */
public interface EtcdIdentity {
    /**
     * The common name of every member's certificate: members require it of their peers ({@code
     * --peer-cert-allowed-cn}), so a client certificate from the same CA cannot join the raft traffic.
     */
    String MEMBER_COMMON_NAME = "warden-etcd-member";

    /** Member {@code member}'s certificate, naming {@code names} (the addresses clients and peers dial), in {@code dir}. */
    TlsFiles member(String member, List<String> names, Path dir);

    /** A client certificate for {@code client} (a node, a router, the operator), in {@code dir}. */
    TlsFiles client(String client, Path dir);
}
