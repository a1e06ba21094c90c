package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
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

    private static StampDraft draft(int i, long mono, boolean synced) {
        String card = String.format("CARD%012d", i).replace('0', 'A').replace('1', 'B');
        return new StampDraft(EventIds.next(T0.toEpochMilli()), "counter-1", "7S1.k1.coffee." + card + ".sig"
                + "x".repeat(90), "coffee", card, "shop-12", T0, mono, BOOT, synced, EventKind.STAMP);
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
            outbox.delete(e.eventId()).get();
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

    @Test
    void aCorruptFileIsNeverSilentlyEmptiedAndWhatCanBeReadIsSalvaged() throws Exception {
        Path original = dir.resolve("original");
        outbox = Outbox.open(original, clock);
        List<String> ids = new ArrayList<>();
        for (int i = 1; i <= 30; i++) {
            ids.add(outbox.append(draft(i, i, true)).get().eventId());
        }
        outbox.close(Duration.ofSeconds(5));
        outbox = null;
        byte[] clean = Files.readAllBytes(original.resolve("outbox.mv.db"));
        byte[] garbage = new byte[4096];
        new java.util.Random(1).nextBytes(garbage);

        // Garbage over each 4 KB block in turn: H2 heals most of them by itself; where it cannot, the
        // file must be moved aside and salvaged, never opened as an empty outbox.
        int salvagedCases = 0;
        for (int block = 0; block < clean.length / 4096; block++) {
            Path copy = dir.resolve("block-" + block);
            Files.createDirectories(copy);
            byte[] damaged = clean.clone();
            System.arraycopy(garbage, 0, damaged, block * 4096, 4096);
            Files.write(copy.resolve("outbox.mv.db"), damaged);
            Outbox o = Outbox.open(copy, clock);
            try {
                List<StoredEvent> back = o.pending(0, 100).get();
                if (o.salvageReport().isEmpty()) {
                    assertEquals(30, back.size(), "block " + block + ": opened without salvage, so all must be there");
                    continue;
                }
                SalvageReport report = o.salvageReport().get();
                assertTrue(Files.exists(report.movedTo()), "the corrupt file is kept");
                assertEquals(clean.length, Files.size(report.movedTo()));
                assertTrue(report.movedTo().getFileName().toString().matches("outbox\\.corrupt-\\d{8}T\\d{6}Z\\.mv\\.db"),
                        report.movedTo().toString());
                assertEquals(report.salvaged(), back.size());
                for (StoredEvent e : back) {
                    assertEquals(ids.get((int) e.seq() - 1), e.eventId(), "same id and seq as before");
                }
                if (back.size() > 0) {
                    salvagedCases++;
                    long next = o.append(draft(31, 31, true)).get().seq();
                    assertTrue(next > back.get(back.size() - 1).seq(), "numbering goes on after the salvaged events");
                }
            } finally {
                o.close(Duration.ofSeconds(5));
            }
        }
        assertTrue(salvagedCases > 0, "at least one damaged block could only be salvaged, with events read back");
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
        assertEquals(T0, events.get(2).deviceTime());
        assertFalse(events.get(2).timeCorrected());
        assertFalse(events.get(3).clockSynced(), "another boot's monotonic time says nothing now");
        assertFalse(events.get(3).timeCorrected());
    }
}
