package io.warden.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import io.warden.cluster.ClusterSnapshot;
import io.warden.cluster.DynamicConfig;
import io.warden.cluster.LeaderKey;
import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.NodeTags;
import io.warden.cluster.Optime;
import io.warden.cluster.Role;
import io.warden.cluster.SyncMode;
import io.warden.postgres.DataState;
import io.warden.postgres.LocalState;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Every branch of {@link HaDecider#decide}, from hand-built inputs: no processes, no DCS, no clock. */
class HaDeciderTest {

    private static final String ME = "n1";
    private static final long MY_LEASE = 0x1111L;
    private static final long OLD_LEASE = 0x0999L;
    private static final long OTHER_LEASE = 0x2222L;
    private static final String SYSID = "7301234567890123456";
    private static final NodeTags NOFAILOVER = new NodeTags(true, false, false);

    // ------------------------------------------------------------------------------------------------------------
    // Input builder
    // ------------------------------------------------------------------------------------------------------------

    /** Fluent builder of an {@link HaInput}; defaults: initialized cluster, no leader, healthy replica "n1". */
    static final class In {
        private String name = ME;
        private long leaseId = MY_LEASE;
        private NodeTags tags = NodeTags.NONE;
        private Optional<String> initialize = Optional.of(SYSID);
        private Optional<LeaderKey> leader = Optional.empty();
        private final Map<String, Member> members = new LinkedHashMap<>();
        private Optional<Optime> optime = Optional.empty();
        private DynamicConfig config = DynamicConfig.DEFAULTS;
        private DataState data = DataState.RUNNING_REPLICA;
        private long timeline = 1;
        private Lsn lsn = Lsn.parse("0/3000000");
        private String upstream = "";
        private boolean leaseValid = true;
        private boolean canLead = true;
        private final Map<String, Lsn> peers = new LinkedHashMap<>();
        private Duration primaryDownFor = Duration.ZERO;
        private Duration primaryStartTimeout = Duration.ofSeconds(30);
        private Boolean streaming;
        private Duration notStreamingFor = Duration.ZERO;
        private boolean upstreamWalGone;
        private Optional<io.warden.cluster.Switchover> switchover = Optional.empty();

        private Optional<io.warden.cluster.SyncState> sync = Optional.empty();
        private java.time.Instant now = java.time.Instant.parse("2026-11-22T12:00:00Z");
        private boolean handedOver;
        private final List<io.warden.cluster.HistoryEntry> history = new java.util.ArrayList<>();
        private final Map<String, Long> peerTimelines = new LinkedHashMap<>();
        private final Set<String> primaryPeers = new java.util.HashSet<>();
        private String systemIdentifier = SYSID;

        /** The cluster's history records a promotion to {@code value}. */
        In historyUpTo(long value) {
            for (long tl = 1; tl <= value; tl++) {
                history.add(new io.warden.cluster.HistoryEntry(
                        tl, "0/0", "n" + tl, "2026-11-22T11:00:00Z", tl == 1 ? "bootstrap" : "promoted"));
            }
            return this;
        }

        /** A peer reporting {@code position} on {@code peerTimeline}. */
        In peerOn(String peer, long peerTimeline, String position) {
            peer(peer, position);
            peerTimelines.put(peer, peerTimeline);
            return this;
        }

        /** A peer whose agent reports its postgres running as a primary. */
        In primaryPeer(String peer) {
            members.putIfAbsent(peer, memberOf(peer, Role.PRIMARY, 5000, NodeTags.NONE));
            primaryPeers.add(peer);
            return this;
        }

        /** This node's data directory has {@code value} as its system identifier. */
        In systemIdentifier(String value) {
            systemIdentifier = value;
            return this;
        }

        In switchover(String leaderName, String candidate) {
            switchover = Optional.of(new io.warden.cluster.Switchover(leaderName, candidate, "now"));
            return this;
        }

        In switchoverAt(String leaderName, String candidate, String at) {
            switchover = Optional.of(new io.warden.cluster.Switchover(leaderName, candidate, "now", at, false));
            return this;
        }

        In failoverTo(String candidate) {
            switchover = Optional.of(new io.warden.cluster.Switchover("", candidate, "now", "", true));
            return this;
        }

        In config(DynamicConfig value) {
            config = value;
            return this;
        }

        In paused() {
            config = config.withPause(true);
            return this;
        }

        /** synchronous_mode on (or strict), with {@code standbys} published as {@code leaderName}'s sync set. */
        In sync(io.warden.cluster.SyncMode mode, String leaderName, String... standbys) {
            config = new DynamicConfig(config.maximumLagOnFailover(), mode, 1, config.pause(), config.parameters());
            sync = Optional.of(new io.warden.cluster.SyncState(leaderName, List.of(standbys)));
            return this;
        }

        In handedOver() {
            handedOver = true;
            return this;
        }

        static In node() {
            return new In();
        }

        In name(String value) {
            name = value;
            return this;
        }

        In leaseId(long value) {
            leaseId = value;
            return this;
        }

        In tags(NodeTags value) {
            tags = value;
            return this;
        }

        In nofailover() {
            return tags(NOFAILOVER);
        }

        In initialize(String value) {
            initialize = Optional.of(value);
            return this;
        }

        In notInitialized() {
            initialize = Optional.empty();
            return this;
        }

        /** Leader key naming {@code holder}, bound to {@code lease}. */
        In leaderKey(String holder, long lease) {
            leader = Optional.of(new LeaderKey(holder, lease, 42));
            return this;
        }

        /** Leader key naming me, bound to my current lease. */
        In iHoldKey() {
            return leaderKey(name, leaseId);
        }

        /** Leader key naming {@code holder}, with its member published and its postgres running. */
        In leader(String holder) {
            leaderKey(holder, OTHER_LEASE);
            return member(memberOf(holder, Role.PRIMARY, 4242, NodeTags.NONE));
        }

        In noLeader() {
            leader = Optional.empty();
            return this;
        }

        In member(Member m) {
            members.put(m.name(), m);
            return this;
        }

        In optime(String position) {
            optime = Optional.of(new Optime(position, 1));
            return this;
        }

        In maxLag(long bytes) {
            config = new DynamicConfig(bytes, Map.of());
            return this;
        }

        In data(DataState value) {
            data = value;
            return this;
        }

        In timeline(long value) {
            timeline = value;
            return this;
        }

        In lsn(String value) {
            lsn = Lsn.parse(value);
            return this;
        }

        In upstream(String value) {
            upstream = value;
            return this;
        }

        In leaseValid(boolean value) {
            leaseValid = value;
            return this;
        }

        In canLead(boolean value) {
            canLead = value;
            return this;
        }

        /** A peer's reported WAL position, and (unless already there) its published member entry. */
        In peer(String peer, String position) {
            return peer(peer, position, NodeTags.NONE);
        }

        In peer(String peer, String position, NodeTags peerTags) {
            peers.put(peer, Lsn.parse(position));
            members.putIfAbsent(peer, memberOf(peer, Role.REPLICA, 5000, peerTags));
            return this;
        }

        /** A reported position from a node that has no member entry in the DCS. */
        In unpublishedPeer(String peer, String position) {
            peers.put(peer, Lsn.parse(position));
            return this;
        }

        /** A replica whose WAL receiver is not connected, for this long. */
        In notStreamingFor(Duration value) {
            streaming = false;
            notStreamingFor = value;
            return this;
        }

        /** The agent found the leader's oldest WAL file past this replica's position. */
        In upstreamWalGone() {
            upstreamWalGone = true;
            return this;
        }

        In primaryDownFor(Duration value) {
            primaryDownFor = value;
            return this;
        }

        In primaryStartTimeout(Duration value) {
            primaryStartTimeout = value;
            return this;
        }

        private final List<io.warden.cluster.RouterStatus> routers = new java.util.ArrayList<>();
        private Duration keyHeldFor = Duration.ZERO;

        /** A live router (ttl 3 s) that says it routes writes to {@code primary} ("" for nobody). */
        In router(String id, String primary) {
            routers.add(new io.warden.cluster.RouterStatus(
                    id, "127.0.0.1", 5432, 5433, "http://127.0.0.1:6051", 1, Map.of(), primary, 3000));
            return this;
        }

        private RejoinFacts rejoin = RejoinFacts.NONE;
        private HandOverProgress handOver;
        private Duration keyTakenBackFor;

        /** This primary took its leader key back this long ago and has not led on past the router barrier yet. */
        In keyTakenBackFor(Duration value) {
            keyTakenBackFor = value;
            return this;
        }

        In handOver(HandOverProgress value) {
            handOver = value;
            return this;
        }

        In rejoin(RejoinFacts value) {
            rejoin = value;
            return this;
        }

        In keyHeldFor(Duration value) {
            keyHeldFor = value;
            return this;
        }

        HaInput build() {
            ClusterSnapshot.Builder cluster =
                    ClusterSnapshot.builder(100).config(config, 7).history(history);
            initialize.ifPresent(cluster::initialize);
            leader.ifPresent(cluster::leader);
            members.values().forEach(cluster::member);
            optime.ifPresent(cluster::optime);
            switchover.ifPresent(request -> cluster.switchover(request, 0));
            sync.ifPresent(cluster::sync);
            routers.forEach(cluster::router);
            boolean isStreaming = streaming != null ? streaming : data == DataState.RUNNING_REPLICA;
            LocalState local = new LocalState(
                    data,
                    timeline,
                    lsn,
                    isStreaming,
                    upstream,
                    data == DataState.RUNNING_PRIMARY || data == DataState.RUNNING_REPLICA ? 777 : 0);
            Map<String, Position> positions = new LinkedHashMap<>();
            peers.forEach((peer, position) ->
                    positions.put(peer, new Position(peerTimelines.getOrDefault(peer, timeline), position)));
            return new HaInput(
                    name,
                    leaseId,
                    tags,
                    cluster.build(),
                    local,
                    leaseValid,
                    canLead,
                    positions,
                    primaryDownFor,
                    primaryStartTimeout,
                    notStreamingFor,
                    upstreamWalGone,
                    now,
                    handedOver,
                    true,
                    java.util.Set.of(),
                    primaryPeers,
                    data == DataState.EMPTY ? "" : systemIdentifier,
                    keyHeldFor,
                    Duration.ofSeconds(3),
                    rejoin,
                    Optional.ofNullable(handOver),
                    Optional.ofNullable(keyTakenBackFor));
        }

        Decision decide() {
            return HaDecider.decide(build());
        }
    }

    static Member memberOf(String name, Role role, long postgresPid, NodeTags tags) {
        int index = Math.abs(name.hashCode() % 200) + 10;
        return new Member(
                name,
                role,
                role == Role.PRIMARY ? MemberState.RUNNING : MemberState.STREAMING,
                "10.0.0." + index,
                5432,
                "http://10.0.0." + index + ":8008",
                1,
                "0/3000000",
                0,
                tags,
                1000 + index,
                postgresPid,
                "instance-" + name,
                "/data/" + name,
                false);
    }

    static String address(Member m) {
        return m.host() + ":" + m.port();
    }

    static In node() {
        return In.node();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Fencing
    // ------------------------------------------------------------------------------------------------------------

    @Nested
    class Fencing {

        @Test
        void runningPrimaryHoldingKeyWithValidLeaseLeads() {
            Decision d = node().data(DataState.RUNNING_PRIMARY).iHoldKey().decide();

            assertThat(d.action()).isEqualTo(Action.LEAD);
            assertThat(d.target()).isEmpty();
            assertThat(d.reason()).contains("valid lease");
        }

        @Test
        void runningPrimaryHoldingKeyWithoutValidLeaseIsFenced() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .iHoldKey()
                    .leaseValid(false)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.FENCE);
            assertThat(d.reason()).contains("fencing").contains("could not be renewed");
        }

        @Test
        void runningPrimaryWhileAnotherHoldsTheKeyIsFenced() {
            Decision d = node().data(DataState.RUNNING_PRIMARY).leader("n2").decide();

            assertThat(d.action()).isEqualTo(Action.FENCE);
            assertThat(d.reason()).contains("fencing").contains("n2").contains("holds the leader key");
        }

        @Test
        void runningPrimaryIsFencedWhenAnotherHoldsTheKeyEvenIfItsMemberIsNotPublished() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .leaderKey("n3", OTHER_LEASE)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.FENCE);
            assertThat(d.reason()).contains("n3");
        }

        @Test
        void runningPrimaryIsFencedWhenAnotherHoldsTheKeyEvenNotInitializedOrWithoutWatchdog() {
            assertThat(node().data(DataState.RUNNING_PRIMARY)
                            .leader("n2")
                            .notInitialized()
                            .decide()
                            .action())
                    .isEqualTo(Action.FENCE);
            assertThat(node().data(DataState.RUNNING_PRIMARY)
                            .leader("n2")
                            .canLead(false)
                            .decide()
                            .action())
                    .isEqualTo(Action.FENCE);
            assertThat(node().data(DataState.RUNNING_PRIMARY)
                            .leader("n2")
                            .leaseValid(false)
                            .decide()
                            .action())
                    .isEqualTo(Action.FENCE);
        }

        @Test
        void runningPrimaryWhoseKeyNamesMeUnderAnOlderLeaseIsFenced() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .leaderKey(ME, OLD_LEASE)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.FENCE);
            assertThat(d.reason()).contains("fencing").contains("leader key");
        }

        @Test
        void runningPrimaryWhoseKeyNamesMeUnderAnOlderLeaseIsFencedEvenWithoutValidLease() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .leaderKey(ME, OLD_LEASE)
                    .leaseValid(false)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.FENCE);
        }

        @Test
        void runningPrimaryWithNoKeyAndValidLeaseTakesLeadershipBack() {
            Decision d = node().data(DataState.RUNNING_PRIMARY).noLeader().decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
            assertThat(d.target()).isEmpty();
            assertThat(d.reason()).contains("leader key is gone");
        }

        /**
         * A postgres that does not answer its own agent (starting, dying, or killed a moment ago by the lease keeper)
         * is judged running as primary, but its timeline is unknown: nothing shows it is not behind a timeline
         * the cluster moved on to, so it may not take the key back.
         */
        @Test
        void runningPrimaryThatDoesNotAnswerItsAgentIsFencedNotGivenTheKeyBack() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .timeline(0)
                    .lsn("0/0")
                    .noLeader()
                    .decide();

            assertThat(d.action()).isEqualTo(Action.FENCE);
            assertThat(d.reason()).contains("timeline is unknown");
        }

        @Test
        void runningPrimaryWithNoKeyAndInvalidLeaseIsFenced() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .noLeader()
                    .leaseValid(false)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.FENCE);
            assertThat(d.reason()).contains("nobody holds the leader key");
        }

        @Test
        void runningPrimaryWithNoKeyAndNoWatchdogIsFenced() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .noLeader()
                    .canLead(false)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.FENCE);
        }

        @Test
        void runningPrimaryWithNoKeyInAnUninitializedClusterIsFenced() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .noLeader()
                    .notInitialized()
                    .decide();

            assertThat(d.action()).isEqualTo(Action.FENCE);
        }

        @Test
        void fencingComesBeforeBootstrapLogic() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .initialize("bootstrapping")
                    .leader("n2")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.FENCE);
        }

        @ParameterizedTest
        @EnumSource(value = DataState.class, names = "RUNNING_PRIMARY", mode = EnumSource.Mode.EXCLUDE)
        void keyNamingMeUnderAnOlderLeaseMeansWait(DataState data) {
            Decision d = node().data(data).leaderKey(ME, OLD_LEASE).decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("earlier lease");
        }

        @Test
        void keyNamingMeUnderAnOlderLeaseMeansWaitAlsoDuringBootstrap() {
            Decision d = node().data(DataState.EMPTY)
                    .notInitialized()
                    .leaderKey(ME, OLD_LEASE)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("earlier lease");
        }

        @Test
        void keyNamingAnotherNodeWithMyLeaseIdIsNotMine() {
            // Lease ids are per agent; equality of ids alone must not make the key ours.
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .leaderKey("n2", MY_LEASE)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.FENCE);
            assertThat(d.reason()).contains("n2");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Bootstrap
    // ------------------------------------------------------------------------------------------------------------

    @Nested
    class Bootstrap {

        @Test
        void uninitializedClusterWithEmptyDataRacesToBootstrap() {
            Decision d = node().notInitialized().data(DataState.EMPTY).decide();

            assertThat(d.action()).isEqualTo(Action.BOOTSTRAP);
            assertThat(d.target()).isEmpty();
            assertThat(d.reason()).contains("not initialized").contains("racing");
        }

        @Test
        void uninitializedClusterWaitsWhileAnotherHoldsTheKey() {
            Decision d = node().notInitialized()
                    .data(DataState.EMPTY)
                    .leaderKey("n2", OTHER_LEASE)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("n2").contains("bootstrap");
        }

        @ParameterizedTest
        @EnumSource(
                value = DataState.class,
                names = {"STOPPED_PRIMARY", "STOPPED_REPLICA", "RUNNING_REPLICA"})
        void uninitializedClusterWithLocalDataRefusesToBootstrap(DataState data) {
            Decision d = node().notInitialized().data(data).decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("refusing").contains("data directory");
        }

        @Test
        void uninitializedClusterWithoutWatchdogDoesNotRace() {
            Decision d =
                    node().notInitialized().data(DataState.EMPTY).canLead(false).decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("watchdog");
        }

        @Test
        void bootstrappingWhileHoldingTheKeyWithValidLeaseRunsInitdb() {
            Decision d = node().initialize("bootstrapping")
                    .iHoldKey()
                    .data(DataState.EMPTY)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.BOOTSTRAP);
            assertThat(d.reason()).contains("won the bootstrap race");
        }

        /**
         * BUG (reported, not fixed): holding the key under a lease that is no longer known to be valid falls through
         * to the "racing" branch and returns BOOTSTRAP; Primary.bootstrap then skips the claim (the key names us) and
         * runs initdb although the key may expire at any moment and another node may bootstrap too.
         */
        @Test
        void bootstrappingWhileHoldingTheKeyWithInvalidLeaseWaits() {
            Decision d = node().initialize("bootstrapping")
                    .iHoldKey()
                    .leaseValid(false)
                    .data(DataState.EMPTY)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
        }

        @Test
        void bootstrappingByAnotherNodeMeansWait() {
            Decision d = node().initialize("bootstrapping")
                    .leaderKey("n2", OTHER_LEASE)
                    .data(DataState.EMPTY)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("waiting for n2");
        }

        @Test
        void bootstrappingByAnotherPublishedLeaderIsNotCloned() {
            // Even a published, running leader is not cloned from before initialize holds a system identifier.
            Decision d = node().initialize("bootstrapping")
                    .leader("n2")
                    .data(DataState.EMPTY)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("n2");
        }

        @Test
        void bootstrappingWithoutLeaderAndLocalDataRefuses() {
            Decision d = node().initialize("bootstrapping")
                    .data(DataState.STOPPED_REPLICA)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("refusing");
        }

        @Test
        void initializedClusterDoesNotBootstrap() {
            Decision d = node().data(DataState.EMPTY).noLeader().decide();

            assertThat(d.action()).isNotEqualTo(Action.BOOTSTRAP);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Empty data directory in an initialized cluster
    // ------------------------------------------------------------------------------------------------------------

    @Nested
    class Clone {

        @Test
        void emptyDataWithRunningLeaderClonesFromIt() {
            Decision d = node().data(DataState.EMPTY).leader("n2").decide();

            assertThat(d.action()).isEqualTo(Action.CLONE);
            assertThat(d.target()).map(Member::name).contains("n2");
            assertThat(d.reason()).contains("n2");
        }

        @Test
        void emptyDataWithLeaderWhosePostgresIsDownWaits() {
            Decision d = node().data(DataState.EMPTY)
                    .leaderKey("n2", OTHER_LEASE)
                    .member(memberOf("n2", Role.PRIMARY, 0, NodeTags.NONE))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.target()).isEmpty();
            assertThat(d.reason()).contains("no running leader");
        }

        @Test
        void emptyDataWithUnpublishedLeaderWaits() {
            Decision d =
                    node().data(DataState.EMPTY).leaderKey("n2", OTHER_LEASE).decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
        }

        @Test
        void emptyDataWithoutLeaderWaits() {
            Decision d = node().data(DataState.EMPTY)
                    .noLeader()
                    .peer("n2", "0/9000000")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("empty");
        }

        @Test
        void emptyDataWhileHoldingTheKeyDoesNotCloneFromMyself() {
            Decision d = node().data(DataState.EMPTY)
                    .iHoldKey()
                    .member(memberOf(ME, Role.PRIMARY, 4242, NodeTags.NONE))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Stopped primary data directory
    // ------------------------------------------------------------------------------------------------------------

    @Nested
    class StoppedPrimary {

        @Test
        void holdingTheKeyRestartsInPlace() {
            Decision d = node().data(DataState.STOPPED_PRIMARY)
                    .iHoldKey()
                    .primaryDownFor(Duration.ofSeconds(5))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.RESTART_PRIMARY);
            assertThat(d.target()).isEmpty();
            assertThat(d.reason()).contains("restarting");
        }

        @Test
        void holdingTheKeyExactlyAtTheTimeoutStillRestarts() {
            Decision d = node().data(DataState.STOPPED_PRIMARY)
                    .iHoldKey()
                    .primaryDownFor(Duration.ofSeconds(30))
                    .primaryStartTimeout(Duration.ofSeconds(30))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.RESTART_PRIMARY);
        }

        @Test
        void holdingTheKeyPastPrimaryStartTimeoutReleasesIt() {
            Decision d = node().data(DataState.STOPPED_PRIMARY)
                    .iHoldKey()
                    .primaryDownFor(Duration.ofSeconds(31))
                    .primaryStartTimeout(Duration.ofSeconds(30))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.RELEASE_LEADERSHIP);
            assertThat(d.reason()).contains("primary_start_timeout").contains("30s");
        }

        @Test
        void holdingTheKeyWithInvalidLeaseDoesNotRestart() {
            Decision d = node().data(DataState.STOPPED_PRIMARY)
                    .iHoldKey()
                    .leaseValid(false)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("lease is not valid");
        }

        @Test
        void holdingTheKeyWithInvalidLeasePastTimeoutStillWaits() {
            Decision d = node().data(DataState.STOPPED_PRIMARY)
                    .iHoldKey()
                    .leaseValid(false)
                    .primaryDownFor(Duration.ofMinutes(5))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
        }

        @Test
        void anotherLeaderMeansRewindFromIt() {
            Decision d = node().data(DataState.STOPPED_PRIMARY).leader("n2").decide();

            assertThat(d.action()).isEqualTo(Action.REWIND);
            assertThat(d.target()).map(Member::name).contains("n2");
            assertThat(d.reason()).contains("rewinding").contains("n2");
        }

        /**
         * pg_rewind from a stopped leader fails, and Rejoin.rewind would then remove this former primary's data
         * directory to re-clone, which fails too.
         */
        @Test
        void leaderWhosePostgresIsDownIsNotRewoundFrom() {
            Decision d = node().data(DataState.STOPPED_PRIMARY)
                    .leaderKey("n2", OTHER_LEASE)
                    .member(memberOf("n2", Role.PRIMARY, 0, NodeTags.NONE))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
        }

        @Test
        void aLeaderStillPromotingIsNotRewoundFrom() {
            Member promoting = memberOf("n2", Role.REPLICA, 4242, NodeTags.NONE);
            Decision d = node().data(DataState.STOPPED_PRIMARY)
                    .leaderKey("n2", OTHER_LEASE)
                    .member(promoting)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("to run as primary before rewinding");
        }

        @Test
        void noLeaderMeansStartReadOnlyToJoinTheRace() {
            Decision d = node().data(DataState.STOPPED_PRIMARY).noLeader().decide();

            assertThat(d.action()).isEqualTo(Action.START_REPLICA);
            assertThat(d.target()).isEmpty();
            assertThat(d.reason()).contains("no leader");
        }

        @Test
        void unpublishedOtherLeaderMeansStartReadOnlyWithoutTarget() {
            Decision d = node().data(DataState.STOPPED_PRIMARY)
                    .leaderKey("n2", OTHER_LEASE)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.START_REPLICA);
            assertThat(d.target()).isEmpty();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Stopped replica data directory
    // ------------------------------------------------------------------------------------------------------------

    @Nested
    class StoppedReplica {

        @Test
        void withLeaderStartsFollowingIt() {
            Decision d = node().data(DataState.STOPPED_REPLICA).leader("n2").decide();

            assertThat(d.action()).isEqualTo(Action.START_REPLICA);
            assertThat(d.target()).map(Member::name).contains("n2");
            assertThat(d.reason()).contains("n2");
        }

        @Test
        void withoutLeaderStartsReadOnly() {
            Decision d = node().data(DataState.STOPPED_REPLICA).noLeader().decide();

            assertThat(d.action()).isEqualTo(Action.START_REPLICA);
            assertThat(d.target()).isEmpty();
            assertThat(d.reason()).contains("no leader");
        }

        @Test
        void holdingTheKeyStartsReadOnlyWithoutFollowingMyself() {
            Decision d = node().data(DataState.STOPPED_REPLICA)
                    .iHoldKey()
                    .member(memberOf(ME, Role.REPLICA, 0, NodeTags.NONE))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.START_REPLICA);
            assertThat(d.target()).isEmpty();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Running replica
    // ------------------------------------------------------------------------------------------------------------

    @Nested
    class Switchovers {
        private Member streaming(String name) {
            return memberOf(name, Role.REPLICA, 5000, NodeTags.NONE);
        }

        @Test
        void theLeaderHandsOverToTheNamedStreamingCandidate() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .iHoldKey()
                    .member(streaming("n2"))
                    .switchover("n1", "n2")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.HAND_OVER);
            assertThat(d.target()).map(Member::name).contains("n2");
        }

        @Test
        void theLeaderKeepsLeadingWhenTheCandidateIsNotStreaming() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .iHoldKey()
                    .switchover("n1", "n9")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.LEAD);
            assertThat(d.reason()).contains("no healthy candidate");
        }

        @Test
        void otherReplicasWaitForTheNamedCandidate() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .member(streaming("n2"))
                    .switchover("n3", "n2")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("switchover to n2");
        }

        @Test
        void theNamedCandidateTakesTheKeyEvenIfAPeerReportsMore() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .switchover("n3", "n1")
                    .peer("n2", "F/0")
                    .member(streaming("n2"))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void aSwitchoverMeantForAnotherLeaderIsIgnored() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .iHoldKey()
                    .member(streaming("n2"))
                    .switchover("n7", "n2")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.LEAD);
        }
    }

    @Nested
    class RunningReplica {

        @Test
        void holdingTheKeyPromotes() {
            Decision d = node().data(DataState.RUNNING_REPLICA).iHoldKey().decide();

            assertThat(d.action()).isEqualTo(Action.PROMOTE);
            assertThat(d.reason()).contains("promoting");
        }

        @Test
        void holdingTheKeyWithoutWatchdogDoesNotPromote() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .iHoldKey()
                    .canLead(false)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("not promoting");
        }

        @Test
        void holdingTheKeyWithInvalidLeaseDoesNotPromote() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .iHoldKey()
                    .leaseValid(false)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("not promoting");
        }

        @Test
        void holdingTheKeyPromotesEvenIfTaggedNofailover() {
            // The tag keeps a node out of the automatic race; once the key is ours (e.g. a manual switchover) we act on
            // it.
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .iHoldKey()
                    .nofailover()
                    .decide();

            assertThat(d.action()).isEqualTo(Action.PROMOTE);
        }

        private Member leaderOnTimeline(String name, long timeline) {
            Member m = memberOf(name, Role.PRIMARY, 4242, NodeTags.NONE);
            return new Member(
                    m.name(),
                    m.role(),
                    m.state(),
                    m.host(),
                    m.port(),
                    m.apiUrl(),
                    timeline,
                    m.lsn(),
                    0,
                    m.tags(),
                    m.agentPid(),
                    m.postgresPid(),
                    m.instanceId(),
                    m.dataDir(),
                    false);
        }

        @Test
        void aReplicaStrandedOnAnOlderTimelineIsRewoundAfterTheGracePeriod() {
            Member leader = leaderOnTimeline("n2", 2);
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .leader("n2")
                    .member(leader)
                    .upstream(address(leader))
                    .notStreamingFor(Duration.ofSeconds(11))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.REWIND);
            assertThat(d.target()).map(Member::name).contains("n2");
            assertThat(d.reason()).contains("stranded on timeline 1").contains("on 2");
        }

        @Test
        void aReplicaNotStreamingForLessThanTheGraceIsLeftAlone() {
            Member leader = leaderOnTimeline("n2", 2);
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .leader("n2")
                    .member(leader)
                    .upstream(address(leader))
                    .notStreamingFor(Duration.ofSeconds(5))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.KEEP_FOLLOWING);
        }

        @Test
        void aReplicaNotStreamingOnTheLeadersTimelineIsNotRewound() {
            Member leader = leaderOnTimeline("n2", 1);
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .leader("n2")
                    .member(leader)
                    .upstream(address(leader))
                    .notStreamingFor(Duration.ofMinutes(5))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.KEEP_FOLLOWING);
        }

        @Test
        void aReplicaWhoseWalTheLeaderRecycledIsReclonedAfterTheGracePeriod() {
            Member leader = leaderOnTimeline("n2", 2);
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .timeline(2)
                    .leader("n2")
                    .member(leader)
                    .upstream(address(leader))
                    .notStreamingFor(Duration.ofSeconds(11))
                    .upstreamWalGone()
                    .decide();

            assertThat(d.action()).isEqualTo(Action.RECLONE);
            assertThat(d.target()).map(Member::name).contains("n2");
            assertThat(d.reason()).contains("already recycled the WAL I need");
        }

        @Test
        void aReplicaThatCannotBeQueriedYetIsReclonedWhenItsWalIsGone() {
            // Not consistent yet after a rewind: the agent cannot read its timeline, only its control file.
            Member leader = leaderOnTimeline("n2", 2);
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .timeline(0)
                    .leader("n2")
                    .member(leader)
                    .upstream(address(leader))
                    .notStreamingFor(Duration.ofSeconds(30))
                    .upstreamWalGone()
                    .decide();

            assertThat(d.action()).isEqualTo(Action.RECLONE);
        }

        @Test
        void aReplicaWhoseWalIsGoneWaitsOutTheGraceAndAStoppedLeader() {
            Member leader = leaderOnTimeline("n2", 2);
            assertThat(node().data(DataState.RUNNING_REPLICA)
                            .timeline(2)
                            .leader("n2")
                            .member(leader)
                            .upstream(address(leader))
                            .notStreamingFor(Duration.ofSeconds(5))
                            .upstreamWalGone()
                            .decide()
                            .action())
                    .isEqualTo(Action.KEEP_FOLLOWING);

            Member stopped = new Member(
                    leader.name(),
                    leader.role(),
                    MemberState.STOPPED,
                    leader.host(),
                    leader.port(),
                    leader.apiUrl(),
                    2,
                    leader.lsn(),
                    0,
                    leader.tags(),
                    leader.agentPid(),
                    0,
                    leader.instanceId(),
                    leader.dataDir(),
                    false);
            assertThat(node().data(DataState.RUNNING_REPLICA)
                            .timeline(2)
                            .leader("n2")
                            .member(stopped)
                            .upstream(address(stopped))
                            .notStreamingFor(Duration.ofMinutes(5))
                            .upstreamWalGone()
                            .decide()
                            .action())
                    .isEqualTo(Action.KEEP_FOLLOWING);
        }

        @Test
        void aReplicaWhoseWalIsGoneIsNotReclonedInMaintenanceMode() {
            Member leader = leaderOnTimeline("n2", 2);
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .timeline(2)
                    .leader("n2")
                    .member(leader)
                    .paused()
                    .upstream(address(leader))
                    .notStreamingFor(Duration.ofMinutes(5))
                    .upstreamWalGone()
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("maintenance mode");
        }

        @Test
        void upstreamNotSetFollowsTheLeader() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .leader("n2")
                    .upstream("")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.REPOINT);
            assertThat(d.target()).map(Member::name).contains("n2");
            assertThat(d.reason()).contains("new leader n2");
        }

        @Test
        void upstreamOfAnOldLeaderFollowsTheNewOne() {
            Member n3 = memberOf("n3", Role.REPLICA, 5000, NodeTags.NONE);
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .leader("n2")
                    .member(n3)
                    .upstream(address(n3))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.REPOINT);
            assertThat(d.target()).map(Member::name).contains("n2");
        }

        @Test
        void upstreamOnSameHostButOtherPortFollows() {
            Member n2 = memberOf("n2", Role.PRIMARY, 4242, NodeTags.NONE);
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .leader("n2")
                    .upstream(n2.host() + ":" + (n2.port() + 1))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.REPOINT);
        }

        @Test
        void upstreamAlreadyTheLeaderIsFollowing() {
            Member n2 = memberOf("n2", Role.PRIMARY, 4242, NodeTags.NONE);
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .leader("n2")
                    .upstream(address(n2))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.KEEP_FOLLOWING);
            assertThat(d.target()).map(Member::name).contains("n2");
            assertThat(d.reason()).contains("streaming from leader n2");
        }

        @Test
        void leaderKeyWithoutPublishedMemberWaits() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .leaderKey("n2", OTHER_LEASE)
                    .peer("n3", "1/0")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("n2").contains("not published");
        }

        @Test
        void aLeaderExistingMeansNoRaceWhateverThePeers() {
            Member n2 = memberOf("n2", Role.PRIMARY, 4242, NodeTags.NONE);
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .leader("n2")
                    .upstream(address(n2))
                    .lsn("5/0")
                    .peer("n3", "1/0")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.KEEP_FOLLOWING);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Failover race (running replica, no leader key)
    // ------------------------------------------------------------------------------------------------------------

    @Nested
    class FailoverCandidate {

        private In candidate() {
            return node().data(DataState.RUNNING_REPLICA).noLeader().lsn("0/5000000");
        }

        @Test
        void aloneAndHealthyTakesLeadership() {
            Decision d = candidate().decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
            assertThat(d.target()).isEmpty();
            assertThat(d.reason()).contains("most advanced").contains("0/5000000");
        }

        @Test
        void taggedNofailoverWaits() {
            Decision d = candidate().nofailover().decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("nofailover");
        }

        @Test
        void invalidLeaseWaits() {
            Decision d = candidate().leaseValid(false).decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("lease is not valid");
        }

        @Test
        void unreachableWatchdogWaits() {
            Decision d = candidate().canLead(false).decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("watchdog");
        }

        @Test
        void lagBeyondMaximumLagOnFailoverWaits() {
            // 0/5000000 is 0x1000000 = 16777216 bytes behind 0/6000000; the default limit is 1 MiB.
            Decision d = candidate().optime("0/6000000").decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason())
                    .contains("maximum_lag_on_failover")
                    .contains("16777216 bytes behind")
                    .contains("0/6000000")
                    .contains(String.valueOf(1L << 20));
        }

        @Test
        void lagExactlyAtMaximumLagOnFailoverMayRace() {
            Decision d = candidate()
                    .lsn("0/5000000")
                    .optime("0/5100000")
                    .maxLag(0x100000)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void lagOneByteBeyondConfiguredLimitWaits() {
            Decision d = candidate()
                    .lsn("0/5000000")
                    .optime("0/5100001")
                    .maxLag(0x100000)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("maximum_lag_on_failover 1048576");
        }

        @Test
        void zeroMaximumLagDemandsBeingLevelWithTheLastPrimaryPosition() {
            assertThat(candidate().optime("0/5000000").maxLag(0).decide().action())
                    .isEqualTo(Action.TAKE_LEADERSHIP);
            assertThat(candidate().optime("0/5000001").maxLag(0).decide().action())
                    .isEqualTo(Action.WAIT);
        }

        @Test
        void aheadOfTheLastPrimaryPositionMayRace() {
            Decision d = candidate().optime("0/4000000").decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void lagAcrossTheHighWordIsMeasuredInBytes() {
            Decision d =
                    candidate().lsn("0/FFFFFFF0").optime("1/10").maxLag(0x20).decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
            assertThat(candidate()
                            .lsn("0/FFFFFFF0")
                            .optime("1/11")
                            .maxLag(0x20)
                            .decide()
                            .action())
                    .isEqualTo(Action.WAIT);
        }

        @Test
        void moreAdvancedEligiblePeerWins() {
            Decision d = candidate().peer("n2", "0/5000001").decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("n2").contains("further ahead").contains("0/5000001");
        }

        @Test
        void moreAdvancedPeerTaggedNofailoverIsIgnored() {
            Decision d = candidate().peer("n2", "9/0", NOFAILOVER).decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void moreAdvancedPeerWithoutMemberEntryIsIgnored() {
            Decision d = candidate().unpublishedPeer("n4", "9/0").decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void oneEligibleAdvancedPeerAmongIneligibleOnesStillWins() {
            Decision d = candidate()
                    .peer("n2", "9/0", NOFAILOVER)
                    .peer("n3", "0/4000000")
                    .peer("n4", "0/6000000")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("n4");
        }

        @Test
        void equalPositionsTakeLeadership() {
            // Ties are broken by the DCS: every tied node races, the leader-key transaction admits one.
            Decision d =
                    candidate().peer("n2", "0/5000000").peer("n3", "0/5000000").decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void peersBehindTakeLeadership() {
            Decision d = candidate().peer("n2", "0/4FFFFFF").peer("n3", "0/0").decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void peerPositionsAreComparedAcrossTheHighWord() {
            assertThat(candidate().lsn("0/FFFFFFFF").peer("n2", "1/0").decide().action())
                    .isEqualTo(Action.WAIT);
            assertThat(candidate().lsn("1/0").peer("n2", "0/FFFFFFFF").decide().action())
                    .isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void nofailoverIsCheckedBeforeLagAndPeers() {
            Decision d = candidate()
                    .nofailover()
                    .optime("9/0")
                    .peer("n2", "9/0")
                    .leaseValid(false)
                    .decide();

            assertThat(d.reason()).contains("nofailover");
        }

        @Test
        void lagIsCheckedBeforePeers() {
            Decision d = candidate().optime("9/0").peer("n2", "9/0").decide();

            assertThat(d.reason()).contains("maximum_lag_on_failover");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Properties over random inputs
    // ------------------------------------------------------------------------------------------------------------

    @Nested
    class OperatorRequests {
        private Member streaming(String name) {
            return memberOf(name, Role.REPLICA, 5000, NodeTags.NONE);
        }

        @Test
        void aScheduledSwitchoverWaitsForItsTime() {
            Decision early = node().data(DataState.RUNNING_PRIMARY)
                    .iHoldKey()
                    .member(streaming("n2"))
                    .switchoverAt("n1", "n2", "2026-11-22T12:00:01Z")
                    .decide();
            Decision due = node().data(DataState.RUNNING_PRIMARY)
                    .iHoldKey()
                    .member(streaming("n2"))
                    .switchoverAt("n1", "n2", "2026-11-22T11:59:59Z")
                    .decide();

            assertThat(early.action()).isEqualTo(Action.LEAD);
            assertThat(due.action()).isEqualTo(Action.HAND_OVER);
        }

        @Test
        void aScheduledSwitchoverThatIsNotDueDoesNotHoldUpAFailover() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .member(streaming("n2"))
                    .switchoverAt("n3", "n2", "2026-11-22T13:00:00Z")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void theCandidateOfASwitchoverNotYetDueStillDefersToAPeerFurtherAhead() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .switchoverAt("n3", ME, "2026-11-22T13:00:00Z")
                    .peer("n2", "F/0")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(HaDecider.isNamedCandidate(
                            node().switchoverAt("n3", ME, "2026-11-22T13:00:00Z")
                                    .build()
                                    .cluster(),
                            ME,
                            java.time.Instant.parse("2026-11-22T12:00:00Z")))
                    .isFalse();
        }

        @Test
        void aFailoverRequestMakesAHealthyLeaderHandOver() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .iHoldKey()
                    .member(streaming("n2"))
                    .failoverTo("n2")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.HAND_OVER);
            assertThat(d.reason()).startsWith("failover requested");
        }

        @Test
        void aFailoverRequestMakesALeaderWhosePostgresIsDownReleaseTheKey() {
            Decision d = node().data(DataState.STOPPED_PRIMARY)
                    .iHoldKey()
                    .member(streaming("n2"))
                    .failoverTo("n2")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.RELEASE_LEADERSHIP);
            assertThat(d.reason()).contains("manual failover to n2");
        }

        @Test
        void theLeaderDoesNotHandOverToANofailoverCandidate() {
            Decision d = node().data(DataState.RUNNING_PRIMARY)
                    .iHoldKey()
                    .member(memberOf("n2", Role.REPLICA, 5000, NOFAILOVER))
                    .switchover("n1", "n2")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.LEAD);
        }
    }

    @Nested
    class MaintenanceMode {
        @Test
        void noAutomaticFailover() {
            Decision d =
                    node().data(DataState.RUNNING_REPLICA).noLeader().paused().decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).startsWith("maintenance mode").contains("most advanced");
        }

        @Test
        void aCrashedPrimaryIsNotRestartedAndKeepsTheKey() {
            Decision d =
                    node().data(DataState.STOPPED_PRIMARY).iHoldKey().paused().decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
        }

        @Test
        void primaryStartTimeoutDoesNotReleaseTheKey() {
            Decision d = node().data(DataState.STOPPED_PRIMARY)
                    .iHoldKey()
                    .paused()
                    .primaryDownFor(Duration.ofSeconds(60))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
        }

        @Test
        void fencingStillApplies() {
            Decision d =
                    node().data(DataState.RUNNING_PRIMARY).leader("n2").paused().decide();

            assertThat(d.action()).isEqualTo(Action.FENCE);
        }

        @Test
        void theNamedSwitchoverCandidateTakesOver() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .paused()
                    .switchover("n3", "n1")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void theFormerPrimaryRejoinsAfterAHandOverButNotAfterACrash() {
            Decision handedOver = node().data(DataState.STOPPED_PRIMARY)
                    .leader("n2")
                    .paused()
                    .handedOver()
                    .decide();
            Decision crashed =
                    node().data(DataState.STOPPED_PRIMARY).leader("n2").paused().decide();

            assertThat(handedOver.action()).isEqualTo(Action.REWIND);
            assertThat(crashed.action()).isEqualTo(Action.WAIT);
        }

        @Test
        void aStoppedReplicaIsNotStarted() {
            Decision d =
                    node().data(DataState.STOPPED_REPLICA).leader("n2").paused().decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
        }
    }

    @Nested
    class SynchronousMode {
        @Test
        void onlyASynchronousStandbyRaces() {
            Decision mine = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .sync(SyncMode.ON, "n3", "n1")
                    .decide();
            Decision other = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .sync(SyncMode.ON, "n3", "n2")
                    .decide();

            assertThat(mine.action()).isEqualTo(Action.TAKE_LEADERSHIP);
            assertThat(other.action()).isEqualTo(Action.WAIT);
            assertThat(other.reason()).contains("not a synchronous standby");
        }

        @Test
        void anEmptySynchronousSetMeansNobodyIsPromoted() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .sync(SyncMode.STRICT, "n3")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
        }

        @Test
        void anAsynchronousPeerFurtherAheadDoesNotStopTheSynchronousStandby() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .sync(SyncMode.ON, "n3", "n1")
                    .peer("n2", "F/0")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void aNamedFailoverCandidateOutsideTheSynchronousSetWaits() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .sync(SyncMode.ON, "n3", "n2")
                    .failoverTo("n1")
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
        }

        @Test
        void theLeaderHandsOverOnlyToASynchronousStandby() {
            Decision toAsync = node().data(DataState.RUNNING_PRIMARY)
                    .iHoldKey()
                    .sync(SyncMode.ON, ME, "n3")
                    .member(memberOf("n2", Role.REPLICA, 5000, NodeTags.NONE))
                    .member(memberOf("n3", Role.REPLICA, 5000, NodeTags.NONE))
                    .switchover(ME, "n2")
                    .decide();
            Decision any = node().data(DataState.RUNNING_PRIMARY)
                    .iHoldKey()
                    .sync(SyncMode.ON, ME, "n3")
                    .member(memberOf("n2", Role.REPLICA, 5000, NodeTags.NONE))
                    .member(memberOf("n3", Role.REPLICA, 5000, NodeTags.NONE))
                    .switchover(ME, "")
                    .decide();

            assertThat(toAsync.action()).isEqualTo(Action.LEAD);
            assertThat(any.action()).isEqualTo(Action.HAND_OVER);
            assertThat(any.target()).map(Member::name).contains("n3");
        }
    }

    @Nested
    class FailoverPriority {
        @Test
        void zeroMeansNever() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .tags(new NodeTags(false, false, false, 0))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("failover_priority is 0");
        }

        @Test
        void amongEquallyAdvancedNodesTheHigherPriorityWins() {
            Decision lower = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .lsn("0/5000000")
                    .peer("n2", "0/5000000", new NodeTags(false, false, false, 5))
                    .decide();
            Decision higher = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .lsn("0/5000000")
                    .tags(new NodeTags(false, false, false, 9))
                    .peer("n2", "0/5000000", new NodeTags(false, false, false, 5))
                    .decide();

            assertThat(lower.action()).isEqualTo(Action.WAIT);
            assertThat(lower.reason()).contains("higher failover_priority");
            assertThat(higher.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void priorityNeverBeatsBeingFurtherAhead() {
            Decision d = node().data(DataState.RUNNING_REPLICA)
                    .noLeader()
                    .lsn("0/5000000")
                    .tags(new NodeTags(false, false, false, 9))
                    .peer("n2", "0/5000100", new NodeTags(false, false, false, 1))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
        }
    }

    @Nested
    class Properties {

        private static final List<String> NAMES = List.of("n1", "n2", "n3", "n4");
        private static final Set<Action> LEADER_ONLY = EnumSet.of(Action.PROMOTE, Action.RESTART_PRIMARY, Action.LEAD);
        private static final Set<Action> NEEDS_TARGET = EnumSet.of(
                Action.CLONE,
                Action.REPOINT,
                Action.KEEP_FOLLOWING,
                Action.REWIND,
                Action.RECLONE,
                Action.RECLONE_IN_PLACE,
                Action.HAND_OVER);

        private HaInput random(Random rnd) {
            In in = node().leaseId(rnd.nextInt(3) == 0 ? OLD_LEASE : MY_LEASE);
            in.tags(rnd.nextInt(4) == 0 ? NOFAILOVER : NodeTags.NONE);
            switch (rnd.nextInt(4)) {
                case 0 -> in.notInitialized();
                case 1 -> in.initialize("bootstrapping");
                default -> in.initialize(SYSID);
            }
            for (String n : NAMES) {
                if (rnd.nextInt(3) > 0) {
                    in.member(memberOf(
                            n,
                            rnd.nextBoolean() ? Role.PRIMARY : Role.REPLICA,
                            rnd.nextInt(3) == 0 ? 0 : 100 + rnd.nextInt(1000),
                            rnd.nextInt(4) == 0 ? NOFAILOVER : NodeTags.NONE));
                }
            }
            switch (rnd.nextInt(5)) {
                case 0 -> in.noLeader();
                case 1 -> in.leaderKey(ME, MY_LEASE);
                case 2 -> in.leaderKey(ME, rnd.nextBoolean() ? OLD_LEASE : OTHER_LEASE);
                case 3 -> in.leaderKey(NAMES.get(1 + rnd.nextInt(3)), rnd.nextBoolean() ? OTHER_LEASE : MY_LEASE);
                default -> in.leaderKey("ghost", OTHER_LEASE);
            }
            if (rnd.nextBoolean()) {
                in.optime(position(rnd).toString());
            }
            if (rnd.nextInt(4) == 0) {
                in.maxLag(rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(1 << 24));
            }
            DataState[] states = DataState.values();
            in.data(states[rnd.nextInt(states.length)]);
            in.lsn(position(rnd).toString());
            if (rnd.nextBoolean()) {
                Member any = memberOf(NAMES.get(rnd.nextInt(NAMES.size())), Role.PRIMARY, 1, NodeTags.NONE);
                in.upstream(address(any));
            }
            in.leaseValid(rnd.nextInt(3) > 0);
            in.canLead(rnd.nextInt(3) > 0);
            for (String n : NAMES.subList(1, NAMES.size())) {
                if (rnd.nextBoolean()) {
                    in.unpublishedPeer(n, position(rnd).toString());
                }
            }
            if (rnd.nextInt(4) == 0) {
                in.switchover(
                        rnd.nextBoolean() ? ME : NAMES.get(1 + rnd.nextInt(3)),
                        rnd.nextBoolean() ? "" : NAMES.get(rnd.nextInt(NAMES.size())));
            }
            in.primaryDownFor(Duration.ofSeconds(rnd.nextInt(60)));
            in.primaryStartTimeout(Duration.ofSeconds(1 + rnd.nextInt(60)));
            if (rnd.nextBoolean()) {
                in.notStreamingFor(Duration.ofSeconds(rnd.nextInt(30)));
                if (rnd.nextBoolean()) {
                    in.upstreamWalGone();
                }
            }
            if (rnd.nextInt(3) == 0) {
                Optional<Duration> failed =
                        rnd.nextBoolean() ? Optional.of(Duration.ofSeconds(rnd.nextInt(600))) : Optional.empty();
                Optional<Duration> stranded =
                        rnd.nextBoolean() ? Optional.of(Duration.ofSeconds(rnd.nextInt(600))) : Optional.empty();
                in.rejoin(new RejoinFacts(failed, stranded, rnd.nextBoolean()));
            }
            if (rnd.nextInt(4) == 0) {
                in.keyTakenBackFor(Duration.ofMillis(rnd.nextInt(8000)));
            }
            if (rnd.nextInt(4) == 0) {
                in.router("router-" + rnd.nextInt(3), rnd.nextBoolean() ? "" : NAMES.get(rnd.nextInt(NAMES.size())));
            }
            if (rnd.nextInt(4) == 0) {
                Lsn checkpoint = position(rnd);
                in.handOver(new HandOverProgress(
                        NAMES.get(1 + rnd.nextInt(3)),
                        checkpoint,
                        rnd.nextBoolean() ? Optional.of(position(rnd)) : Optional.empty(),
                        Duration.ofSeconds(rnd.nextInt(60))));
            }
            return in.build();
        }

        private Lsn position(Random rnd) {
            // Small values collide often (ties, lag at the limit); large ones cross the high word.
            return rnd.nextBoolean()
                    ? new Lsn(rnd.nextInt(8) * 0x80000L)
                    : new Lsn(((long) rnd.nextInt(16) << 32) | (rnd.nextInt() & 0xFFFFFFFFL));
        }

        private boolean leading(HaInput in) {
            return in.cluster()
                            .leader()
                            .map(k -> k.name().equals(in.name()) && k.leaseId() == in.leaseId())
                            .orElse(false)
                    && in.leaseValid();
        }

        @Test
        void safetyInvariantsHoldForRandomInputs() {
            Random rnd = new Random(20240611L);
            Map<Action, Integer> seen = new java.util.EnumMap<>(Action.class);
            for (int i = 0; i < 20_000; i++) {
                HaInput in = random(rnd);
                Decision d = HaDecider.decide(in);
                String ctx = "case " + i + ": " + in + " -> " + d;
                seen.merge(d.action(), 1, Integer::sum);

                assertThat(d.action()).as(ctx).isNotNull();
                assertThat(d.reason()).as(ctx).isNotBlank();
                assertThat(d.target()).as(ctx).isNotNull();

                boolean leading = leading(in);
                if (in.local().data() == DataState.RUNNING_PRIMARY && !leading) {
                    assertThat(d.action()).as(ctx).isIn(Action.FENCE, Action.TAKE_LEADERSHIP);
                }
                if (d.action() == Action.TAKE_LEADERSHIP) {
                    assertThat(in.cluster().leader()).as(ctx).isEmpty();
                    assertThat(in.leaseValid()).as(ctx).isTrue();
                    assertThat(in.canLead()).as(ctx).isTrue();
                    assertThat(in.cluster().initialize()).as(ctx).isPresent();
                    if (in.local().data() == DataState.RUNNING_REPLICA) {
                        assertThat(in.tags().nofailover()).as(ctx).isFalse();
                    }
                }
                if (LEADER_ONLY.contains(d.action())) {
                    assertThat(leading).as(ctx).isTrue();
                }
                if (d.action() == Action.LEAD) {
                    assertThat(in.local().data()).as(ctx).isEqualTo(DataState.RUNNING_PRIMARY);
                }
                if (d.action() == Action.BOOTSTRAP) {
                    assertThat(in.local().data()).as(ctx).isEqualTo(DataState.EMPTY);
                    assertThat(in.cluster().initialize().filter(v -> !v.equals("bootstrapping")))
                            .as(ctx)
                            .isEmpty();
                }
                if (NEEDS_TARGET.contains(d.action())) {
                    assertThat(d.target()).as(ctx).isPresent();
                }
                d.target().ifPresent(t -> {
                    assertThat(t.name()).as(ctx).isNotEqualTo(in.name());
                    if (d.action() == Action.HAND_OVER) {
                        // The one action whose target is not the key holder: the replica taking over from us.
                        assertThat(t.role()).as(ctx).isEqualTo(Role.REPLICA);
                        assertThat(t.state()).as(ctx).isEqualTo(MemberState.STREAMING);
                    } else {
                        assertThat(in.cluster().leader())
                                .as(ctx)
                                .map(LeaderKey::name)
                                .contains(t.name());
                    }
                });
                if (d.action() == Action.CLONE) {
                    assertThat(d.target().get().postgresPid()).as(ctx).isNotZero();
                }
                if (d.action() == Action.RECLONE || d.action() == Action.RECLONE_IN_PLACE) {
                    // Throws this node's data away: never a running primary's, never without a running leader to
                    // copy, and only for a cause a rewind or streaming cannot cure.
                    assertThat(in.local().data()).as(ctx).isIn(DataState.RUNNING_REPLICA, DataState.STOPPED_PRIMARY);
                    assertThat(in.upstreamWalGone()
                                    || in.rejoin().rewindFailedAgo().isPresent()
                                    || in.rejoin().strandedRewindAgo().isPresent())
                            .as(ctx)
                            .isTrue();
                    assertThat(d.target().get().postgresPid()).as(ctx).isNotZero();
                    assertThat(in.cluster().leader().map(LeaderKey::name))
                            .as(ctx)
                            .isNotEqualTo(Optional.of(in.name()));
                }
                if (d.action() == Action.FINISH_HAND_OVER) {
                    // The key goes to the candidate only once it has every commit this primary acknowledged.
                    assertThat(in.handOver())
                            .as(ctx)
                            .hasValueSatisfying(p -> assertThat(p.candidateAt())
                                    .hasValueSatisfying(at -> assertThat(at).isGreaterThan(p.checkpoint())));
                    assertThat(in.local().data()).as(ctx).isEqualTo(DataState.STOPPED_PRIMARY);
                }
                if (d.action() == Action.ABORT_HAND_OVER) {
                    // Starts postgres as primary again: only with the key under a valid lease, after the full wait.
                    assertThat(in.leaseValid()).as(ctx).isTrue();
                    assertThat(in.cluster().leader())
                            .as(ctx)
                            .hasValueSatisfying(l ->
                                    assertThat(l.name() + "@" + l.leaseId()).isEqualTo(in.name() + "@" + in.leaseId()));
                    assertThat(in.handOver())
                            .as(ctx)
                            .hasValueSatisfying(
                                    p -> assertThat(p.waited()).isGreaterThan(HandOverProgress.CANDIDATE_WAIT));
                }
                if (d.action() == Action.RECLONE) {
                    // The old data is kept aside: only with room for it.
                    assertThat(in.rejoin().roomForSecondCopy()).as(ctx).isTrue();
                }
                if (d.action() == Action.RECLONE_IN_PLACE) {
                    // Deleted first: only while another replica than this one streams from the leader.
                    assertThat(in.cluster().members().values())
                            .as(ctx)
                            .anyMatch(m -> !m.name().equals(in.name())
                                    && !m.name().equals(d.target().get().name())
                                    && m.isStreamingReplica());
                }
            }
            // The generator must reach every action, or the invariants above prove little.
            assertThat(seen.keySet()).containsExactlyInAnyOrder(Action.values());
        }

        @Test
        void neverThrowsForRandomInputs() {
            Random rnd = new Random(99L);
            for (int i = 0; i < 2000; i++) {
                HaInput in = random(rnd);
                assertThatCode(() -> HaDecider.decide(in)).as("%s", in).doesNotThrowAnyException();
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Timelines: the race ranks by (timeline, LSN), and nobody on an older timeline leads
    // ------------------------------------------------------------------------------------------------------------

    @Nested
    class Timelines {
        @Test
        void aReplicaOnAnOlderTimelineThanTheClustersNewestNeverRacesEvenFurtherAheadInRawLsn() {
            Decision decision = node().timeline(1)
                    .lsn("0/6000000")
                    .historyUpTo(2)
                    .optime("0/5000000")
                    .decide();

            assertThat(decision.action()).isEqualTo(Action.WAIT);
            assertThat(decision.reason()).contains("timeline 1").contains("2");
        }

        @Test
        void theOptimesTimelineCountsAsPublishedToo() {
            In in = node().timeline(1).lsn("0/6000000");
            in.optime = Optional.of(new Optime("0/5000000", 2));

            assertThat(in.decide().action()).isEqualTo(Action.WAIT);
        }

        @Test
        void aPeerOnANewerTimelineIsAheadEvenWithALowerLsn() {
            Decision decision = node().timeline(1)
                    .lsn("0/6000000")
                    .historyUpTo(1)
                    .peerOn("n2", 2, "0/5000000")
                    .decide();

            assertThat(decision.action()).isEqualTo(Action.WAIT);
            assertThat(decision.reason()).contains("n2");
        }

        @Test
        void aPeerOnAnOlderTimelineIsNotAheadWhateverItsLsn() {
            Decision decision = node().timeline(2)
                    .lsn("0/5000000")
                    .historyUpTo(2)
                    .optime("0/5000000")
                    .peerOn("n2", 1, "0/6000000")
                    .decide();

            assertThat(decision.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void aPeerWhosePostgresStillRunsAsPrimaryMeansNoRace() {
            Decision decision = node().historyUpTo(1).primaryPeer("n2").decide();

            assertThat(decision.action()).isEqualTo(Action.WAIT);
            assertThat(decision.reason()).contains("n2").contains("primary");
        }

        @Test
        void aPrimaryOnAnOlderTimelineNeverTakesTheKeyBack() {
            Decision decision = node().data(DataState.RUNNING_PRIMARY)
                    .timeline(1)
                    .historyUpTo(2)
                    .decide();

            assertThat(decision.action()).isEqualTo(Action.FENCE);
        }

        @Test
        void aPrimaryWhoseSynchronousSetWasPublishedByAnotherLeaderDoesNotTakeTheKeyBack() {
            Decision decision = node().data(DataState.RUNNING_PRIMARY)
                    .historyUpTo(1)
                    .sync(SyncMode.ON, "n2", "n3")
                    .decide();

            assertThat(decision.action()).isEqualTo(Action.FENCE);
        }

        @Test
        void aPrimaryOnTheNewestTimelineTakesTheKeyBack() {
            Decision decision = node().data(DataState.RUNNING_PRIMARY)
                    .timeline(2)
                    .historyUpTo(2)
                    .decide();

            assertThat(decision.action()).isEqualTo(Action.TAKE_LEADERSHIP);
        }

        @Test
        void aHeldKeyOnAnOlderTimelineIsNotPromoted() {
            Decision decision = node().leader(ME).timeline(1).historyUpTo(2).decide();

            assertThat(decision.action()).isNotEqualTo(Action.PROMOTE);
        }
    }

    @Nested
    class SystemIdentifier {
        @Test
        void aNodeWithAnotherClustersDataIsRefusedAndNeverRaces() {
            Decision decision = node().systemIdentifier("7399999999999999999").decide();

            assertThat(decision.action()).isEqualTo(Action.WAIT);
            assertThat(decision.reason())
                    .contains("7399999999999999999")
                    .contains(SYSID)
                    .contains("another cluster");
        }

        @Test
        void aNodeWithAnotherClustersDataIsNotRewoundOntoThisOne() {
            Decision decision = node().data(DataState.STOPPED_PRIMARY)
                    .systemIdentifier("7399999999999999999")
                    .leader("n2")
                    .member(memberOf("n2", Role.PRIMARY, 5000, NodeTags.NONE))
                    .decide();

            assertThat(decision.action()).isEqualTo(Action.WAIT);
        }
    }

    /** The router barrier as a state across cycles: a replica holding the key promotes only once routers acknowledged. */
    @Nested
    class RouterBarrier {
        private In replicaHoldingTheKey() {
            return node().data(DataState.RUNNING_REPLICA).iHoldKey();
        }

        private In primaryThatTookItsKeyBack(Duration ago) {
            return node().data(DataState.RUNNING_PRIMARY).iHoldKey().keyTakenBackFor(ago);
        }

        @Test
        void aPrimaryThatTookItsKeyBackLeadsOnOnceNoRouterRoutesElsewhere() {
            Decision d = primaryThatTookItsKeyBack(Duration.ofMillis(100))
                    .router("router-1", "")
                    .router("router-2", ME)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.LEAD);
            assertThat(d.reason()).contains("every router acknowledged");
        }

        @Test
        void aPrimaryThatTookItsKeyBackWaitsForARouterRoutingElsewhereThenIsFenced() {
            Decision within = primaryThatTookItsKeyBack(Duration.ofMillis(3500))
                    .router("router-2", "node-2")
                    .decide();
            Decision after = primaryThatTookItsKeyBack(Duration.ofMillis(3501))
                    .router("router-2", "node-2")
                    .decide();

            assertThat(within.action()).isEqualTo(Action.WAIT);
            assertThat(within.reason()).contains("[router-2 (still routing to node-2)]");
            assertThat(after.action()).isEqualTo(Action.FENCE);
            assertThat(after.reason()).contains("router barrier failed after taking the leader key back");
        }

        @Test
        void aPrimaryThatTookItsKeyBackIsNotHeldByARouterWhoseStatusCannotBeRead() {
            // The timeline check already proved nobody else was promoted; a replica, by contrast, waits for it.
            Decision d = primaryThatTookItsKeyBack(Duration.ofSeconds(10))
                    .router("router-2", io.warden.cluster.RouterStatus.UNKNOWN_PRIMARY)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.LEAD);
        }

        @Test
        void withNoRouterRoutingElsewhereItPromotes() {
            Decision d = replicaHoldingTheKey()
                    .router("router-1", "")
                    .router("router-2", ME)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.PROMOTE);
        }

        @Test
        void aRouterStillRoutingToTheOldPrimaryIsWaitedForWithinItsLeaseAndMargin() {
            Decision d = replicaHoldingTheKey()
                    .router("router-1", "")
                    .router("router-2", "node-2")
                    .keyHeldFor(Duration.ofMillis(3400))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason())
                    .contains(
                            "waiting for routers to stop routing to the old primary: [router-2 (still routing to node-2)]");
        }

        @Test
        void aRouterStillRoutingElsewhereAfterItsLeaseAndMarginFailsTheBarrierClosed() {
            Decision d = replicaHoldingTheKey()
                    .router("router-2", "node-2")
                    .keyHeldFor(Duration.ofMillis(3600))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.RELEASE_LEADERSHIP);
            assertThat(d.reason()).contains("router-2").contains("3500 ms");
        }

        @Test
        void aRouterWhoseStatusIsUnreadableHoldsTheBarrier() {
            Decision d = replicaHoldingTheKey()
                    .router("router-1", io.warden.cluster.RouterStatus.UNKNOWN_PRIMARY)
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("router-1 (its status is unreadable)");
        }

        @Test
        void aReplicaThatCannotLeadSafelyWaitsWhateverTheRoutersSay() {
            Decision d =
                    replicaHoldingTheKey().canLead(false).router("router-1", "").decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("cannot lead safely");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Rejoining: when pg_rewind is tried again, and when a fresh copy replaces the data (RejoinRules)
    // ------------------------------------------------------------------------------------------------------------

    @Nested
    class Rejoining {
        private final Member leader = memberOf("n2", Role.PRIMARY, 4242, NodeTags.NONE);
        private final Member healthyReplica = memberOf("n3", Role.REPLICA, 4343, NodeTags.NONE);

        private RejoinFacts failedRewind(Duration ago, boolean room) {
            return new RejoinFacts(Optional.of(ago), Optional.empty(), room);
        }

        private In formerPrimary(RejoinFacts facts) {
            return node().data(DataState.STOPPED_PRIMARY)
                    .leader("n2")
                    .member(leader)
                    .rejoin(facts);
        }

        /** A replica on timeline 1 under a leader on timeline 2, not streaming past the grace. */
        private In strandedReplica(RejoinFacts facts) {
            Member onTimeline2 = new Member(
                    leader.name(),
                    leader.role(),
                    leader.state(),
                    leader.host(),
                    leader.port(),
                    leader.apiUrl(),
                    2,
                    leader.lsn(),
                    0,
                    leader.tags(),
                    leader.agentPid(),
                    leader.postgresPid(),
                    leader.instanceId(),
                    leader.dataDir(),
                    false);
            return node().data(DataState.RUNNING_REPLICA)
                    .timeline(1)
                    .leader("n2")
                    .member(onTimeline2)
                    .upstream(address(onTimeline2))
                    .notStreamingFor(Duration.ofSeconds(11))
                    .rejoin(facts);
        }

        @Test
        void aFormerPrimaryWithNoFailedRewindIsRewound() {
            assertThat(formerPrimary(RejoinFacts.NONE).decide().action()).isEqualTo(Action.REWIND);
        }

        @Test
        void afterAFailedRewindWithRoomTheOldDataIsKeptAsideAndTheNodeReCloned() {
            Decision d =
                    formerPrimary(failedRewind(Duration.ofSeconds(1), true)).decide();

            assertThat(d.action()).isEqualTo(Action.RECLONE);
            assertThat(d.target()).map(Member::name).contains("n2");
            assertThat(d.reason()).contains("pg_rewind failed").contains("keeping the old data aside");
        }

        @Test
        void afterAFailedRewindWithoutRoomTheDataIsDeletedFirstOnlyWhileAnotherReplicaStreams() {
            Decision withReplica = formerPrimary(failedRewind(Duration.ofSeconds(1), false))
                    .member(healthyReplica)
                    .decide();
            Decision alone =
                    formerPrimary(failedRewind(Duration.ofSeconds(1), false)).decide();

            assertThat(withReplica.action()).isEqualTo(Action.RECLONE_IN_PLACE);
            assertThat(withReplica.reason()).contains("n3 is a healthy replica");
            assertThat(alone.action()).isEqualTo(Action.WAIT);
            assertThat(alone.reason()).contains("keeping this node's data").contains("warden reinit");
        }

        @Test
        void aNodeKeptWithItsDataTriesTheRewindAgainOnlyAfterTheRetryInterval() {
            Duration retry = RejoinRules.RETRY;

            assertThat(formerPrimary(failedRewind(retry.minusSeconds(1), false))
                            .decide()
                            .action())
                    .isEqualTo(Action.WAIT);
            Decision again = formerPrimary(failedRewind(retry, false)).decide();
            assertThat(again.action()).isEqualTo(Action.REWIND);
            assertThat(again.reason()).contains("trying again");
        }

        @Test
        void aStrandedReplicaIsRewoundAndReClonedWhenStillStrandedSoonAfterARewind() {
            assertThat(strandedReplica(RejoinFacts.NONE).decide().action()).isEqualTo(Action.REWIND);

            Decision soonAfter = strandedReplica(
                            new RejoinFacts(Optional.empty(), Optional.of(Duration.ofSeconds(20)), true))
                    .decide();
            assertThat(soonAfter.action()).isEqualTo(Action.RECLONE);
            assertThat(soonAfter.reason()).contains("still stranded 20 s after a rewind");

            Decision longAfter = strandedReplica(
                            new RejoinFacts(Optional.empty(), Optional.of(RejoinRules.RETRY), true))
                    .decide();
            assertThat(longAfter.action()).isEqualTo(Action.REWIND);
        }

        @Test
        void aStrandedReplicaWhoseWalTheLeaderRecycledIsReClonedWithoutARewindFirst() {
            // A rewind would make it need WAL from before the fork, which the leader recycled as well.
            Decision d = strandedReplica(RejoinFacts.NONE).upstreamWalGone().decide();

            assertThat(d.action()).isEqualTo(Action.RECLONE);
            assertThat(d.reason()).contains("already recycled the WAL I need");
        }

        @Test
        void aReplicaWhoseWalIsGoneWithoutRoomOrAnotherReplicaKeepsItsDataAndWaits() {
            Decision d = strandedReplica(new RejoinFacts(Optional.empty(), Optional.empty(), false))
                    .upstreamWalGone()
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("already recycled the WAL I need").contains("keeping this node's data");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // A hand-over under way: the wait for the candidate as a state across cycles
    // ------------------------------------------------------------------------------------------------------------

    @Nested
    class HandOverUnderWay {
        private final Lsn checkpoint = Lsn.parse("0/5000028");

        private In stoppedForHandOver(Optional<Lsn> candidateAt, Duration waited) {
            return node().data(DataState.STOPPED_PRIMARY)
                    .iHoldKey()
                    .member(memberOf("n2", Role.REPLICA, 4242, NodeTags.NONE))
                    .handOver(new HandOverProgress("n2", checkpoint, candidateAt, waited));
        }

        @Test
        void aCandidatePastTheShutdownCheckpointGetsTheKey() {
            Decision d = stoppedForHandOver(Optional.of(Lsn.parse("0/50000A0")), Duration.ofMillis(40))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.FINISH_HAND_OVER);
            assertThat(d.reason()).contains("n2 (at 0/50000A0) has received the shutdown checkpoint 0/5000028");
        }

        @Test
        void aCandidateAtTheCheckpointButNotPastItIsWaitedFor() {
            // Received up to the checkpoint record's start, not the record itself.
            Decision d = stoppedForHandOver(Optional.of(checkpoint), Duration.ofSeconds(1))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.WAIT);
            assertThat(d.reason()).contains("waiting for switchover candidate n2 (at 0/5000028)");
        }

        @Test
        void aCandidateThatDoesNotAnswerIsWaitedForUntilTheWaitEndsThenThePrimaryStartsAgain() {
            assertThat(stoppedForHandOver(Optional.empty(), HandOverProgress.CANDIDATE_WAIT)
                            .decide()
                            .action())
                    .isEqualTo(Action.WAIT);

            Decision d = stoppedForHandOver(Optional.empty(), HandOverProgress.CANDIDATE_WAIT.plusMillis(1))
                    .decide();
            assertThat(d.action()).isEqualTo(Action.ABORT_HAND_OVER);
            assertThat(d.reason())
                    .contains("n2 (not answering) has not received the shutdown checkpoint 0/5000028 within 30 s");
        }

        @Test
        void anAbortWithoutAValidLeaseOrAReachableWatchdogWaitsInsteadOfStartingAPrimary() {
            Decision noLease = stoppedForHandOver(Optional.empty(), Duration.ofSeconds(31))
                    .leaseValid(false)
                    .decide();
            Decision noWatchdog = stoppedForHandOver(Optional.empty(), Duration.ofSeconds(31))
                    .canLead(false)
                    .decide();

            assertThat(noLease.action()).isEqualTo(Action.WAIT);
            assertThat(noLease.reason()).contains("cannot lead safely");
            assertThat(noWatchdog.action()).isEqualTo(Action.WAIT);
        }

        @Test
        void inMaintenanceModeTheHandOverTheOperatorAskedForStillFinishesOrAborts() {
            assertThat(stoppedForHandOver(Optional.of(Lsn.parse("0/6000000")), Duration.ofSeconds(1))
                            .paused()
                            .decide()
                            .action())
                    .isEqualTo(Action.FINISH_HAND_OVER);
            assertThat(stoppedForHandOver(Optional.empty(), Duration.ofSeconds(31))
                            .paused()
                            .decide()
                            .action())
                    .isEqualTo(Action.ABORT_HAND_OVER);
        }

        @Test
        void withoutTheKeyThereIsNothingToHandOver() {
            Decision d = node().data(DataState.STOPPED_PRIMARY)
                    .leader("n2")
                    .handOver(new HandOverProgress("n2", checkpoint, Optional.empty(), Duration.ofSeconds(31)))
                    .decide();

            assertThat(d.action()).isEqualTo(Action.REWIND);
        }
    }
}
