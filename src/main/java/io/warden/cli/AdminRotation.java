package io.warden.cli;

import io.warden.common.AtomicFile;
import io.warden.common.Poll;
import io.warden.common.WardenException;
import io.warden.runtime.DeploymentFile;
import io.warden.runtime.DeploymentState;
import io.warden.runtime.DeploymentState.NodeHost;
import io.warden.security.AdminPassword;
import io.warden.security.Scram;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Gives the admin role a new password without a failed login for a client that reads the new one: postgres first
 * (as a SCRAM verifier, never the plain password, which pg_stat_statements and the log would keep), then every
 * replica must have replayed the change (the read-only port sends clients to them), and only then is the new
 * password published in the deployment's file. A client that still holds the old password fails from the moment
 * the primary takes the new one, as with any password change; it reads the file again and gets the new one.
 *
 * <p>The new password is kept in a pending file before postgres hears of it, so a rotation cut short at any step is
 * finished by running it again, and the password postgres has is never lost. It rotates the password of the
 * deployment in {@code deployment}, whose state is {@code state}, and reports each step on {@code out}.
 */
record AdminRotation(Path deployment, DeploymentState state, PrintStream out) {
    private static final String APPLICATION = "warden credentials rotate";

    static Path pendingFile(Path deployment) {
        return DeploymentFile.ADMIN_PASSWORD.in(deployment).resolveSibling("admin-password.pending");
    }

    /** Rotates; waits up to {@code replayDeadline} for the replicas. */
    void rotate(Duration replayDeadline) throws SQLException, InterruptedException {
        Path file = DeploymentFile.ADMIN_PASSWORD.in(deployment);
        String current = AdminPassword.read(file);
        String next = AdminPassword.pending(pendingFile(deployment));
        if (next.equals(current)) {
            // Left by a rotation cut short after it published: that one is done; this one needs a password of its own.
            try {
                Files.delete(pendingFile(deployment));
            } catch (IOException e) {
                throw new WardenException(
                        "cannot remove " + pendingFile(deployment) + ": " + e.getMessage(), "remove it by hand");
            }
            next = AdminPassword.pending(pendingFile(deployment));
        }
        // A session per node before anything changes: once a replica has replayed the change, the old password no
        // longer logs in there, and these sessions are how the replay is watched.
        Map<NodeHost, Connection> sessions = new LinkedHashMap<>();
        try {
            for (NodeHost node : state.nodes()) {
                open(node, current, next).ifPresent(c -> sessions.put(node, c));
            }
            Map.Entry<NodeHost, Connection> primary = sessions.entrySet().stream()
                    .filter(e -> !inRecovery(e.getValue()))
                    .findFirst()
                    .orElseThrow(() -> new WardenException(
                            "no primary answered as admin; the password is unchanged",
                            "check ./warden list, then run ./warden credentials rotate admin again"));
            String lsn;
            try (Statement s = primary.getValue().createStatement()) {
                s.execute("ALTER ROLE admin PASSWORD '" + Scram.verifier(next) + "'");
                try (ResultSet rs = s.executeQuery("select pg_current_wal_lsn()::text")) {
                    rs.next();
                    lsn = rs.getString(1);
                }
            }
            out.println("the primary " + primary.getKey().name() + " has admin's new password (WAL " + lsn + ")");
            List<String> behind = awaitReplay(sessions, primary.getKey(), lsn, replayDeadline);
            requireLoginOnThePrimary(next);
            AdminPassword.publish(file, next);
            Files.deleteIfExists(pendingFile(deployment));
            recordVerifier(Scram.verifier(next));
            if (behind.isEmpty()) {
                out.println("every replica has replayed it; the new password is in " + file);
            } else {
                out.println("warning: " + String.join(", ", behind) + " had not replayed it within "
                        + replayDeadline.toSeconds() + " s (the read-only port may refuse the new password there"
                        + " until it catches up); the new password is in " + file);
            }
        } catch (IOException e) {
            throw new WardenException(
                    "cannot remove " + pendingFile(deployment) + ": " + e.getMessage(),
                    "the rotation is done; remove the file by hand");
        } finally {
            for (Connection c : sessions.values()) {
                try {
                    c.close();
                } catch (SQLException e) {
                    // Closing a session of a node that just went away: nothing is left to undo.
                }
            }
        }
    }

