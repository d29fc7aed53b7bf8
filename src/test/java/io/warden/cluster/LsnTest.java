package io.warden.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class LsnTest {

    @Test
    void parsesHighAndLowWords() {
        assertThat(Lsn.parse("16/B374D848").value()).isEqualTo(0x16_B374D848L);
        assertThat(Lsn.parse("0/0")).isEqualTo(Lsn.ZERO);
        assertThat(Lsn.parse("0/1").value()).isEqualTo(1);
        assertThat(Lsn.parse("1/0").value()).isEqualTo(1L << 32);
        assertThat(Lsn.parse("0/FFFFFFFF").value()).isEqualTo(0xFFFFFFFFL);
    }

    @Test
    void parsesLowerCaseHex() {
        assertThat(Lsn.parse("16/b374d848")).isEqualTo(Lsn.parse("16/B374D848"));
    }

    @Test
    void formatsAsPostgresPrintsIt() {
        assertThat(new Lsn(0x16_B374D848L)).hasToString("16/B374D848");
        assertThat(Lsn.ZERO).hasToString("0/0");
        assertThat(new Lsn(0x3000060L)).hasToString("0/3000060");
        assertThat(new Lsn(1L << 32)).hasToString("1/0");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "0/0",
                "0/1",
                "16/B374D848",
                "0/3000060",
                "1/0",
                "FFFFFFFF/FFFFFFFF",
                "80000000/0",
                "7FFFFFFF/FFFFFFFF"
            })
    void roundTripsThroughText(String text) {
        assertThat(Lsn.parse(text)).hasToString(text);
        assertThat(Lsn.parse(Lsn.parse(text).toString())).isEqualTo(Lsn.parse(text));
    }

    @Test
    void roundTripsRandomValues() {
        Random rnd = new Random(42);
        for (int i = 0; i < 2000; i++) {
            Lsn lsn = new Lsn(rnd.nextLong());
            assertThat(Lsn.parse(lsn.toString())).as("%s", lsn).isEqualTo(lsn);
        }
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {"  ", "\t"})
    void missingTextIsZero(String text) {
        assertThat(Lsn.parse(text)).isEqualTo(Lsn.ZERO);
    }

    @Test
    void rejectsTextWithoutSlash() {
        assertThatThrownBy(() -> Lsn.parse("16B374D848"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not an LSN")
                .hasMessageContaining("16B374D848");
    }

    @ParameterizedTest
    @ValueSource(strings = {"G/0", "0/XYZ", "/0", "0/", "0/1/2", "1.5/0"})
    void rejectsNonHexParts(String text) {
        assertThatThrownBy(() -> Lsn.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void comparesByPosition() {
        assertThat(Lsn.parse("0/5000000")).isLessThan(Lsn.parse("0/5000001"));
        assertThat(Lsn.parse("0/FFFFFFFF")).isLessThan(Lsn.parse("1/0"));
        assertThat(Lsn.parse("2/0")).isGreaterThan(Lsn.parse("1/FFFFFFFF"));
        assertThat(Lsn.parse("16/B374D848")).isEqualByComparingTo(Lsn.parse("16/b374d848"));
    }

    @Test
    void comparesUnsignedAcrossTheSignBit() {
        assertThat(Lsn.parse("80000000/0")).isGreaterThan(Lsn.parse("7FFFFFFF/FFFFFFFF"));
        assertThat(Lsn.parse("FFFFFFFF/FFFFFFFF")).isGreaterThan(Lsn.parse("0/0"));
    }

    @Test
    void sortsInWalOrder() {
        List<Lsn> expected = List.of(
                Lsn.ZERO,
                Lsn.parse("0/1"),
                Lsn.parse("0/FFFFFFFF"),
                Lsn.parse("1/0"),
                Lsn.parse("16/B374D848"),
                Lsn.parse("80000000/0"));
        List<Lsn> shuffled = new ArrayList<>(expected);
        Collections.shuffle(shuffled, new Random(1));
        Collections.sort(shuffled);
        assertThat(shuffled).containsExactlyElementsOf(expected);
    }

    @Test
    void bytesBehindIsTheDistanceToAPositionAhead() {
        assertThat(Lsn.parse("0/5000000").bytesBehind(Lsn.parse("0/6000000"))).isEqualTo(0x1000000L);
        assertThat(Lsn.parse("0/FFFFFFF0").bytesBehind(Lsn.parse("1/10"))).isEqualTo(0x20);
        assertThat(Lsn.ZERO.bytesBehind(Lsn.parse("16/B374D848"))).isEqualTo(0x16_B374D848L);
    }

    @Test
    void bytesBehindIsZeroWhenLevelOrAhead() {
        assertThat(Lsn.parse("0/5000000").bytesBehind(Lsn.parse("0/5000000"))).isZero();
        assertThat(Lsn.parse("0/6000000").bytesBehind(Lsn.parse("0/5000000"))).isZero();
        assertThat(Lsn.parse("1/0").bytesBehind(Lsn.ZERO)).isZero();
    }

    @Test
    void bytesBehindAcrossTheSignBit() {
        assertThat(Lsn.parse("7FFFFFFF/FFFFFFFF").bytesBehind(Lsn.parse("80000000/0")))
                .isEqualTo(1);
        assertThat(Lsn.parse("80000000/0").bytesBehind(Lsn.parse("7FFFFFFF/FFFFFFFF")))
                .isZero();
    }

    @Test
    void equalityIsByValue() {
        assertThat(Lsn.parse("0/10")).isEqualTo(new Lsn(16)).hasSameHashCodeAs(new Lsn(16));
        assertThat(Lsn.parse("0/10")).isNotEqualTo(Lsn.parse("0/11"));
    }
}
