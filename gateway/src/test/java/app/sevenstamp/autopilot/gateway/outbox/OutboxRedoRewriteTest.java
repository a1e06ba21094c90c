package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rewrite of the redo log (all waiting rows and a day of counter-history lines read from H2, written,
 * synced, renamed: 0.2-0.5 s in the bench) never holds up a scan: meanwhile the old log confirms the
 * appends, and the new one takes them before it replaces the old. Held at its first write into the new
 * log ({@link HeldStorage}).
 */
@Tag("slow")
class OutboxRedoRewriteTest {
    private static final Instant T0 = Instant.parse("2026-11-23T07:02:11.345Z");
    /** A rewrite is due past 8 KB (and twice the backlog's need); the file limit keeps compaction away. */
    private static final long REWRITE_BYTES = 8 * 1024;

    @TempDir
    Path dir;
    @TempDir
    Path copy;
    private final Clock clock = Clock.fixed(T0, ZoneOffset.UTC);
    private Outbox outbox;
    private final List<String> ids = new ArrayList<>();
    private final List<CompletableFuture<Boolean>> acks = new ArrayList<>();

    @AfterEach
    void close() {
        HeldStorage.release();
        if (outbox != null) {
            outbox.close(Duration.ofSeconds(30));
        }
    }

    private StoredEvent append() throws Exception {
        int i = ids.size() + 1;
        StoredEvent e = outbox.append(OutboxDurabilityTest.draft(i, i, true)).get(10, TimeUnit.SECONDS);
        assertEquals(i, e.seq());
        ids.add(e.eventId());
        return e;
    }

    /** The ids not acknowledged (an acknowledgement still held counts as not yet), in order. */
    private List<String> waiting() {
        List<String> out = new ArrayList<>(ids);
        for (int k = acks.size() - 1; k >= 0; k--) {
            if (acks.get(k).isDone()) {
                out.remove(k);
            }
        }
        return out;
    }

    @Test
    void scansAreConfirmedWhileTheLogIsRewrittenAndTheNewLogHoldsThem() throws Exception {
        outbox = Outbox.open(dir, clock, Ticker.SYSTEM, new OutboxLimits(100_000, 256L << 20, 0, 95),
                HeldStorage.storage(REWRITE_BYTES));
        HeldStorage.arm();
        // each stamp acknowledged at once, as online: the log fills with rows nobody waits for
        while (!HeldStorage.holding(0)) {
            StoredEvent e = append();
            acks.add(outbox.delete(e.seq(), e.eventId()));
            assertTrue(ids.size() < 5_000, "no rewrite of the redo log started");
        }
        int acknowledged = ids.size();
        for (int n = 0; n < 30; n++) {
            append();
        }
        assertTrue(HeldStorage.holding(0), "the 30 scans were confirmed while the rewrite was still held");
        long oldLog = Files.size(dir.resolve("outbox.redo"));
        List<String> waitingAtTheCut = waiting();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }

        HeldStorage.release();
        for (CompletableFuture<Boolean> ack : acks) {
            assertTrue(ack.get(30, TimeUnit.SECONDS));
        }
        List<String> stillWaiting = ids.subList(acknowledged, ids.size());
        assertEquals(stillWaiting, outbox.pending(0, 100_000).get(30, TimeUnit.SECONDS).stream()
                .map(StoredEvent::eventId).toList());
        assertTrue(Files.size(dir.resolve("outbox.redo")) < oldLog, "the log was rewritten smaller");
        assertEquals(ids.size(), outbox.counterHistory(T0.minusSeconds(60)).get().size());

        // the new log alone brings them all back: H2 thrown away, as after a file H2 cannot open
        outbox.close(Duration.ofSeconds(30));
        outbox = null;
        Files.delete(dir.resolve("outbox.mv.db"));
        try (Outbox fromTheLog = Outbox.open(dir, clock)) {
            assertEquals(stillWaiting, fromTheLog.pending(0, 100_000).get().stream().map(StoredEvent::eventId).toList());
            assertEquals(ids.size(), fromTheLog.counterHistory(T0.minusSeconds(60)).get().size(),
                    "the new log carries every counter-history line, those of the held scans too");
            assertEquals(ids.size() + 1L, fromTheLog.append(OutboxDurabilityTest.draft(0, 0, true)).get().seq());
        }

        // a crash during the rewrite: the old log holds everything, the unfinished new one is ignored. (An
        // acknowledged row H2 had not written its delete of may come back: one resend, answered DUPLICATE.)
        try (Outbox afterACrash = Outbox.open(copy, clock)) {
            List<String> back = afterACrash.pending(0, 100_000).get().stream().map(StoredEvent::eventId).toList();
            assertTrue(back.containsAll(waitingAtTheCut), "a scan confirmed before the cut is missing");
            assertEquals(ids.stream().filter(back::contains).toList(), back, "in order, once each");
            assertEquals(ids.size(), afterACrash.counterHistory(T0.minusSeconds(60)).get().size());
        }
    }
}
