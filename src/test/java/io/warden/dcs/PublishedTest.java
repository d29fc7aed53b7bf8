package io.warden.dcs;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PublishedTest {
    private static final long SECOND = 1_000_000_000L;
    private final Published<String> published = new Published<>();

    @Test
    void nothingWrittenYetIsNeverUnchanged() {
        assertThat(published.unchanged("a", 7, 0)).isFalse();
    }

    @Test
    void theSameValueUnderTheSameLeaseIsNotWrittenAgainUntilTheRefresh() {
        published.wrote("a", 7, 100 * SECOND);
        assertThat(published.unchanged("a", 7, 101 * SECOND)).isTrue();
        assertThat(published.unchanged("a", 7, 109 * SECOND)).isTrue();
        assertThat(published.unchanged("a", 7, 110 * SECOND))
                .as("refreshed after 10 s")
                .isFalse();
    }

    @Test
    void aNewValueOrANewLeaseIsWritten() {
        published.wrote("a", 7, 100 * SECOND);
        assertThat(published.unchanged("b", 7, 101 * SECOND)).isFalse();
        assertThat(published.unchanged("a", 8, 101 * SECOND))
                .as("a new lease: the old key went with the old lease")
                .isFalse();
    }
}
