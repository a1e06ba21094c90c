package app.sevenstamp.autopilot.protocol;

import java.security.SecureRandom;
import java.util.UUID;

/**
 * Time-ordered unique event ids (UUID version 7, RFC 9562): 48 bits of Unix milliseconds, then
 * random bits. Sorting ids sorts events by creation time, which keeps the sink's unique index compact.
 */
public final class EventIds {
    private static final SecureRandom RANDOM = new SecureRandom();

    private EventIds() {
    }

    public static String next(long unixMillis) {
        long rand = RANDOM.nextLong();
        long msb = (unixMillis << 16) | 0x7000L | ((rand >>> 52) & 0x0FFFL);
        long lsb = (RANDOM.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(msb, lsb).toString();
    }
}
