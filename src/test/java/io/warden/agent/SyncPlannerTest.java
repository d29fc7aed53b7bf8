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
    private List<Standby> standbys = List.of();
    private List<String> configured = List.of();
    private Optional<SyncState> published = Optional.of(new SyncState(LEADER, List.of()));
    private final Map<String, Lsn> seen = new HashMap<>();

    private SyncPlannerTest replica(String name, NodeTags tags) {
        members.put(name, HaDeciderTest.memberOf(name, Role.REPLICA, 5000, tags));
        return this;
    }

    private static Standby streaming(String name, String flush, String syncState) {
        return new Standby(name, "streaming", syncState, Lsn.parse(flush));
    }

    /** What postgres shows in pg_stat_replication now. */
    private SyncPlannerTest standbys(Standby... value) {
        standbys = List.of(value);
        return this;
    }

    /** The names synchronous_standby_names holds now. */
    private SyncPlannerTest configured(String... names) {
        configured = List.of(names);
        return this;
    }

    /** The synchronous set the DCS holds now, as this leader's. */
    private SyncPlannerTest published(String... names) {
        published = Optional.of(new SyncState(LEADER, List.of(names)));
        return this;
    }

    /** The leader's position when {@code name} began to be timed. */
    private SyncPlannerTest seen(String name, String position) {
        seen.put(name, Lsn.parse(position));
        return this;
    }

    /** The next step, from what the leader sees now. */
    private Plan plan() {
        return SyncPlanner.plan(
                new SyncPlanner.Input(LEADER, config, members, standbys, configured, false, published, seen));
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
        Plan configure = standbys(streaming("n2", "0/10", "async")).plan();
        assertThat(configure.configure()).contains(new Configure(List.of("n2"), false));
        assertThat(configure.publish()).isEmpty();

        Plan time = standbys(streaming("n2", "0/10", "sync")).configured("n2").plan();
        assertThat(time.startTiming()).containsExactly("n2");
        assertThat(time.publish()).isEmpty();

        Plan behind = seen("n2", "0/20").plan();
        assertThat(behind.publish()).isEmpty();

        Plan caughtUp = standbys(streaming("n2", "0/20", "sync")).plan();
        assertThat(caughtUp.publish()).contains(Optional.of(new SyncState(LEADER, List.of("n2"))));
    }

    @Test
    void aGoneStandbyLeavesThePublishedSetBeforePostgresStopsWaitingForIt() {
        replica("n2", NodeTags.NONE);
        Plan unpublish = configured("n2").published("n2").plan();
        assertThat(unpublish.publish()).contains(Optional.of(new SyncState(LEADER, List.of())));
        assertThat(unpublish.configure()).isEmpty();

        Plan reconfigure = published().plan();
        assertThat(reconfigure.configure()).contains(new Configure(List.of(), false));
    }

    @Test
    void strictModeWithNoStandbyWaitsForAnyRatherThanNone() {
        config = new DynamicConfig(1 << 20, SyncMode.STRICT, 1, false, Map.of());
        Plan plan = configured("n2").plan();

        assertThat(plan.configure()).contains(new Configure(List.of(), true));
        assertThat(plan.configure().get().setting()).isEqualTo("*");
    }

    @Test
    void nosyncStandbysAndNonStreamingOnesAreNeverChosen() {
        replica("n2", new NodeTags(false, false, true)).replica("n3", NodeTags.NONE);
        Plan plan = standbys(streaming("n2", "0/90", "async"), new Standby("n3", "catchup", "async", Lsn.parse("0/10")))
                .plan();

        assertThat(plan.configure()).isEmpty();
        assertThat(plan.reason()).contains("as it should be");
    }

    @Test
    void theCurrentStandbyIsKeptEvenWhenAnotherIsFurtherAhead() {
        replica("n2", NodeTags.NONE).replica("n3", NodeTags.NONE);
        Plan plan = standbys(streaming("n2", "0/10", "sync"), streaming("n3", "0/90", "async"))
                .configured("n2")
                .published("n2")
                .plan();

        assertThat(plan.publish()).isEmpty();
        assertThat(plan.configure()).isEmpty();
    }

    @Test
    void turningTheModeOffDeletesTheKeyThenStopsWaiting() {
        config = DynamicConfig.DEFAULTS;
        Plan delete = configured("n2").published("n2").plan();
        assertThat(delete.publish()).contains(Optional.empty());

        published = Optional.empty();
        Plan stop = plan();
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
