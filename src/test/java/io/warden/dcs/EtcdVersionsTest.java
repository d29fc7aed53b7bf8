package io.warden.dcs;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class EtcdVersionsTest {
    private static final String EARLY_REVOCATION = "#15247";
    private static final String FALSE_RENEWAL = "#20590";

    @Test
    void debian12sEtcdHasBothDefectsAndEachWarningNamesItsFixOnThatLine() {
        List<String> warnings = EtcdVersions.warnings("3.4.23");

        assertThat(warnings).hasSize(2);
        assertThat(warnings.get(0))
                .startsWith("etcd 3.4.23 may revoke leases early")
                .contains(EARLY_REVOCATION)
                .contains("Fixed in 3.4.31: upgrade etcd")
                .contains("docs/dcs.md");
        assertThat(warnings.get(1))
                .startsWith("etcd 3.4.23 may answer a lease renewal as successful")
                .contains(FALSE_RENEWAL)
                .contains("Fixed in 3.4.38: upgrade etcd");
    }

    @ParameterizedTest(name = "{0}: early revocation {1}, false renewal {2}")
    @CsvSource({
        "3.4.30, true, true",
        "3.4.31, false, true",
        "3.4.37, false, true",
        "3.4.38, false, false",
        "3.4.39, false, false",
        "3.5.0, true, true",
        "3.5.12, true, true",
        "3.5.13, false, true",
        "3.5.22, false, true",
        "3.5.23, false, false",
        "3.5.24, false, false",
        "3.6.0, false, true",
        "3.6.4, false, true",
        "3.6.5, false, false",
        "3.6.14, false, false",
        "3.7.0, false, false",
        "4.0.0, false, false",
        "3.3.27, true, true",
        "2.3.8, true, true",
        // A pre-release comes before the release it leads to, so it lacks what that release fixed.
        "3.5.13-rc.0, true, true",
        "3.5.23-rc.1, false, true",
        "3.6.0-alpha.0, true, true",
        "3.6.5+build.7, false, false",
    })
    void eachDefectIsReportedExactlyForTheReleasesBeforeItsFixOnTheirLine(
            String version, boolean early, boolean falseRenewal) {
        List<String> warnings = EtcdVersions.warnings(version);

        assertThat(warnings.stream().anyMatch(w -> w.contains(EARLY_REVOCATION)))
                .as("early revocation")
                .isEqualTo(early);
        assertThat(warnings.stream().anyMatch(w -> w.contains(FALSE_RENEWAL)))
                .as("false renewal")
                .isEqualTo(falseRenewal);
        assertThat(warnings).hasSize((early ? 1 : 0) + (falseRenewal ? 1 : 0));
    }

    @Test
    void aLineOlderThanEveryFixIsToldEveryFix() {
        assertThat(EtcdVersions.warnings("3.3.27"))
                .anySatisfy(w -> assertThat(w).contains("Fixed in 3.4.31, 3.5.13, 3.6.0"))
                .anySatisfy(w -> assertThat(w).contains("Fixed in 3.4.38, 3.5.23, 3.6.5"));
    }

    @ParameterizedTest
    @CsvSource(
            value = {"''", "unknown", "3.5", "v3.5.24", "3.5.x"},
            nullValues = "null")
    void aVersionThatIsNotAReleaseNumberCannotBeToldFixed(String version) {
        assertThat(EtcdVersions.warnings(version))
                .singleElement()
                .satisfies(w -> assertThat(w)
                        .contains("not a release number")
                        .contains(EARLY_REVOCATION)
                        .contains(FALSE_RENEWAL));
        assertThat(EtcdVersions.warnings(null)).hasSize(1);
    }
}
