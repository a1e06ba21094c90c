package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * A simulated week of traffic (50,000 stamps, each acknowledged shortly after) on a real H2 file: the file
 * stays bounded. An IT because each append is a real fsync (about a minute in all).
 */
@Execution(ExecutionMode.CONCURRENT) // its own simulated week on H2, no timing asserted: runs beside the other ITs (pom.xml, failsafe)
class OutboxWeekIT {
    private static final Instant T0 = Instant.parse("2026-11-23T07:02:11.345Z");

    @TempDir
    Path dir;
    private Outbox outbox;

    @AfterEach
    void close() {
        if (outbox != null) {
            outbox.close(Duration.ofSeconds(5));
        }
    }

    /**
     * Stamp {@code i}, 12 s after the one before (50,000 in a week). Distinct scan times matter: the redo
     * log's replay looks each stamp's counter-history line up by its time, and 50,000 lines of one instant
     * made every compaction's replay quadratic (1.2 s with 1,600 lines, minutes with 50,000).
     */
    private static StampDraft draft(int i) {
        String card = String.format("CARD%012d", i).replace('0', 'A').replace('1', 'B');
        return new StampDraft(EventIds.next(T0.toEpochMilli()), "counter-1", "7S1.k1.coffee." + card + ".sig"
                + "x".repeat(90), "coffee", card, "shop-12", T0.plusSeconds(12L * i), i, "boot", true, EventKind.STAMP);
    }

    @Test
    void theFileStaysSmallOverAWeekOfAppendsAndAcknowledgements() throws Exception {
        // 50,000 stamps, each acknowledged a few stamps later: a busy counter's week, at full speed
        outbox = Outbox.open(dir, Clock.fixed(T0, ZoneOffset.UTC));
        List<StoredEvent> inFlight = new ArrayList<>();
        long largest = 0;
        List<Long> sizes = new ArrayList<>();
        for (int i = 1; i <= 50_000; i++) {
            inFlight.add(outbox.append(draft(i)).get());
            if (inFlight.size() >= 20) {
                // acknowledged ten at a time, as they come back from the sink within the in-flight window
                for (int k = 0; k < 10; k++) {
                    StoredEvent acked = inFlight.remove(0);
                    outbox.delete(acked.seq(), acked.eventId());
                }
            }
            if (i % 5000 == 0) {
                largest = Math.max(largest, Files.size(outbox.file()));
                sizes.add(Files.size(outbox.file()) / 1024);
            }
        }
        for (StoredEvent e : inFlight) {
            outbox.delete(e.seq(), e.eventId()).get();
        }
        assertEquals(0L, outbox.count().get());
        // with H2's default RETENTION_TIME the same run ends at about 1.8 GB
        assertTrue(largest < 16L << 20, "file grew to " + largest + " bytes; KB every 5000 cycles: " + sizes);
        // compaction runs once the file passes COMPACT_ABOVE_BYTES, so an idle outbox ends below it (how far
        // below depends on where the last compaction fell in the run)
        assertTrue(Files.size(outbox.file()) <= OutboxCompaction.COMPACT_ABOVE_BYTES,
                "file is " + Files.size(outbox.file()) + " bytes, above the compaction threshold " + OutboxCompaction.COMPACT_ABOVE_BYTES);
        org.tinylog.Logger.info("outbox file over 50,000 append+delete cycles, KB every 5000: {}", sizes);
    }

}
