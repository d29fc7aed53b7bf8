package io.warden.controller;

import io.warden.dcs.ControlStore;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/** The control store in memory, with etcd's rule: writes hold only for the epoch that leads. */
public final class MemoryControlStore implements ControlStore {
    private long revision = 100;
    private Optional<Leadership> leader = Optional.empty();
    private final Map<String, Value> values = new LinkedHashMap<>();

    @Override
    public synchronized Snapshot read() {
        return new Snapshot(revision, leader, values);
    }

    @Override
    public synchronized long acquireLeadership(String holder, long leaseId) {
        if (leader.isPresent()) {
            return 0;
        }
        leader = Optional.of(new Leadership(holder, leaseId, ++revision));
        return revision;
    }

    @Override
    public synchronized boolean releaseLeadership(long epoch) {
        if (!leads(epoch)) {
            return false;
        }
        leader = Optional.empty();
        revision++;
        return true;
    }

    @Override
    public synchronized boolean put(long epoch, String name, String text) {
        if (!leads(epoch)) {
            return false;
        }
        values.put(name, new Value(text, ++revision));
        return true;
    }

    @Override
    public synchronized boolean delete(long epoch, String name) {
        if (!leads(epoch)) {
            return false;
        }
        values.remove(name);
        revision++;
        return true;
    }

    private boolean leads(long epoch) {
        return epoch > 0 && leader.map(l -> l.epoch() == epoch).orElse(false);
    }
}
