package io.warden.cluster;

/**
 * The last WAL position and timeline the leader published. Not bound to a lease: it must outlive the leader so
 * that candidates can tell how far behind they are when it is gone ({@code maximum_lag_on_failover}).
 */
public record Optime(String lsn, long timeline) {
    /** Checked once, when the value is read: the position must be an LSN. */
    public Optime {
        Lsn.parse(lsn);
    }
}
