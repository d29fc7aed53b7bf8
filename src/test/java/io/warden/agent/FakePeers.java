package io.warden.agent;

import io.warden.cluster.Lsn;
import io.warden.cluster.Member;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;
import java.util.function.Supplier;

/** The other agents as a test has them answer {@code GET /status}: a report per member, or none (it did not answer). */
final class FakePeers implements Peers {
    /** Peers that never answer: the failover race then compares with nobody. */
    static final FakePeers SILENT = new FakePeers(member -> Optional.empty());

    private final Function<Member, Optional<Member>> report;

    /**
     * Only {@code name}'s agent answers, reporting itself at the position {@code position} gives right now; it does
     * not answer while that is null.
     */
    static FakePeers onlyAnsweringAt(String name, Supplier<Lsn> position) {
        return new FakePeers(member -> Optional.ofNullable(position.get())
                .filter(at -> member.name().equals(name))
                .map(member::withPosition));
    }

    /** @param report what each member's agent reports of itself right now; empty when it does not answer */
    FakePeers(Function<Member, Optional<Member>> report) {
        this.report = java.util.Objects.requireNonNull(report, "report is null");
    }

    @Override
    public Map<String, PeerStatus> statuses(Collection<Member> members) {
        Map<String, PeerStatus> answers = new LinkedHashMap<>();
        for (Member member : members) {
            report.apply(member).ifPresent(r -> answers.put(member.name(), new PeerStatus.Reported(r)));
        }
        return answers;
    }

    @Override
    public Optional<Member> status(Member member) {
        return report.apply(member);
    }

    @Override
    public OptionalInt liveness(Member member) {
        return OptionalInt.empty();
    }
}
