package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** When the router reads the DCS: at once for what can move writes, at a slower pace for the rest. */
class RouterReadsTest {
    private static final long MS = 1_000_000L;

    @Test
    void changesThatCanMoveWritesAreUrgent() {
        assertThat(Router.movesWrites("leader", "node-1")).isTrue();
        assertThat(Router.movesWrites("members/node-1", "node-1")).as("the leader's own record").isTrue();
        assertThat(Router.movesWrites("config", "node-1")).isTrue();
        assertThat(Router.movesWrites("sync", "node-1")).isTrue();
        assertThat(Router.movesWrites("switchover", "node-1")).isTrue();
        assertThat(Router.movesWrites("members/node-2", "")).as("no leader known: any member may be the next").isTrue();
    }

    @Test
    void positionsAndCountsWait() {
        assertThat(Router.movesWrites("members/node-2", "node-1")).isFalse();
        assertThat(Router.movesWrites("optime", "node-1")).isFalse();
        assertThat(Router.movesWrites("routers/router-2", "node-1")).isFalse();
        assertThat(Router.movesWrites("history", "node-1")).isFalse();
    }

    @Test
    void aReadIsDueForAnUrgentChangeAtOnce() {
        assertThat(Router.readDue(true, true, false, 1 * MS, false)).isTrue();
    }

    @Test
    void otherChangesAreReadOnceTheLagPaceAllows() {
        assertThat(Router.readDue(false, true, false, 200 * MS, false)).isFalse();
        assertThat(Router.readDue(false, true, false, Router.LAG_READ_NANOS, false)).isTrue();
    }

    @Test
    void anyChangeIsReadAtOnceWhileThereIsNoPrimaryOrNoReplicaToReadFrom() {
        // A promotion's record may arrive judged against a leader not yet read: only "incomplete" catches it.
        assertThat(Router.readDue(false, true, true, 1 * MS, false)).isTrue();
        assertThat(Router.readDue(false, false, true, 1 * MS, false)).as("nothing changed: nothing to read").isFalse();
    }

    @Test
    void withoutChangesTheSafetyReadStillComes() {
        assertThat(Router.readDue(false, false, false, Router.LAG_READ_NANOS, false)).isFalse();
        assertThat(Router.readDue(false, false, false, Router.SAFETY_READ_NANOS, false)).isTrue();
    }

    @Test
    void aFencedRouterReadsEveryRoundToComeBack() {
        assertThat(Router.readDue(false, false, false, 1 * MS, true)).isTrue();
    }
}
