package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** When the router reads the DCS: at once for what can move writes, at a slower pace for the rest. */
class RouterReadsTest {
    private static final long MS = 1_000_000L;

    @Test
    void changesThatCanMoveWritesAreUrgent() {
        assertThat(ReadSchedule.movesWrites("leader", "node-1")).isTrue();
        assertThat(ReadSchedule.movesWrites("members/node-1", "node-1"))
                .as("the leader's own record")
                .isTrue();
        assertThat(ReadSchedule.movesWrites("config", "node-1")).isTrue();
        assertThat(ReadSchedule.movesWrites("sync", "node-1")).isTrue();
        assertThat(ReadSchedule.movesWrites("switchover", "node-1")).isTrue();
        assertThat(ReadSchedule.movesWrites("members/node-2", ""))
                .as("no leader known: any member may be the next")
                .isTrue();
    }

    @Test
    void positionsAndCountsWait() {
        assertThat(ReadSchedule.movesWrites("members/node-2", "node-1")).isFalse();
        assertThat(ReadSchedule.movesWrites("optime", "node-1")).isFalse();
        assertThat(ReadSchedule.movesWrites("routers/router-2", "node-1")).isFalse();
        assertThat(ReadSchedule.movesWrites("history", "node-1")).isFalse();
    }

    @Test
    void aReadIsDueForAnUrgentChangeAtOnce() {
        assertThat(ReadSchedule.readDue(true, true, false, 1 * MS, false)).isTrue();
    }

    @Test
    void otherChangesAreReadOnceTheLagPaceAllows() {
        assertThat(ReadSchedule.readDue(false, true, false, 200 * MS, false)).isFalse();
        assertThat(ReadSchedule.readDue(false, true, false, ReadSchedule.LAG_READ_NANOS, false))
                .isTrue();
    }

    @Test
    void anyChangeIsReadAtOnceWhileThereIsNoPrimaryOrNoReplicaToReadFrom() {
        // A promotion's record may arrive judged against a leader not yet read: only "incomplete" catches it.
        assertThat(ReadSchedule.readDue(false, true, true, 1 * MS, false)).isTrue();
        assertThat(ReadSchedule.readDue(false, false, true, 1 * MS, false))
                .as("nothing changed: nothing to read")
                .isFalse();
    }

    @Test
    void withoutChangesTheSafetyReadStillComes() {
        assertThat(ReadSchedule.readDue(false, false, false, ReadSchedule.LAG_READ_NANOS, false))
                .isFalse();
        assertThat(ReadSchedule.readDue(false, false, false, ReadSchedule.SAFETY_READ_NANOS, false))
                .isTrue();
    }

    @Test
    void aFencedRouterReadsEveryRoundToComeBack() {
        assertThat(ReadSchedule.readDue(false, false, false, 1 * MS, true)).isTrue();
    }
}
