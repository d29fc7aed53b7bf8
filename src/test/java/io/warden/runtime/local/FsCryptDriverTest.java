package io.warden.runtime.local;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** What up tells the operator about the cost of encryption comes from the kernel's own list of ciphers. */
class FsCryptDriverTest {
    private static final List<String> GENERIC = List.of(
            "name         : cts(cbc(aes))",
            "driver       : cts(cbc(ecb(aes-fixed-time)))",
            "",
            "name         : xts(aes)",
            "driver       : xts(ecb(aes-fixed-time))",
            "module       : kernel",
            "priority     : 101");

    private static final List<String> ACCELERATED =
            List.of("name         : xts(aes)", "driver       : xts-aes-vaes-avx2", "module       : kernel");

    @Test
    void theDriverOfXtsAesIsReadAndTheGenericOneIsToldApart() {
        assertThat(FsCrypt.contentsCipherDriver(GENERIC)).contains("xts(ecb(aes-fixed-time))");
        assertThat(FsCrypt.unaccelerated("xts(ecb(aes-fixed-time))")).isTrue();
        assertThat(FsCrypt.contentsCipherDriver(ACCELERATED)).contains("xts-aes-vaes-avx2");
        assertThat(FsCrypt.unaccelerated("xts-aes-vaes-avx2")).isFalse();
    }

    @Test
    void aKernelThatHasNotUsedXtsYetListsNoDriver() {
        assertThat(FsCrypt.contentsCipherDriver(GENERIC.subList(0, 2))).isEmpty();
    }
}
