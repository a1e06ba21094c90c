package app.sevenstamp.autopilot.protocol.support;

import java.util.function.LongSupplier;

/**
 * At most {@code burst} at once and {@code perSecond} on average: for what anyone may send (the public
 * provisioning login). Kept as the moment its tokens were last all spent, so it needs no timer.
 */
public final class TokenBucket {
    private final long nanosPerToken;
    private final long burstNanos;
    private final LongSupplier nanoTime;
    private long emptyAt;

    /** @param nanoTime a monotonic clock ({@code System::nanoTime}); the bucket starts full */
    public TokenBucket(int perSecond, int burst, LongSupplier nanoTime) {
        if (perSecond < 1 || burst < 1) {
            throw new IllegalArgumentException("a token bucket needs a positive rate and burst");
        }
        this.nanosPerToken = 1_000_000_000L / perSecond;
        this.burstNanos = burst * nanosPerToken;
        this.nanoTime = nanoTime;
        this.emptyAt = nanoTime.getAsLong() - burstNanos;
    }

    /** Takes a token if there is one. */
    public synchronized boolean take() {
        long now = nanoTime.getAsLong();
        if (emptyAt < now - burstNanos) {
            emptyAt = now - burstNanos;
        }
        if (emptyAt + nanosPerToken > now) {
            return false;
        }
        emptyAt += nanosPerToken;
        return true;
    }
}
