package app.sevenstamp.autopilot.gateway.outbox;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The rows an outbox file held when the damage probe read them ({@link OutboxSalvage#probe}): each number
 * with its event id. The redo log's replay at open asks this instead of H2 ({@link OutboxRedo#reconcile}).
 *
 * <p>Why: the probe reads every row of the file to find a damaged page before anything writes to it, and
 * the replay then looked every waiting row up again, on the read-write connection. With 100,000 waiting
 * each read took about a second and a half, most of the box's start (docs/performance.md, "A start with a
 * backlog reads H2 once").
 *
 * <p>Exact, as {@link AckedIds} is: a canonical UUID id is kept as its 128 bits, any other in a map. At
 * most {@link #MAX_ROWS} rows (24 bytes each, 6 MB): a larger backlog is looked up in H2 as before, so the
 * start's heap does not grow with the backlog. The rows come in parts (the probe reads ranges of numbers
 * on two threads), each in ascending order, the parts one after the other.
 */
final class ProbedRows {
    /** Rows at most; past it the probe keeps none and the replay looks rows up in H2. */
    static final int MAX_ROWS = 1 << 18;

    private final List<Builder> parts;
    private final int size;

    private ProbedRows(List<Builder> parts, int size) {
        this.parts = parts;
        this.size = size;
    }

    /**
     * The parts as one, or null when one overflowed, they hold more than {@code maxRows} together, or a part
     * does not start above the one before.
     */
    static ProbedRows of(List<Builder> parts, int maxRows) {
        long total = 0;
        long last = Long.MIN_VALUE;
        for (Builder part : parts) {
            if (part.overflowed) {
                return null;
            }
            if (part.size > 0) {
                if (part.seqs[0] <= last) {
                    throw new IllegalArgumentException("parts out of order: seq " + part.seqs[0] + " after " + last);
                }
                last = part.seqs[part.size - 1];
            }
            total += part.size;
        }
        return total > maxRows ? null : new ProbedRows(List.copyOf(parts), (int) total);
    }

    /** How many rows the file held. */
    int size() {
        return size;
    }

    /** The event held at each of the run's numbers (none: not in the map); a new, mutable map. */
    Map<Long, String> holders(List<OutboxRedo.Logged> run) {
        Map<Long, String> found = new HashMap<>();
        for (OutboxRedo.Logged s : run) {
            for (Builder part : parts) {
                int i = Arrays.binarySearch(part.seqs, 0, part.size, s.seq());
                if (i >= 0) {
                    String other = part.others.get(s.seq());
                    found.put(s.seq(), other != null ? other : new UUID(part.msb[i], part.lsb[i]).toString());
                    break;
                }
            }
        }
        return found;
    }

    /** Collects rows in ascending order of their numbers, as a scan of the primary key gives them. */
    static final class Builder {
        private final int max;
        private long[] seqs;
        private long[] msb;
        private long[] lsb;
        private final Map<Long, String> others = new HashMap<>();
        private int size;
        private boolean overflowed;

        /**
         * @param expected the rows expected (room for them is taken at once)
         * @param max      the rows at most; more, and {@link ProbedRows#of} has none
         */
        Builder(int expected, int max) {
            this.max = max;
            int room = Math.min(expected, max);
            seqs = new long[room];
            msb = new long[room];
            lsb = new long[room];
        }

        void add(long seq, String eventId) {
            if (overflowed) {
                return;
            }
            if (size > 0 && seq <= seqs[size - 1]) {
                throw new IllegalArgumentException("rows out of order: seq " + seq + " after " + seqs[size - 1]);
            }
            if (size == seqs.length && !grow()) {
                overflowed = true;
                return;
            }
            seqs[size] = seq;
            if (AckedIds.canonical(eventId)) {
                msb[size] = AckedIds.bits(eventId, 0);
                lsb[size] = AckedIds.bits(eventId, 19);
            } else {
                others.put(seq, eventId);
            }
            size++;
        }

        private boolean grow() {
            int room = (int) Math.min(max, seqs.length + (seqs.length >> 1) + 16L);
            if (room <= seqs.length) {
                return false;
            }
            seqs = Arrays.copyOf(seqs, room);
            msb = Arrays.copyOf(msb, room);
            lsb = Arrays.copyOf(lsb, room);
            return true;
        }
    }
}
