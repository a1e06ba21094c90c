package app.sevenstamp.autopilot.protocol.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class TokenBucketTest {
    @Test
    void aBurstThenTheRateAndNeverMoreThanTheBurstSavedUp() {
        AtomicLong now = new AtomicLong(5_000_000_000L);
        TokenBucket bucket = new TokenBucket(10, 3, now::get);
        assertEquals(3, takeAll(bucket), "starts full");
        now.addAndGet(99_000_000);
        assertFalse(bucket.take(), "a token every 100 ms");
        now.addAndGet(1_000_000);
        assertTrue(bucket.take());
        assertFalse(bucket.take());
        now.addAndGet(3_600_000_000_000L);
        assertEquals(3, takeAll(bucket), "an hour's quiet saves up the burst, no more");
        int taken = 0;
        for (int ms = 0; ms < 10_000; ms++) {
            now.addAndGet(1_000_000);
            taken += takeAll(bucket);
        }
        assertEquals(100, taken, "ten a second over ten seconds of asking every millisecond");
    }

    @Test
    void aBucketNeedsARateAndABurst() {
        assertThrows(IllegalArgumentException.class, () -> new TokenBucket(0, 1, System::nanoTime));
        assertThrows(IllegalArgumentException.class, () -> new TokenBucket(1, 0, System::nanoTime));
    }

    private static int takeAll(TokenBucket bucket) {
        int n = 0;
        while (bucket.take()) {
            n++;
        }
        return n;
    }
}
