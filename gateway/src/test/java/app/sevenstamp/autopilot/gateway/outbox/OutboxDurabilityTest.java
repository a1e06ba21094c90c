package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The outbox's promises beyond the basics: bounded file, capacity, priority, salvage, clock correction. */
@Tag("slow")
class OutboxDurabilityTest {
    private static final Instant T0 = Instant.parse("2026-11-23T07:02:11.345Z");
    private static final String BOOT = "6c0b0a4e-3f7d-4f4e-9a59-3a3b8b1f6a21";

    @TempDir
    Path dir;
    private final Clock clock = Clock.fixed(T0, ZoneOffset.UTC);
    private Outbox outbox;

    @AfterEach
    void close() {
        if (outbox != null) {
            outbox.close(Duration.ofSeconds(5));
        }
    }

    /** Stamp {@code i}, scanned {@code i} ms after T0 (no two scans of a counter share a time). */
    static StampDraft draft(int i, long mono, boolean synced) {
        String card = String.format("CARD%012d", i).replace('0', 'A').replace('1', 'B');
        return new StampDraft(EventIds.next(T0.toEpochMilli()), "counter-1", "7S1.k1.coffee." + card + ".sig"
                + "x".repeat(90), "coffee", card, "shop-12", T0.plusMillis(i), mono, BOOT, synced, EventKind.STAMP);
    }

    @Test
    void aFullOutboxRefusesTheAppendAndStoresNothing() throws Exception {
        outbox = Outbox.open(dir, clock, new OutboxLimits(100, 64L << 20, 0, 90));
        for (int i = 1; i <= 89; i++) {
            outbox.append(draft(i, i, true)).get();
        }
        assertEquals(OutboxHealth.OK, outbox.health());
        outbox.append(draft(90, 90, true)).get();
        assertEquals(OutboxHealth.NEAR_FULL, outbox.health());
        for (int i = 91; i <= 100; i++) {
            outbox.append(draft(i, i, true)).get();
        }
        ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> outbox.append(draft(101, 101, true)).get());
        assertInstanceOf(OutboxFullException.class, refused.getCause());
        assertTrue(refused.getCause().getMessage().startsWith("the outbox holds 100 unsent events, its limit "
                + "(outbox.maxEvents=100); the scan was NOT stored."), refused.getCause().getMessage());
        assertEquals(OutboxHealth.FULL, outbox.health());
        assertEquals(100L, outbox.count().get());

