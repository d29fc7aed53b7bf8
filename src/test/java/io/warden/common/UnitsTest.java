package io.warden.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class UnitsTest {

    @ParameterizedTest(name = "{0} = {1} bytes")
    @CsvSource({
        "0, 0",
        "1048576, 1048576",
        "512B, 512",
        "1kB, 1024",
        "512kB, 524288",
        "512KB, 524288",
        "512k, 524288",
        "16MB, 16777216",
        "16mb, 16777216",
        "16M, 16777216",
        "1GB, 1073741824",
        "1GiB, 1073741824",
        "2TB, 2199023255552",
        "' 16 MB ', 16777216",
    })
    void parsesSizesInPowersOf1024(String text, long bytes) {
        assertThat(Units.bytes(text)).isEqualTo(bytes);
    }

    @Test
    void unitsScaleByPowersOf1024() {
        assertThat(Units.bytes("1MB")).isEqualTo(1024 * Units.bytes("1kB"));
        assertThat(Units.bytes("1GB")).isEqualTo(1024 * Units.bytes("1MB"));
        assertThat(Units.bytes("1TB")).isEqualTo(1024 * Units.bytes("1GB"));
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {"MB", "-1", "1.5MB", "16 XB", "16MBs", "lots", "1 2"})
    void rejectsWhatIsNotASize(String text) {
        assertThatThrownBy(() -> Units.bytes(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a size")
                .hasMessageContaining("kB, MB, GB");
    }

    @Test
    void sizeErrorQuotesTheText() {
        assertThatThrownBy(() -> Units.bytes("16XB")).hasMessageContaining("'16XB'");
    }

    @Test
    void rejectsNumbersTooLargeForALong() {
        assertThatThrownBy(() -> Units.bytes("99999999999999999999")).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest(name = "{0} = {1} ms")
    @CsvSource({
        "500ms, 500",
        "0ms, 0",
        "250MS, 250",
        "3s, 3000",
        "3S, 3000",
        "3, 3000",
        "0, 0",
        "2m, 120000",
        "1h, 3600000",
        "' 3 s ', 3000",
        "1500ms, 1500",
    })
    void parsesDurations(String text, long millis) {
        assertThat(Units.duration(text)).isEqualTo(Duration.ofMillis(millis));
    }

    @Test
    void bareNumberIsSeconds() {
        assertThat(Units.duration("30")).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void minutesAreNotMilliseconds() {
        assertThat(Units.duration("1m")).isEqualTo(Duration.ofMinutes(1));
        assertThat(Units.duration("1ms")).isEqualTo(Duration.ofMillis(1));
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {"s", "-1s", "1.5s", "3 sec", "3d", "3us", "ten seconds", "3s5"})
    void rejectsWhatIsNotADuration(String text) {
        assertThatThrownBy(() -> Units.duration(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not a duration")
                .hasMessageContaining("500ms");
    }

    @Test
    void durationErrorQuotesTheText() {
        assertThatThrownBy(() -> Units.duration("3d")).hasMessageContaining("'3d'");
    }
}
