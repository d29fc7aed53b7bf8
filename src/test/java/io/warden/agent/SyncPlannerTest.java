package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.warden.agent.SyncPlanner.Configure;
import io.warden.agent.SyncPlanner.Plan;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.NodeTags;
import io.warden.cluster.Role;
import io.warden.cluster.SyncMode;
import io.warden.cluster.SyncState;
import io.warden.postgres.Standby;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The leader's synchronous replication steps, one at a time, from hand-built inputs. */
class SyncPlannerTest {
    private static final String LEADER = "n1";

    private final Map<String, Member> members = new HashMap<>();
    private DynamicConfig config = new DynamicConfig(1 << 20, SyncMode.ON, 1, false, Map.of());

    private SyncPlannerTest replica(String name, NodeTags tags) {
        members.put(name, HaDeciderTest.memberOf(name, Role.REPLICA, 5000, tags));
        return this;
    }

    private static Standby streaming(String name, String flush, String syncState) {
        return new Standby(name, "streaming", syncState, Lsn.parse(flush));
    }

    private Plan plan(
            List<Standby> standbys,
            List<String> configured,
            boolean wildcard,
            List<String> published,
            Map<String, Lsn> seen) {
        return SyncPlanner.plan(new SyncPlanner.Input(
                LEADER,
                config,
                members,
                standbys,
                configured,
                wildcard,
                Optional.of(new SyncState(LEADER, published)),
                seen));
    }

    @Test
    void aNewLeaderStartsFromAnEmptySetItPublishesItself() {
        replica("n2", NodeTags.NONE);
        Plan plan = SyncPlanner.plan(new SyncPlanner.Input(
                LEADER,
                config,
                members,
                List.of(streaming("n2", "0/10", "async")),
                List.of(),
                false,
                Optional.of(new SyncState("n0", List.of("n2"))),
                Map.of()));

        assertThat(plan.publish()).contains(Optional.of(new SyncState(LEADER, List.of())));
        assertThat(plan.configure()).isEmpty();
    }

    @Test
    void aStandbyIsAddedToPostgresFirstThenTimedThenPublishedOnceCaughtUp() {
        replica("n2", NodeTags.NONE);
        Plan configure = plan(List.of(streaming("n2", "0/10", "async")), List.of(), false, List.of(), Map.of());
        assertThat(configure.configure()).contains(new Configure(List.of("n2"), false));
        assertThat(configure.publish()).isEmpty();

        Plan time = plan(List.of(streaming("n2", "0/10", "sync")), List.of("n2"), false, List.of(), Map.of());
        assertThat(time.startTiming()).containsExactly("n2");
        assertThat(time.publish()).isEmpty();

        Plan behind = plan(
                List.of(streaming("n2", "0/10", "sync")),
                List.of("n2"),
                false,
                List.of(),
                Map.of("n2", Lsn.parse("0/20")));
        assertThat(behind.publish()).isEmpty();

        Plan caughtUp = plan(
                List.of(streaming("n2", "0/20", "sync")),
                List.of("n2"),
                false,
                List.of(),
                Map.of("n2", Lsn.parse("0/20")));
        assertThat(caughtUp.publish()).contains(Optional.of(new SyncState(LEADER, List.of("n2"))));
    }

    @Test
    void aGoneStandbyLeavesThePublishedSetBeforePostgresStopsWaitingForIt() {
        replica("n2", NodeTags.NONE);
        Plan unpublish = plan(List.of(), List.of("n2"), false, List.of("n2"), Map.of());
        assertThat(unpublish.publish()).contains(Optional.of(new SyncState(LEADER, List.of())));
        assertThat(unpublish.configure()).isEmpty();

        Plan reconfigure = plan(List.of(), List.of("n2"), false, List.of(), Map.of());
        assertThat(reconfigure.configure()).contains(new Configure(List.of(), false));
    }

    @Test
    void strictModeWithNoStandbyWaitsForAnyRatherThanNone() {
        config = new DynamicConfig(1 << 20, SyncMode.STRICT, 1, false, Map.of());
        Plan plan = plan(List.of(), List.of("n2"), false, List.of(), Map.of());

        assertThat(plan.configure()).contains(new Configure(List.of(), true));
        assertThat(plan.configure().get().setting()).isEqualTo("*");
    }

    @Test
    void nosyncStandbysAndNonStreamingOnesAreNeverChosen() {
        replica("n2", new NodeTags(false, false, true)).replica("n3", NodeTags.NONE);
        Plan plan = plan(
                List.of(streaming("n2", "0/90", "async"), new Standby("n3", "catchup", "async", Lsn.parse("0/10"))),
                List.of(),
                false,
                List.of(),
                Map.of());

        assertThat(plan.configure()).isEmpty();
        assertThat(plan.reason()).contains("as it should be");
    }

    @Test
    void theCurrentStandbyIsKeptEvenWhenAnotherIsFurtherAhead() {
        replica("n2", NodeTags.NONE).replica("n3", NodeTags.NONE);
        Plan plan = plan(
                List.of(streaming("n2", "0/10", "sync"), streaming("n3", "0/90", "async")),
                List.of("n2"),
                false,
                List.of("n2"),
                Map.of());

        assertThat(plan.publish()).isEmpty();
        assertThat(plan.configure()).isEmpty();
    }

    @Test
    void turningTheModeOffDeletesTheKeyThenStopsWaiting() {
        config = DynamicConfig.DEFAULTS;
        Plan delete = plan(List.of(), List.of("n2"), false, List.of("n2"), Map.of());
        assertThat(delete.publish()).contains(Optional.empty());

        Plan stop = SyncPlanner.plan(new SyncPlanner.Input(
                LEADER, config, members, List.of(), List.of("n2"), false, Optional.empty(), Map.of()));
        assertThat(stop.configure()).contains(new Configure(List.of(), false));
    }

    @Test
    void theSettingRoundTripsAndQuotesNames() {
        Configure two = new Configure(List.of("node-2", "node.3"), false);

        assertThat(two.setting()).isEqualTo("FIRST 2 (\"node-2\", \"node.3\")");
        assertThat(SyncPlanner.parse(two.setting())).isEqualTo(two);
        assertThat(SyncPlanner.parse("*")).isEqualTo(new Configure(List.of(), true));
        assertThat(SyncPlanner.parse("")).isEqualTo(new Configure(List.of(), false));
    }
}
