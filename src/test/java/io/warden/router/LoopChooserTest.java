package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.util.concurrent.DefaultEventExecutor;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorChooserFactory.EventExecutorChooser;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LoopChooserTest {
    // Never started: an executor's thread starts with its first task, and the chooser submits none.
    private final EventExecutor first = new DefaultEventExecutor();
    private final EventExecutor second = new DefaultEventExecutor();
    private final Map<EventExecutor, Integer> load = new IdentityHashMap<>(Map.of(first, 0, second, 0));
    private final EventExecutorChooser chooser =
            new LoopChooser(load::get, new Random(42)).newChooser(new EventExecutor[] {first, second});

    @AfterEach
    void shutDown() {
        first.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.MILLISECONDS);
        second.shutdownGracefully(0, 0, java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    @Test
    void sessionsOpenedInLockStepDoNotAlternateBetweenTheLoops() {
        // Round-robin would give first, second, first, second...: each loop then serves every other connection,
        // which is exactly one client thread's connections when two threads connect in turn.
        StringBuilder picks = new StringBuilder();
        for (int i = 0; i < 64; i++) {
            EventExecutor loop = chooser.next();
            picks.append(loop == first ? '1' : '2');
            load.merge(loop, 1, Integer::sum);
        }
        assertThat(picks.toString()).isNotEqualTo("12".repeat(32)).isNotEqualTo("21".repeat(32));
        assertThat(picks.chars().filter(c -> c == '1').count())
                .as("balanced: %s", picks)
                .isBetween(24L, 40L);
    }

    @Test
    void theLessLoadedLoopIsPreferred() {
        load.put(first, 100);
        int second = 0;
        for (int i = 0; i < 1000; i++) {
            if (chooser.next() == this.second) {
                second++;
            }
        }
        // Two independent picks differ half the time, and then the idle loop wins; the same pick twice is taken
        // as it is: 3 in 4.
        assertThat(second).isBetween(700, 800);
    }
}
