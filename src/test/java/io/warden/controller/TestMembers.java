package io.warden.controller;

import io.warden.cluster.Member;
import io.warden.cluster.MemberState;
import io.warden.cluster.NodeTags;
import io.warden.cluster.Role;

/** Member records as an agent publishes them, for the controllers' tests. */
public final class TestMembers {
    private TestMembers() {}

    /** {@code node-N} at 10.0.0.N, on timeline 1, with postgres started {@code postgresStarts} times. */
    public static Member member(String name, Role role, MemberState state, int postgresStarts) {
        return new Member(
                name,
                role,
                state,
                "10.0.0." + name.charAt(name.length() - 1),
                5432,
                "https://x:8008",
                1,
                "0/3000000",
                0,
                NodeTags.NONE,
                1,
                2,
                "i",
                "/data",
                false,
                1,
                postgresStarts,
                "");
    }
}