        // acknowledged rows make room again, and numbering goes on without a hole
        List<StoredEvent> sent = outbox.pending(0, 20).get();
        for (StoredEvent e : sent) {
            outbox.delete(e.seq(), e.eventId()).get();
        }
        assertEquals(101, outbox.append(draft(102, 102, true)).get().seq());
    }

    @Test
    void appendsOvertakeAQueueOfDrainWork() throws Exception {
        java.util.concurrent.CountDownLatch hold = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch held = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean blocking = new java.util.concurrent.atomic.AtomicBoolean();
        // the owner thread reads the clock inside an append: there the test holds it, so that the whole queue
        // (300 drain reads, then one scan) is in place before anything of it runs; no race with the test thread
        Clock holding = new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                if (blocking.compareAndSet(true, false)) {
                    held.countDown();
                    try {
                        hold.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return T0;
            }
        };
        outbox = Outbox.open(dir, holding);
        for (int i = 1; i <= 200; i++) {
            outbox.append(draft(i, i, true)).get();
        }
        blocking.set(true);
        CompletableFuture<StoredEvent> blocker = outbox.append(draft(998, 998, true));
        held.await();
        List<CompletableFuture<?>> drain = new ArrayList<>();
        List<Long> finished = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int i = 0; i < 300; i++) {
            final long n = i;
            drain.add(outbox.pending(0, 200).thenRun(() -> finished.add(n)));
        }
        CompletableFuture<StoredEvent> scan = outbox.append(draft(999, 999, true)).thenApply(e -> {
            finished.add(-1L);
            return e;
        });
        hold.countDown();
        assertEquals(201, blocker.get().seq());
        assertEquals(202, scan.get().seq());
        CompletableFuture.allOf(drain.toArray(CompletableFuture[]::new)).get();
        assertEquals(0, finished.indexOf(-1L), "the scan waited behind queued drain reads");
    }

    /**
     * A backlog whose live rows alone pass a quarter of {@code outbox.maxBytes} (a long offline day): the
     * outbox used to compact after every append and ack batch then (70-100 ms each). Now it compacts
     * only after the file grew by an eighth of the limit since the last compaction.
     */
    @Test
    void aBacklogLargerThanAQuarterOfTheLimitDoesNotCompactAtEveryAppend() throws Exception {
        long maxBytes = 2L << 20;
        outbox = Outbox.open(dir, clock, new OutboxLimits(100_000, maxBytes, 0, 95));
        int i = 0;
        boolean liveRowsPastAQuarter = false;
        while (!liveRowsPastAQuarter) {
            long compacted = outbox.compactions();
            outbox.append(draft(++i, i, true)).get();
            // right after a compaction the file is about the live rows
            liveRowsPastAQuarter = outbox.compactions() > compacted && outbox.status().fileBytes() > maxBytes / 4;
            assertTrue(i < 20_000, "the live rows never passed a quarter of the limit");
        }
        long before = outbox.compactions();
        for (int n = 0; n < 300; n++) {
            outbox.append(draft(++i, i, true)).get();
        }
        long during = outbox.compactions() - before;
        assertTrue(during < 30, during + " compactions during 300 appends with a " + (i - 300) + "-event backlog");
        assertEquals(OutboxHealth.OK, outbox.health(), "the file stays away from its limit");
        assertEquals(i, outbox.count().get());
    }

    /** 30 stamps, the first 5 acknowledged, closed cleanly; returns the ids by seq (index = seq - 1). */
    private List<String> thirtyStampsFiveAcknowledged(Path original) throws Exception {
        outbox = Outbox.open(original, clock);
        List<String> ids = new ArrayList<>();
        for (int i = 1; i <= 30; i++) {
            ids.add(outbox.append(draft(i, i, true)).get().eventId());
        }
        for (int i = 0; i < 5; i++) {
            outbox.delete(i + 1, ids.get(i)).get(); // seq i + 1
        }
        outbox.close(Duration.ofSeconds(5));
        outbox = null;
        return ids;
    }

    private static byte[] garbage() {
        byte[] garbage = new byte[4096];
        new java.util.Random(1).nextBytes(garbage);
        return garbage;
    }

    /** A folder holding the outbox's H2 file with {@code garbage} over its 4 KB block {@code block}. */
    private Path damagedCopy(Path original, byte[] clean, byte[] garbage, int block) throws IOException {
        Path copy = Files.createDirectories(dir.resolve("block-" + block));
        byte[] damaged = clean.clone();
        System.arraycopy(garbage, 0, damaged, block * 4096, 4096);
        Files.write(copy.resolve("outbox.mv.db"), damaged);
        return copy;
    }

    /**
     * Production: the H2 file is damaged (garbage over each 4 KB block in turn) and its redo log is beside
     * it, as it always is. H2 heals some blocks, falls back silently to an older state on others (it
     * writes lazily, so one chunk may hold all 30 stamps), and cannot be opened on others (moved aside and
     * salvaged): in every case every unacknowledged stamp comes back with its id and seq, every stamp's
     * counter_history line is there, and numbering goes on past 30.
     */
    @Test
    void aCorruptFileWithItsRedoLogBesideItLosesNothing() throws Exception {
        Path original = dir.resolve("original");
        List<String> ids = thirtyStampsFiveAcknowledged(original);
        byte[] clean = Files.readAllBytes(original.resolve("outbox.mv.db"));
        byte[] garbage = garbage();
        int salvagedCases = 0;
        for (int block = 0; block < clean.length / 4096; block++) {
            Path copy = damagedCopy(original, clean, garbage, block);
            Files.copy(original.resolve("outbox.redo"), copy.resolve("outbox.redo"));
            Outbox o = Outbox.open(copy, clock);
            try {
                List<String> back = o.pending(0, 100).get().stream().map(StoredEvent::eventId).toList();
                assertEquals(ids.subList(5, 30), back, "block " + block + ": every unacknowledged stamp, in order");
                assertEquals(30, o.counterHistory(Instant.EPOCH).get().size(), "block " + block + ": every line");
                if (o.salvageReport().isPresent()) {
                    salvagedCases++;
                    assertTrue(Files.exists(o.salvageReport().get().movedTo()), "the corrupt file is kept");
                }
                assertEquals(31, o.append(draft(31, 31, true)).get().seq(), "block " + block + ": numbering goes on");
            } finally {
                o.close(Duration.ofSeconds(5));
            }
        }
        assertTrue(salvagedCases > 0, "no damaged block needed a salvage: the case is not covered");
    }

    /**
     * The H2 file damaged ALONE, without its redo log: not how production runs (the log is always beside
     * it and is the record), but an upgrade from a release without the log, or a lost log, looks like this.
     * H2 is an index then, written lazily: garbage over the block of its newest chunk makes it fall back
     * silently to an older state, and rows are lost without any error. What still holds, and is asserted
     * for every block: the open never fails; a file H2 cannot read is moved aside (kept, never deleted) and
     * the report says exactly how many events came back (no claim beyond them); every event that comes
     * back, salvaged or not, has its own id at its own seq (nothing invented, nothing renumbered); and
     * numbering goes on past every event that came back.
     */
    @Test
    void aCorruptFileAloneIsNeverFatalAndWhatComesBackIsTrue() throws Exception {
        Path original = dir.resolve("original");
        List<String> ids = thirtyStampsFiveAcknowledged(original);
        byte[] clean = Files.readAllBytes(original.resolve("outbox.mv.db"));
        byte[] garbage = garbage();
        int salvagedCases = 0;
        int lostSilently = 0;
        for (int block = 0; block < clean.length / 4096; block++) {
            Path copy = damagedCopy(original, clean, garbage, block);
            Outbox o = Outbox.open(copy, clock);
            try {
                List<StoredEvent> back = o.pending(0, 100).get();
                for (StoredEvent e : back) {
                    assertEquals(ids.get((int) e.seq() - 1), e.eventId(), "block " + block + ": same id and seq");
                }
                if (o.salvageReport().isPresent()) {
                    salvagedCases++;
                    SalvageReport report = o.salvageReport().get();
                    assertTrue(Files.exists(report.movedTo()), "the corrupt file is kept");
                    assertEquals(clean.length, Files.size(report.movedTo()));
                    assertTrue(report.movedTo().getFileName().toString()
                            .matches("outbox\\.corrupt-\\d{8}T\\d{6}Z\\.mv\\.db"), report.movedTo().toString());
                    assertEquals(report.salvaged(), back.size(), "block " + block + ": the report claims what came back");
                } else if (back.size() < 25) {
                    lostSilently++;
                }
                long highest = back.isEmpty() ? 0 : back.get(back.size() - 1).seq();
                long next = o.append(draft(31, 31, true)).get().seq();
                assertTrue(next > highest, "block " + block + ": numbering goes on after the events that came back");
            } finally {
                o.close(Duration.ofSeconds(5));
            }
        }
        System.out.println("H2 file damaged alone, " + clean.length / 4096 + " blocks: " + salvagedCases + " salvaged, "
                + lostSilently + " opened with events silently lost (the redo log is what prevents that)");
        assertTrue(salvagedCases > 0, "no damaged block needed a salvage: the salvage path is not covered");
    }

    /** A compaction reopens the file and finds the same unsynchronised rows: they are counted once, not again. */
    @Test
    void aCompactionDoesNotCountTheUnsynchronisedRowsAgain() throws Exception {
        outbox = Outbox.open(dir, clock, new OutboxLimits(100_000, 2L << 20, 0, 95));
        int i = 0;
        while (outbox.compactions() == 0) {
            outbox.append(draft(++i, i, false)).get();
            assertTrue(i < 20_000, "no compaction");
        }
        outbox.append(draft(++i, i, false)).get();
        assertEquals(i, outbox.unsyncedAppends(), "appended with an unsynchronised clock, counted once each");
    }

    /** The rows with an unsynchronised clock that a start finds in the file count too, once each. */
    @Test
    void theUnsynchronisedRowsFoundAtStartAreCounted() throws Exception {
        outbox = Outbox.open(dir, clock);
        outbox.append(draft(1, 1, false)).get();
        outbox.append(draft(2, 2, true)).get();
        outbox.append(draft(3, 3, false)).get();
        outbox.close();
        outbox = Outbox.open(dir, clock);
        assertEquals(2, outbox.unsyncedAppends(), "the unsynchronised rows in the file");
        outbox.append(draft(4, 4, false)).get();
        assertEquals(3, outbox.unsyncedAppends());
    }

    @Test
    void eventsOfThisBootScannedBeforeTheClockSynchronisedAreCorrected() throws Exception {
        outbox = Outbox.open(dir, clock);
        outbox.append(draft(1, 1_000_000_000L, false)).get();  // scanned at mono 1 s, clock wrong
        outbox.append(draft(2, 5_000_000_000L, false)).get();  // at mono 5 s
        outbox.append(draft(3, 6_000_000_000L, true)).get();   // already synced: left alone
        StampDraft otherBoot = new StampDraft(EventIds.next(T0.toEpochMilli()), "counter-1", "7S1.k1.coffee.X.sig",
                "coffee", "X", "shop-12", T0, 7L, "another-boot", false, EventKind.STAMP);
        outbox.append(otherBoot).get();
        assertEquals(3, outbox.unsyncedAppends());

        Instant syncedNow = Instant.parse("2026-11-23T09:00:10Z"); // at mono 10 s
        assertEquals(2, outbox.correctClock(BOOT, syncedNow, 10_000_000_000L, 500).get());
        assertEquals(0, outbox.correctClock(BOOT, syncedNow, 10_000_000_000L, 500).get());

        WireCodec codec = new WireCodec();
        List<StampEvent> events = new ArrayList<>();
        for (StoredEvent e : outbox.pending(0, 10).get()) {
            events.add(codec.decodeStampEvent(e.payload()));
        }
        assertEquals(Instant.parse("2026-11-23T09:00:01Z"), events.get(0).deviceTime());
        assertTrue(events.get(0).timeCorrected() && events.get(0).clockSynced());
        assertEquals(Instant.parse("2026-11-23T09:00:05Z"), events.get(1).deviceTime());
        assertEquals(T0.plusMillis(3), events.get(2).deviceTime());
        assertFalse(events.get(2).timeCorrected());
        assertFalse(events.get(3).clockSynced(), "another boot's monotonic time says nothing now");
        assertFalse(events.get(3).timeCorrected());
    }
}
