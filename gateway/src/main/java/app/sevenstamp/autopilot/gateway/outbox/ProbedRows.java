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
 * start's heap does not grow with the backlog.
 */
final class ProbedRows {
    /** Rows at most; past it the probe keeps none and the replay looks rows up in H2. */
    static final int MAX_ROWS = 1 << 18;

    private final long[] seqs;
    private final long[] msb;
    private final long[] lsb;
    private final Map<Long, String> others;
    private final int size;

    private ProbedRows(long[] seqs, long[] msb, long[] lsb, Map<Long, String> others, int size) {
        this.seqs = seqs;
        this.msb = msb;
        this.lsb = lsb;
        this.others = others;
        this.size = size;
    }

    /** How many rows the file held. */
    int size() {
        return size;
    }

    /**
     * Which of the run's records the file held exactly as logged: that number with that event id. Compares a canonical
     * id's bits: making each row's id a string to compare it was 15 % of the open's samples at 100,000 waiting.
     */
    boolean[] heldAsLogged(List<OutboxRedo.Logged> run) {
        boolean[] held = new boolean[run.size()];
        for (int k = 0; k < held.length; k++) {
            held[k] = heldAsLogged(run.get(k));
        }
        return held;
    }

    /** Whether the file held this record's number with its event id. */
    boolean heldAsLogged(OutboxRedo.Logged s) {
        int i = Arrays.binarySearch(seqs, 0, size, s.seq());
        if (i < 0) {
            return false;
        }
        String other = others.isEmpty() ? null : others.get(s.seq());
        if (other != null) {
            return other.equals(s.eventId());
        }
        return s.canonical() && s.msb() == msb[i] && s.lsb() == lsb[i];
    }

    /**
     * The event held at each of the run's numbers but those {@code skip} marks (none: not in the map); a new, mutable
     * map.
     */
    Map<Long, String> holders(List<OutboxRedo.Logged> run, boolean[] skip) {
        Map<Long, String> found = new HashMap<>();
        for (int k = 0; k < skip.length; k++) {
            if (skip[k]) {
                continue;
            }
            OutboxRedo.Logged s = run.get(k);
            int i = Arrays.binarySearch(seqs, 0, size, s.seq());
            if (i >= 0) {
                String other = others.get(s.seq());
                found.put(s.seq(), other != null ? other : new UUID(msb[i], lsb[i]).toString());
            }
        }
        return found;
    }

    /** Collects rows in ascending order of their numbers, as a scan of the primary key gives them. */
    static final class Builder {
        private final long[] seqs;
        private final long[] msb;
        private final long[] lsb;
        private final Map<Long, String> others = new HashMap<>();
        private final long[] bits = new long[2];
        private int size;
        private boolean overflowed;

        /** @param capacity the rows expected; more, and {@link #build} has none */
        Builder(int capacity) {
            seqs = new long[capacity];
            msb = new long[capacity];
            lsb = new long[capacity];
        }

        void add(long seq, String eventId) {
            if (overflowed || size == seqs.length) {
                overflowed = true;
                return;
            }
            if (size > 0 && seq <= seqs[size - 1]) {
                throw new IllegalArgumentException("rows out of order: seq " + seq + " after " + seqs[size - 1]);
            }
            seqs[size] = seq;
            if (AckedIds.parse(eventId, bits)) {
                msb[size] = bits[0];
                lsb[size] = bits[1];
            } else {
                others.put(seq, eventId);
            }
            size++;
        }

        /** The rows, or null when more came than the capacity said. */
        ProbedRows build() {
            return overflowed ? null : new ProbedRows(seqs, msb, lsb, others, size);
        }
    }
}
