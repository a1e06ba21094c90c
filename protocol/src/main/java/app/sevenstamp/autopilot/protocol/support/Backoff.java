package app.sevenstamp.autopilot.protocol.support;

import java.time.Duration;
import java.util.Objects;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with full jitter between {@code min} and {@code max}: attempt n waits a uniform
 * random time in {@code [min, min(max, min * 2^n)]}. The jitter keeps a shop's worth of boxes from
 * reconnecting in lockstep after a broker restart. Thread-safe: the connect thread and a client callback may both ask it.
 */
public final class Backoff {
    private final long minNanos;
    private final long maxNanos;
    private final DoubleSupplier random;
    private int attempt;

    /** @param random uniform in [0, 1), injected so tests are repeatable */
    public Backoff(Duration min, Duration max, DoubleSupplier random) {
        this.minNanos = min.toNanos();
        this.maxNanos = max.toNanos();
        this.random = Objects.requireNonNull(random, "random");
        if (minNanos <= 0 || maxNanos < minNanos) {
            throw new IllegalArgumentException("need 0 < min <= max, got " + min + " and " + max);
        }
    }

    /** The wait before the next attempt; each call doubles the upper bound until it reaches max. */
    public synchronized Duration next() {
        long cap = minNanos;
        for (int i = 0; i < attempt && cap < maxNanos; i++) {
            cap = cap > maxNanos / 2 ? maxNanos : cap * 2;
        }
        cap = Math.min(cap, maxNanos);
        attempt++;
        return Duration.ofNanos(minNanos + (long) (random.getAsDouble() * (cap - minNanos)));
    }

    /** After a success: the next failure waits about {@code min} again. */
    public synchronized void reset() {
        attempt = 0;
    }
}
