package app.sevenstamp.autopilot.gateway.outbox;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/**
 * The event ids a redo-log replay found acknowledged ({@link OutboxRedo#reconcile}): an exact set, built
 * once and then only asked.
 *
 * <p>Why not a {@code HashSet<String>}: at the peak of a 100,000-stamp drain, the replay after a
 * compaction holds the ids acknowledged since the log's last rewrite, about 53,000, and a hash set costs
 * about 110 bytes for each (its node, the string and the string's bytes): 6 MB of a 64 MB heap
 * (docs/performance.md). Every id this box makes is a canonical UUID ({@code EventIds}), so such an id
 * is kept as its 128 bits, in two long arrays with open addressing (linear probing, at most 3/4 full):
 * 16 to 43 bytes an id.
 *
 * <p>Exact, not probabilistic: a false "acknowledged" leaves out of H2 a stamp the sink never had. Only
 * a string that is exactly the canonical form (36 characters, lower-case hex, dashes at 8, 13, 18 and
 * 23) is taken as bits, since only that form maps one-to-one onto them ({@code UUID.fromString} also
 * reads upper case and short forms such as {@code "1-1-1-1-1"}, which are other strings). Any other id
 * (an older or foreign box's, a test's) goes to a plain set of strings.
 */
final class AckedIds {
    private static final int MIN_SLOTS = 64;

    /** The slots; msb and lsb both 0 is an empty slot, so the nil UUID is {@link #nil} instead. */
    private long[] msb = new long[MIN_SLOTS];
    private long[] lsb = new long[MIN_SLOTS];
    private int used;
    private boolean nil;
    private final Set<String> others = new HashSet<>();

    void add(String id) {
        long[] bits = new long[2];
        if (!parse(id, bits)) {
            others.add(id);
            return;
        }
        long hi = bits[0];
        long lo = bits[1];
        if (hi == 0 && lo == 0) {
            nil = true;
            return;
        }
        if ((used + 1) * 4L > msb.length * 3L) {
            grow();
        }
        if (insert(msb, lsb, hi, lo)) {
            used++;
        }
    }

    boolean contains(String id) {
        long[] bits = new long[2];
        if (!parse(id, bits)) {
            return others.contains(id);
        }
        return containsCanonical(bits[0], bits[1]);
    }

    /** Whether the canonical id with these halves ({@link #parse}) is in the set. */
    boolean containsCanonical(long hi, long lo) {
        if (hi == 0 && lo == 0) {
            return nil;
        }
        int mask = msb.length - 1;
        for (int i = slot(hi, lo, mask); ; i = (i + 1) & mask) {
            if (msb[i] == hi && lsb[i] == lo) {
                return true;
            }
            if (msb[i] == 0 && lsb[i] == 0) {
                return false;
            }
        }
    }

    int size() {
        return used + (nil ? 1 : 0) + others.size();
    }

    private void grow() {
        long[] hiSlots = new long[msb.length * 2];
        long[] loSlots = new long[msb.length * 2];
        for (int i = 0; i < msb.length; i++) {
            if (msb[i] != 0 || lsb[i] != 0) {
                insert(hiSlots, loSlots, msb[i], lsb[i]);
            }
        }
        msb = hiSlots;
        lsb = loSlots;
    }

    /** False when the key is there already. */
    private static boolean insert(long[] hiSlots, long[] loSlots, long hi, long lo) {
        int mask = hiSlots.length - 1;
        for (int i = slot(hi, lo, mask); ; i = (i + 1) & mask) {
            if (hiSlots[i] == hi && loSlots[i] == lo) {
                return false;
            }
            if (hiSlots[i] == 0 && loSlots[i] == 0) {
                hiSlots[i] = hi;
                loSlots[i] = lo;
                return true;
            }
        }
    }

    /**
     * Both halves mixed (MurmurHash3's finalizer): a version 7 id's high half is mostly its millisecond, the
     * same for the ids of one burst.
     */
    private static int slot(long hi, long lo, int mask) {
        long h = hi * 0x9E3779B97F4A7C15L ^ lo;
        h ^= h >>> 33;
        h *= 0xFF51AFD7ED558CCDL;
        h ^= h >>> 33;
        h *= 0xC4CEB9FE1A85EC53L;
        h ^= h >>> 33;
        return (int) h & mask;
    }

    /** Each character's value in the canonical form: a hex digit's (lower case only), -2 a dash, -1 any other. */
    private static final byte[] VALUES = new byte[128];

    static {
        java.util.Arrays.fill(VALUES, (byte) -1);
        for (int d = 0; d < 10; d++) {
            VALUES['0' + d] = (byte) d;
        }
        for (int d = 0; d < 6; d++) {
            VALUES['a' + d] = (byte) (10 + d);
        }
        VALUES['-'] = -2;
    }

    /**
     * Reads an id that is exactly the form {@code UUID.toString} writes into {@code bits} (the high half at 0, the low
     * at 1) and says so; false for any other string, {@code bits} then undefined. One pass over a copy of its bytes:
     * with the unit's C1 compiler, {@code String.charAt}'s checks in a check and then two reads of the halves cost
     * 65 ms for 100,000 ids against 12-17 ms (a throwaway program), and a quarter of the {@code outbox} thread's
     * samples at a start with 100,000 waiting, where the probe and the replay read every waiting stamp's id.
     */
    static boolean parse(String id, long[] bits) {
        // a character past Latin-1 becomes '?', not a digit
        return id.length() == 36 && parse(id.getBytes(StandardCharsets.ISO_8859_1), 0, 36, bits);
    }

    /**
     * As {@link #parse(String, long[])}, for an id's bytes as the redo log holds them ({@code DataOutputStream.writeUTF}'s
     * modified UTF-8, which writes a character past ASCII as bytes of 0x80 and more, never a digit or a dash): the
     * replay asks its waiting stamps' ids without making a string of each.
     */
    static boolean parse(byte[] b, int at, int length, long[] bits) {
        if (length != 36) {
            return false;
        }
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 36; i++) {
            byte c = b[at + i];
            if (c < 0) {
                return false;
            }
            int v = VALUES[c];
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                if (v != -2) {
                    return false;
                }
            } else if (v < 0) {
                return false;
            } else if (i < 18) {
                hi = hi << 4 | v;
            } else {
                lo = lo << 4 | v;
            }
        }
        bits[0] = hi;
        bits[1] = lo;
        return true;
    }
}
