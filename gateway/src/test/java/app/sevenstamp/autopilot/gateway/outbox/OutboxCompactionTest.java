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
 * A compaction of H2 ({@code SHUTDOWN}, the file rewritten and the reopen, up to 1.8 s with a long backlog) never holds
 * up a scan: while it runs the redo log alone confirms the appends, and H2 takes them when it is back.
 * The compaction is held at its last step ({@link HeldStorage}) for as long as the test likes. The same
 * holds for a rewrite of the redo log ({@link OutboxRedoRewriteTest}).
 */
@Tag("slow")
class OutboxCompactionTest {
    private static final Instant T0 = Instant.parse("2026-11-23T07:02:11.345Z");
    /** Small enough that a few hundred stamps make a compaction due (a quarter of it, grown by an eighth). */
    private static final OutboxLimits LIMITS = new OutboxLimits(100_000, 2L << 20, 0, 95);

    @TempDir
    Path dir;
    @TempDir
    Path copy;
    private final Clock clock = Clock.fixed(T0, ZoneOffset.UTC);
    private Outbox outbox;

    @AfterEach
    void close() {
        HeldStorage.release();
        if (outbox != null) {
            outbox.close(Duration.ofSeconds(30));
        }
    }

    private Outbox open(Path where) throws Exception {
        return Outbox.open(where, clock, Ticker.SYSTEM, LIMITS, HeldStorage.storage(Outbox.REDO_REWRITE_BYTES));
    }

    /** Appends until a compaction is under way (held); each append must be confirmed within 10 s. */
    private List<String> appendUntilACompactionIsHeld() throws Exception {
        List<String> ids = new ArrayList<>();
        HeldStorage.arm();
        while (!HeldStorage.holding(0)) {
            int i = ids.size() + 1;
            // the append whose housekeeping starts the compaction is confirmed too, not held with it
            ids.add(outbox.append(OutboxDurabilityTest.draft(i, i, true)).get(10, TimeUnit.SECONDS).eventId());
            assertTrue(i < 20_000, "no compaction started");
        }
        return ids;
    }

    @Test
    void scansAreConfirmedWhileH2IsCompactedAndH2HasThemAllAfterwards() throws Exception {
        outbox = open(dir);
        List<String> ids = appendUntilACompactionIsHeld();
        long compactions = outbox.compactions();
        int before = ids.size();
        for (int n = 0; n < 50; n++) {
            int i = ids.size() + 1;
            StoredEvent e = outbox.append(OutboxDurabilityTest.draft(i, i, true)).get(10, TimeUnit.SECONDS);
            assertEquals(i, e.seq(), "numbering goes on while H2 is away");
            ids.add(e.eventId());
        }
        assertTrue(HeldStorage.holding(0) && outbox.compactions() == compactions,
                "the 50 scans were confirmed while the compaction was still held");
        assertEquals(ids.size(), outbox.status().backlog());
        // what needs H2 waits for it: acknowledgements of the first ten and a count
        List<CompletableFuture<Boolean>> acks = new ArrayList<>();
        for (int k = 0; k < 10; k++) {
            acks.add(outbox.delete(k + 1, ids.get(k))); // seq k + 1
        }
        CompletableFuture<Long> count = outbox.count();
        int i = ids.size() + 1;
        ids.add(outbox.append(OutboxDurabilityTest.draft(i, i, true)).get(10, TimeUnit.SECONDS).eventId());
        assertTrue(acks.stream().noneMatch(CompletableFuture::isDone) && !count.isDone(),
                "an ack or a read ran while H2 was away");
        assertTrue(outbox.ping().get(5, TimeUnit.SECONDS).compareTo(Duration.ZERO) > 0,
                "the watchdog's ping is answered while H2 is away, and says for how long");

        HeldStorage.release();
        for (CompletableFuture<Boolean> ack : acks) {
            assertTrue(ack.get(30, TimeUnit.SECONDS), "each acknowledged row was there to delete");
        }
        assertEquals(ids.size() - 10L, count.get(30, TimeUnit.SECONDS));
        ids.subList(0, 10).clear();
        List<StoredEvent> pending = outbox.pending(0, 100_000).get(30, TimeUnit.SECONDS);
        assertEquals(ids, pending.stream().map(StoredEvent::eventId).toList(), "every stamp, in order, once");
        assertEquals(compactions + 1, outbox.compactions());
        assertEquals(Duration.ZERO, outbox.ping().get());
        int stamps = ids.size() + 10; // the acknowledged ones stay in the counter rules' memory
        assertEquals(stamps, outbox.counterHistory(T0.minusSeconds(60)).get().size(),
                "the counter rules remember the " + (stamps - before) + " stamps of the compaction too");
        assertEquals(stamps + 1L, outbox.append(OutboxDurabilityTest.draft(0, 0, true)).get().seq());

        outbox.close(Duration.ofSeconds(30));
        outbox = open(dir);
        assertEquals(ids.size() + 1L, outbox.count().get());
        assertEquals(stamps + 1, outbox.counterHistory(T0.minusSeconds(60)).get().size());
    }

    /** What is on the disk while the compaction is held is what a power cut would leave: nothing is missing. */
    @Test
    void aCrashDuringTheCompactionLosesNoScanConfirmedDuringIt() throws Exception {
        outbox = open(dir);
        List<String> ids = appendUntilACompactionIsHeld();
        for (int n = 0; n < 20; n++) {
            int i = ids.size() + 1;
            ids.add(outbox.append(OutboxDurabilityTest.draft(i, i, true)).get(10, TimeUnit.SECONDS).eventId());
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.copy(f, copy.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        HeldStorage.release();

        try (Outbox after = Outbox.open(copy, clock)) {
            assertEquals(ids, after.pending(0, 100_000).get().stream().map(StoredEvent::eventId).toList());
            assertEquals(ids.size(), after.counterHistory(T0.minusSeconds(60)).get().size());
            assertEquals(ids.size() + 1L, after.append(OutboxDurabilityTest.draft(0, 0, true)).get().seq());
        }
    }
}