    /**
     * A session on {@code node} with the current password, or with the pending one when a cut-short rotation
     * already gave it to this node; empty (with a note) for a node that does not answer.
     */
    private Optional<Connection> open(NodeHost node, String current, String next) {
        SQLException last = null;
        for (String password : List.of(current, next)) {
            try {
                return Optional.of(AdminSessions.open(
                        node.host() + ":" + node.port(),
                        state.cluster(),
                        AdminSessions.properties(deployment, password, APPLICATION)));
            } catch (SQLException e) {
                last = e;
            }
        }
        out.println("note: " + node.name() + " did not answer as admin (" + last.getMessage() + "); it gets the new"
                + " password when it streams again");
        return Optional.empty();
    }

    /**
     * Logs in with {@code next} as a client would, through the routers to whichever node is the primary now: a
     * failover since the change (to a replica that had not received it) leaves the old password there, and
     * publishing then would hand out one that nothing accepts.
     */
    private void requireLoginOnThePrimary(String next) throws SQLException {
        String routers = state.routers().stream()
                .map(r -> r.host() + ":" + r.readWritePort())
                .collect(java.util.stream.Collectors.joining(","));
        java.util.Properties props = AdminSessions.properties(deployment, next, APPLICATION);
        props.setProperty("targetServerType", "primary");
        try (Connection check = AdminSessions.open(routers, state.cluster(), props)) {
            check.isValid(5);
        } catch (SQLException e) {
            throw new WardenException(
                    "the primary does not accept admin's new password (" + e.getMessage() + "); nothing was published,"
                            + " the current password is still in " + DeploymentFile.ADMIN_PASSWORD.in(deployment),
                    "run ./warden credentials rotate admin again: it gives the primary the pending password ("
                            + pendingFile(deployment) + ") and then publishes it");
        }
    }

    private static boolean inRecovery(Connection c) {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select pg_is_in_recovery()")) {
            rs.next();
            return rs.getBoolean(1);
        } catch (SQLException e) {
            return true;
        }
    }

    /** Waits until every replica's replay reaches {@code lsn}; returns the names of those that did not. */
    private List<String> awaitReplay(
            Map<NodeHost, Connection> sessions, NodeHost primary, String lsn, Duration deadline)
            throws InterruptedException {
        List<String> behind = new ArrayList<>();
        for (Map.Entry<NodeHost, Connection> e : sessions.entrySet()) {
            if (e.getKey().equals(primary)) {
                continue;
            }
            boolean replayed = Poll.every(Duration.ofMillis(50)).until(deadline, () -> replayed(e.getValue(), lsn));
            if (!replayed) {
                behind.add(e.getKey().name());
            }
        }
        return behind;
    }

    private static boolean replayed(Connection replica, String lsn) {
        try (Statement s = replica.createStatement();
                ResultSet rs =
                        s.executeQuery("select coalesce(pg_last_wal_replay_lsn() >= '" + lsn + "'::pg_lsn, false)")) {
            rs.next();
            return rs.getBoolean(1);
        } catch (SQLException e) {
            return false;
        }
    }

    /**
     * Each node's config gets the new verifier: a bootstrap of a new cluster from these configs (after every node's
     * data was lost) then creates admin with the published password, not the one before.
     */
    private void recordVerifier(String verifier) {
        for (NodeHost node : state.nodes()) {
            Path config = Path.of(node.configFile());
            try {
                List<String> lines = new ArrayList<>(Files.readAllLines(config));
                lines.replaceAll(
                        l -> l.startsWith("admin_password_verifier:") ? "admin_password_verifier: " + verifier : l);
                // Owner-only: the config holds the superuser's password.
                AtomicFile.replaceOwnerOnly(config, String.join("\n", lines) + "\n");
            } catch (IOException e) {
                out.println("warning: cannot record the new verifier in " + config + ": " + e.getMessage()
                        + " (only a bootstrap of a new cluster reads it)");
            }
        }
    }
}
