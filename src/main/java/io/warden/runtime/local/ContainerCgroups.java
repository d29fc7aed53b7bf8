package io.warden.runtime.local;

import io.warden.common.CgroupSet;
import io.warden.runtime.ResourceLimits;

/**
 * A container's groups on the local runtime: {@code warden/<deployment>/<container>/} holds everything of the
 * container (killing or freezing it is the host dying or pausing), with two parts below it. {@code postgres} holds
 * postgres and its backends under the node's CPU quota and memory limit (the unit's RAM); {@code warden} holds the
 * agent and the watchdog under a small limit of their own, so that a query that runs out of memory never takes the
 * processes that fence and repair, and the fencing kill of the postgres part spares the ones doing it.
 */
public record ContainerCgroups(Cgroups cgroups, String deployment, String container) {
    /** The parts of a container, each a group of its own. */
    public enum Part {
        POSTGRES("postgres"),
        WARDEN("warden");

        final String dir;

        Part(String dir) {
            this.dir = dir;
        }
    }

    public ContainerCgroups {
        requireName(deployment, "deployment");
        requireName(container, "container");
    }

    private static void requireName(String name, String what) {
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
            throw new IllegalArgumentException("'" + name + "' cannot name a " + what + "'s cgroup");
        }
    }

    /** The whole container. */
    public CgroupSet all() {
        return cgroups.group(deployment + "/" + container);
    }

    public CgroupSet part(Part part) {
        return all().child(part.dir);
    }

    /** Makes both parts with their limits; a leftover of the same name is reused with the new limits. */
    public void create(ResourceLimits postgres, ResourceLimits warden) {
        cgroups.create(part(Part.POSTGRES));
        cgroups.create(part(Part.WARDEN));
        cgroups.apply(part(Part.POSTGRES), postgres);
        cgroups.apply(part(Part.WARDEN), warden);
    }

    /** Changes a part's limits while it runs. */
    public void resize(Part part, ResourceLimits limits) {
        cgroups.apply(part(part), limits);
    }

    public ResourceLimits limits(Part part) {
        return cgroups.limits(part(part));
    }

    public Cgroups.Usage usage(Part part) {
        return cgroups.usage(part(part));
    }

    /** Kills everything in the container and removes its groups. */
    public void remove() {
        all().kill();
        all().remove();
    }
}
