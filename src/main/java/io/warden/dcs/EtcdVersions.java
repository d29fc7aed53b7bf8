package io.warden.dcs;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The etcd releases with a defect that breaks what the lease arithmetic ({@link Lease}) assumes: that etcd keeps a
 * lease at least until {@code sent + ttl}, and that a renewal answered with a positive ttl renewed a live lease. What
 * Warden does about them, and the window that remains, is in docs/dcs.md ("etcd versions").
 *
 * <p>Each defect is listed with the first release of each line that fixes it. A line older than every listed one has
 * the defect; a line newer than every listed one was branched after the fix and does not.
 */
public final class EtcdVersions {
    private record Release(int major, int minor, int patch, boolean preRelease) implements Comparable<Release> {
        static Optional<Release> parse(String text) {
            Matcher matcher = VERSION.matcher(text.strip());
            if (!matcher.matches()) {
                return Optional.empty();
            }
            return Optional.of(new Release(
                    Integer.parseInt(matcher.group(1)),
                    Integer.parseInt(matcher.group(2)),
                    Integer.parseInt(matcher.group(3)),
                    matcher.group(4) != null));
        }

        static Release of(int major, int minor, int patch) {
            return new Release(major, minor, patch, false);
        }

        boolean sameLine(Release other) {
            return major == other.major && minor == other.minor;
        }

        /** A pre-release comes before the release of the same numbers (3.5.13-rc.0 before 3.5.13). */
        @Override
        public int compareTo(Release other) {
            int byNumbers = major != other.major
                    ? Integer.compare(major, other.major)
                    : minor != other.minor ? Integer.compare(minor, other.minor) : Integer.compare(patch, other.patch);
            return byNumbers != 0 ? byNumbers : Boolean.compare(other.preRelease, preRelease);
        }

        @Override
        public String toString() {
            return major + "." + minor + "." + patch;
        }
    }

    private record Defect(String risk, String consequence, List<Release> fixedIn) {
        boolean affects(Release version) {
            for (Release fix : fixedIn) {
                if (fix.sameLine(version)) {
                    return version.compareTo(fix) < 0;
                }
            }
            return version.compareTo(fixedIn.getFirst()) < 0;
        }

        /** The fix on {@code version}'s line, or every fix for a line older than all of them. */
        String fixes(Release version) {
            return fixedIn.stream()
                    .filter(fix -> fix.sameLine(version))
                    .findFirst()
                    .map(Release::toString)
                    .orElseGet(() -> fixedIn.stream().map(Release::toString).collect(Collectors.joining(", ")));
        }
    }

    /** What etcd's status reports: {@code 3.4.23}, or a pre-release such as {@code 3.6.0-rc.1}. */
    private static final Pattern VERSION =
            Pattern.compile("(\\d+)\\.(\\d+)\\.(\\d+)(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?");

    private static final List<Defect> DEFECTS = List.of(
            new Defect(
                    "may revoke leases early: an etcd leader stuck on a slow disk or a busy CPU that has not noticed it lost"
                            + " leadership revokes leases as expired while the new leader still renews them (etcd issue #15247)",
                    "the leader key can vanish before the deadline the agent counts on, and the agent fences only at its next"
                            + " renewal, up to ttl/6 later",
                    List.of(Release.of(3, 4, 31), Release.of(3, 5, 13), Release.of(3, 6, 0))),
            new Defect(
                    "may answer a lease renewal as successful although the lease was revoked while the renewal was processed"
                            + " (etcd pull request #20590)",
                    "an agent can believe in a lease that is gone until its next renewal, up to ttl/6 later, is answered"
                            + " 'not found'",
                    List.of(Release.of(3, 4, 38), Release.of(3, 5, 23), Release.of(3, 6, 5))));

    private EtcdVersions() {}

    /**
     * One warning per known lease defect of the etcd release {@code version} (as etcd's status reports it), each saying
     * what it risks and which release fixes it; empty for a release with every fix. A version that cannot be read
     * gets a warning of its own: nothing can be told about it.
     */
    public static List<String> warnings(String version) {
        Optional<Release> release = Release.parse(version == null ? "" : version);
        if (release.isEmpty()) {
            return List.of(
                    "etcd reports its version as '" + version
                            + "', which is not a release number: cannot tell whether it has"
                            + " the fixes of etcd issue #15247 and pull request #20590 for leases (see docs/dcs.md, etcd versions)");
        }
        List<String> warnings = new ArrayList<>();
        for (Defect defect : DEFECTS) {
            if (defect.affects(release.get())) {
                warnings.add("etcd " + version.strip() + " " + defect.risk() + "; " + defect.consequence()
                        + " (see docs/dcs.md, etcd versions). Fixed in " + defect.fixes(release.get())
                        + ": upgrade etcd");
            }
        }
        return List.copyOf(warnings);
    }
}
