package io.warden.controller;

import com.fasterxml.jackson.core.type.TypeReference;
import io.warden.common.Json;
import io.warden.dcs.ControlStore;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controllers' shared event log ({@code events} under the control prefix, shown by {@code warden events}): the
 * repair and the scaling rounds both append to it, the newest {@link #LIMIT} are kept, and every entry is logged as
 * it is added.
 */
public final class EventLog {
    private static final Logger LOG = LoggerFactory.getLogger(EventLog.class);

    /** The key under the control prefix. */
    public static final String KEY = "events";

    /** How many events are kept: a few days of a busy cluster, a few kilobytes of etcd. */
    public static final int LIMIT = 200;

    private static final TypeReference<List<ControlEvent>> EVENT_LIST = new TypeReference<>() {};

    private EventLog() {}

    /** The stored log, oldest first; an unreadable one reads as empty (and is replaced by the next event). */
    public static List<ControlEvent> read(ControlStore.Snapshot control) {
        return control.text(KEY)
                .map(text -> {
                    try {
                        return Json.wire().readValue(text, EVENT_LIST);
                    } catch (IOException e) {
                        return List.<ControlEvent>of();
                    }
                })
                .orElse(List.of());
    }

    /**
     * Appends {@code added} to the log as {@code control} holds it (a write of the leader of {@code epoch} only),
     * keeping the newest {@link #LIMIT}; returns them.
     */
    public static List<ControlEvent> append(
            ControlStore store, long epoch, ControlStore.Snapshot control, List<ControlEvent> added) {
        if (added.isEmpty()) {
            return added;
        }
        added.forEach(e -> LOG.info("{}{}", e.node().isEmpty() ? "" : e.node() + ": ", e.message()));
        List<ControlEvent> all = new ArrayList<>(read(control));
        all.addAll(added);
        List<ControlEvent> kept = all.subList(Math.max(0, all.size() - LIMIT), all.size());
        store.put(epoch, KEY, Json.write(kept));
        return added;
    }
}
