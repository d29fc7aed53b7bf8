package io.warden.postgres;

import io.warden.cluster.Lsn;
import java.util.List;

/**
 * What a probe commit found when its COMMIT returned: the WAL position right after it, and each standby's flush
 * position read by the same backend in the same round trip. A standby at or past {@code at} had flushed the probe
 * when the COMMIT returned; one read by a later query may have flushed it since, without the commit waiting for it.
 */
public record ProbeCommit(Lsn at, List<Standby> standbys) {
    public ProbeCommit {
        standbys = List.copyOf(standbys);
    }

    /** Whether {@code name} had flushed the probe when its COMMIT returned. */
    public boolean heldBy(String name) {
        return standbys.stream()
                .anyMatch(s -> s.name().equals(name) && s.flush().compareTo(at) >= 0);
    }
}
