package app.sevenstamp.autopilot.sink.wallet.apple;

import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * At most {@code limit} events per key in each fixed window, for the few keys seen lately: a flood from
 * one client address, or for one device library id, is answered 429 without a store write. The table
 * keeps at most {@code maxKeys} keys (the oldest are forgotten), so a flood of fresh keys costs bounded
 * memory. Synchronized: the critical section is a map lookup, never I/O.
 */
final class RateLimit {
    private final int limit;
    private final long windowNanos;
    private final int maxKeys;
    private final Map<String, long[]> windows = new LinkedHashMap<>(64, 0.75f, true);

    RateLimit(int limit, Duration window, int maxKeys) {
        this.limit = limit;
        this.windowNanos = window.toNanos();
        this.maxKeys = maxKeys;
    }

    /** Counts one event; false when the key is over its limit in this window. */
    synchronized boolean allow(String key, long nowNanos) {
        long[] w = windows.get(key);
        if (w == null || nowNanos - w[0] >= windowNanos) {
            w = new long[] {nowNanos, 0};
            windows.put(key, w);
            if (windows.size() > maxKeys) {
                Iterator<String> eldest = windows.keySet().iterator();
                eldest.next();
                eldest.remove();
            }
        }
        return ++w[1] <= limit;
    }
}
