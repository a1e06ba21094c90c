package app.sevenstamp.autopilot.sink.wallet.google;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * At most {@code perSecond} requests a second, evenly spaced: each caller gets the next free slot
 * ({@code 1 s / perSecond} after the previous one) and sleeps until it. No burst allowance, so no
 * second-long window ever holds more than {@code perSecond + 1} starts. Google's Wallet API allows 20
 * requests a second per issuer (more on request).
 *
 * <p>Threads: any thread; the lock only hands out the slot, the wait happens outside it.
 */
final class RateLimiter {
    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private long nextSlot; // guarded by this

    RateLimiter(int perSecond, LongSupplier nanoTime) {
        if (perSecond < 1) {
            throw new IllegalArgumentException("perSecond must be at least 1, got " + perSecond);
        }
        this.intervalNanos = TimeUnit.SECONDS.toNanos(1) / perSecond;
        this.nanoTime = nanoTime;
        this.nextSlot = nanoTime.getAsLong();
    }

    void acquire() throws InterruptedException {
        long wait;
        synchronized (this) {
            long now = nanoTime.getAsLong();
            long slot = Math.max(now, nextSlot);
            nextSlot = slot + intervalNanos;
            wait = slot - now;
        }
        if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
        }
    }
}
