package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * When H2 is compacted: in a quiet moment with a file bigger than needed, or near a quarter of {@code outbox.maxBytes}
 * when the file is mostly garbage, never for a file that holds little else than a backlog's live rows (its copy is
 * not much smaller: a box back from an outage with 300,000 stamps compacted its 131 MB file at its start, which
 * waited 7 s for it).
 */
class OutboxCompactionDueTest {
    private static final long MB = 1L << 20;
    private static final long MAX = 512 * MB; // outbox.maxBytes' default: compaction from 128 MB

    private final OutboxCompaction compaction = new OutboxCompaction(MAX, Outbox.REDO_REWRITE_BYTES);

    @Test
    void aFileOfLiveRowsIsNotCompactedHoweverLargeAtAStartOrLater() {
        // measured: 300,000 stamps waiting in 131 MB (a waiting stamp takes at least 400 B: 114 MB of live rows)
        assertFalse(compaction.h2Due(131 * MB, 300_000, false), "a new process, a file of live rows");
        assertFalse(compaction.h2Due(170 * MB, 300_000, false), "its copy would be less than an eighth of the limit smaller");
        assertTrue(compaction.h2Due(180 * MB, 300_000, false), "an eighth of the limit of garbage");
        assertFalse(compaction.h2Due(200 * MB, 400_000, false), "400,000 stamps need 153 MB or more");
    }

    /**
     * Payloads stored as bytes take 241 B a stamp in a compacted file (100,000 measured): counted as text, at 400, the
     * garbage of a file that holds them stays hidden until the file reaches its limit.
     */
    @Test
    void aFileOfBinaryPayloadsCountsWhatItsRowsTakeAsBytes() {
        assertFalse(compaction.h2Due(72 * MB, 300_000, true), "a compacted file of 300,000");
        assertFalse(compaction.h2Due(120 * MB, 300_000, true), "its copy would be less than an eighth of the limit smaller");
        assertTrue(compaction.h2Due(130 * MB, 300_000, true), "an eighth of the limit of garbage");
        assertFalse(compaction.h2Due(130 * MB, 300_000, false), "as text the same rows would fill it");
    }

    @Test
    void aLargeFileOfMostlyGarbageIsCompactedWhateverTheBacklog() {
        assertTrue(compaction.h2Due(140 * MB, 20_000, false), "20,000 rows need far less than 140 MB");
        compaction.compacted(100 * MB);
        assertFalse(compaction.h2Due(140 * MB, 20_000, false), "not grown by an eighth of the limit since");
        assertTrue(compaction.h2Due(100 * MB + MAX / 8 + 1, 20_000, false));
    }

    @Test
    void aQuietMomentCompactsAFileBiggerThanNeeded() {
        assertTrue(compaction.h2Due(OutboxCompaction.COMPACT_ABOVE_BYTES + 1, 10, false));
        assertFalse(compaction.h2Due(OutboxCompaction.COMPACT_ABOVE_BYTES - 1, 10, false));
        assertFalse(compaction.h2Due(OutboxCompaction.COMPACT_ABOVE_BYTES + 1, 5_000, false), "not a quiet moment");
    }
}
