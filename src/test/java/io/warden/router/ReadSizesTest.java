package io.warden.router;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.RecvByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

/** The relay's read sizes: a small message must fit one read however many small reads came before it. */
class ReadSizesTest {

    /** The buffer size the allocator offers after {@code reads} reads of {@code bytes} each, one per wake-up. */
    private static int guessAfter(RecvByteBufAllocator allocator, int reads, int bytes) {
        EmbeddedChannel channel = new EmbeddedChannel();
        try {
            RecvByteBufAllocator.Handle handle = allocator.newHandle();
            for (int i = 0; i < reads; i++) {
                handle.reset(channel.config());
                int offered = handle.guess();
                handle.attemptedBytesRead(offered);
                handle.lastBytesRead(Math.min(bytes, offered));
                handle.readComplete();
            }
            return handle.guess();
        } finally {
            channel.finishAndReleaseAll();
        }
    }

    @Test
    void nettysDefaultShrinksBelowATypicalQuery() {
        // Why the router sets its own: after small results the default offers less than a 100-byte query needs,
        // which then arrives in two reads.
        assertThat(guessAfter(new AdaptiveRecvByteBufAllocator(), 500, 30)).isLessThan(100);
    }

    @Test
    void routerReadsStayLargeEnoughForSmallMessages() {
        assertThat(guessAfter(Router.READS, 500, 30)).isGreaterThanOrEqualTo(2048);
    }

    @Test
    void routerReadsGrowForAStream() {
        assertThat(guessAfter(Router.READS, 50, Integer.MAX_VALUE)).isEqualTo(65536);
    }
}
