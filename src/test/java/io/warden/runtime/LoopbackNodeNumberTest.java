package io.warden.runtime;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.warden.common.WardenException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** On the shared loopback a node's ports come from its number, so numbers past 99 would collide. */
class LoopbackNodeNumberTest {
    @TempDir
    Path dir;

    @Test
    void aNodeNumberedPast99OnTheLoopbackIsRefusedBeforeAnythingIsMade() {
        var blueprint = new LocalDeployment.NodeBlueprint(
                dir, "main", 6000, "process", 230, Map.of(), NodeIdentity.NONE, null, "off", Optional.empty(), "");

        assertThatThrownBy(() ->
                        LocalDeployment.createNode(blueprint, 101, Optional.empty(), 1L << 30, ResourceLimits.NONE))
                .isInstanceOf(WardenException.class)
                .hasMessageContaining("node-1's API port");
        org.assertj.core.api.Assertions.assertThat(dir.resolve("nodes")).doesNotExist();
    }
}
