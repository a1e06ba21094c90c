package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import app.sevenstamp.autopilot.protocol.testing.ForwardingChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Group commit: appends queued together share one {@code fdatasync} of the redo log, and each still
 * completes (the green light) only after the sync that covers its record. The redo log runs on real files
 * through a {@link RedoLog.FileOps} that counts every sync of {@code outbox.redo}, remembers how many bytes
 * of the log each sync covered, and can hold a sync until the test lets it go: while the first append of
 * a burst waits in its sync, the rest of the burst queues up behind it.
 */
class OutboxGroupCommitTest {
    private static final int BURST = 20;

    @TempDir
    Path dir;

    private final Clock clock = Clock.systemUTC();
    private final SyncWatch watch = new SyncWatch();
    private Outbox outbox;
    private ExecutorService callers;

    @AfterEach
    void close() {
        watch.release.countDown();
        if (outbox != null) {
            outbox.close(Duration.ofSeconds(5));
        }
        if (callers != null) {
            callers.shutdownNow();
        }
    }

    private Outbox open(OutboxLimits limits) throws OutboxException {
        outbox = Outbox.open(dir, clock, Ticker.SYSTEM, limits, new Outbox.Storage("file:", "", watch, Outbox.REDO_REWRITE_BYTES));
        return outbox;
    }

    @Test
    void oneAppendAtATimeSyncsOncePerStamp() throws Exception {
        open(OutboxLimits.DEFAULT);
        int before = watch.syncs.get();
        for (int i = 0; i < 10; i++) {
            outbox.append(draft(i)).get(10, TimeUnit.SECONDS);
        }
        assertEquals(10, watch.syncs.get() - before, "one fdatasync per stamp, not more");
    }

    @Test
    void aBurstSharesOneSyncAndEachAppendCompletesOnlyAfterTheSyncCoveringIt() throws Exception {
        open(OutboxLimits.DEFAULT);
        outbox.append(draft(999)).get(10, TimeUnit.SECONDS);
        int before = watch.syncs.get();
        Map<String, Long> coveredAtConfirmation = new ConcurrentHashMap<>();
        List<CompletableFuture<StoredEvent>> burst = new ArrayList<>();

        watch.holdNextSync();
        burst.add(watching(outbox.append(draft(0)), coveredAtConfirmation));
        assertTrue(watch.entered.await(10, TimeUnit.SECONDS), "the first append reached its sync");
        // the rest of the burst arrives from several threads while the first waits for the disk
        callers = Executors.newFixedThreadPool(4);
        List<java.util.concurrent.Future<CompletableFuture<StoredEvent>>> submitted = new ArrayList<>();
        for (int i = 1; i < BURST; i++) {
            int card = i;
            submitted.add(callers.submit(() -> watching(outbox.append(draft(card)), coveredAtConfirmation)));
        }
        for (var s : submitted) {
            burst.add(s.get(10, TimeUnit.SECONDS));
        }
        assertTrue(burst.stream().noneMatch(CompletableFuture::isDone), "nothing confirmed before its sync returned");
        watch.release.countDown();
        List<StoredEvent> stored = new ArrayList<>();
        for (CompletableFuture<StoredEvent> f : burst) {
            stored.add(f.get(10, TimeUnit.SECONDS));
        }

        int syncs = watch.syncs.get() - before;
        System.out.println("OutboxGroupCommitTest: " + BURST + " appends in a burst, " + syncs + " fdatasync(s) of outbox.redo");
        assertTrue(syncs < BURST, "a burst of " + BURST + " must share syncs, saw " + syncs);
        assertEquals(2, syncs, "the held first append, then one sync for the " + (BURST - 1) + " queued behind it");
        byte[] log = Files.readAllBytes(dir.resolve("outbox.redo"));
        for (StoredEvent e : stored) {
            int at = indexOf(log, e.eventId().getBytes(StandardCharsets.UTF_8));
            assertTrue(at > 0, e.eventId() + " is in the redo log");
            long covered = coveredAtConfirmation.get(e.eventId());
            assertTrue(at + e.eventId().length() <= covered, e.eventId() + " at byte " + at
                    + " was confirmed when only " + covered + " bytes of the log were synced");
        }
        assertEquals(BURST + 1, outbox.count().get(), "all stored");
        assertEquals(BURST, stored.stream().mapToLong(StoredEvent::seq).distinct().count(), "distinct numbers");
        outbox.close(Duration.ofSeconds(5));
        outbox = Outbox.open(dir, clock);
        assertEquals(BURST + 1, outbox.count().get(), "all there after a restart");
    }

    @Test
    void aBurstPastTheLimitStoresWhatFitsAndRefusesTheRest() throws Exception {
        open(new OutboxLimits(10, 512L << 20, 0, 80));
        outbox.append(draft(999)).get(10, TimeUnit.SECONDS);
        watch.holdNextSync();
        List<CompletableFuture<StoredEvent>> burst = new ArrayList<>();
        burst.add(outbox.append(draft(0)));
        assertTrue(watch.entered.await(10, TimeUnit.SECONDS));
        for (int i = 1; i < 15; i++) {
            burst.add(outbox.append(draft(i)));
        }
        watch.release.countDown();
        int ok = 0;
        int full = 0;
        for (CompletableFuture<StoredEvent> f : burst) {
            try {
                f.get(10, TimeUnit.SECONDS);
                ok++;
            } catch (ExecutionException e) {
                assertInstanceOf(OutboxFullException.class, e.getCause());
                full++;
            }
        }
        assertEquals(9, ok, "the limit is 10 events, one was there before the burst");
        assertEquals(6, full);
        assertEquals(10, outbox.count().get());
        assertEquals(OutboxHealth.FULL, outbox.health());
    }

    @Test
    void anAppendCancelledWhileQueuedInABurstIsNeverStored() throws Exception {
        open(OutboxLimits.DEFAULT);
        watch.holdNextSync();
        CompletableFuture<StoredEvent> first = outbox.append(draft(0));
        assertTrue(watch.entered.await(10, TimeUnit.SECONDS));
        CompletableFuture<StoredEvent> kept = outbox.append(draft(1));
        CompletableFuture<StoredEvent> withdrawn = outbox.append(draft(2));
        CompletableFuture<StoredEvent> alsoKept = outbox.append(draft(3));
        assertTrue(withdrawn.cancel(false), "withdrawn before it started");
        watch.release.countDown();
        first.get(10, TimeUnit.SECONDS);
        StoredEvent a = kept.get(10, TimeUnit.SECONDS);
        StoredEvent b = alsoKept.get(10, TimeUnit.SECONDS);
        assertEquals(a.seq() + 1, b.seq(), "a withdrawn append takes no number");
        assertEquals(3, outbox.count().get());
        assertFalse(new String(Files.readAllBytes(dir.resolve("outbox.redo")), StandardCharsets.ISO_8859_1)
                .contains("CARDAAAAAAAAAAAC"), "the withdrawn stamp is not in the redo log");
    }

    @Test
    void aSyncThatFailsFailsItsWholeGroupAndStoresNoneOfIt() throws Exception {
        open(OutboxLimits.DEFAULT);
        watch.holdNextSync();
        CompletableFuture<StoredEvent> first = outbox.append(draft(0));
        assertTrue(watch.entered.await(10, TimeUnit.SECONDS));
        List<CompletableFuture<StoredEvent>> group = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            group.add(outbox.append(draft(i)));
        }
        watch.failNext = true; // the group's one sync
        watch.release.countDown();
        StoredEvent a = first.get(10, TimeUnit.SECONDS);
        for (CompletableFuture<StoredEvent> f : group) {
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                    () -> f.get(10, TimeUnit.SECONDS));
            assertInstanceOf(IOException.class, e.getCause(), "the group's stamps are not confirmed");
        }
        assertEquals(1, outbox.count().get(), "none of the failed group is stored");
        StoredEvent next = outbox.append(draft(9)).get(10, TimeUnit.SECONDS);
        assertEquals(a.seq() + 1, next.seq(), "the failed group took no numbers");
        outbox.close(Duration.ofSeconds(5));
        outbox = Outbox.open(dir, clock);
        assertEquals(2, outbox.count().get(), "nor does a restart bring them back from the redo log");
    }

    private CompletableFuture<StoredEvent> watching(CompletableFuture<StoredEvent> f, Map<String, Long> covered) {
        // runs on the outbox thread as the append completes: what the redo log's syncs covered at that moment
        f.thenAccept(e -> covered.put(e.eventId(), watch.syncedLength));
        return f;
    }

    private static StampDraft draft(int card) {
        String cardId = String.format("CARD%012d", card).replace('0', 'A').replace('1', 'B').replace('2', 'C');
        return new StampDraft(EventIds.next(System.currentTimeMillis()), "counter-1", "7S1.k1.coffee." + cardId + ".sig",
                "coffee", cardId, "shop-12", java.time.Instant.now(), System.nanoTime(), "boot-1", true, EventKind.STAMP);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** Real files; watches the syncs of {@code outbox.redo}. */
    private static final class SyncWatch implements RedoLog.FileOps {
        final AtomicInteger syncs = new AtomicInteger();
        /** Bytes of outbox.redo the last completed sync covered. */
        volatile long syncedLength;
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        private volatile boolean hold;
        /** The next sync that is not held throws, as a disk that refuses the flush. */
        volatile boolean failNext;

        void holdNextSync() {
            hold = true;
        }

        @Override
        public FileChannel open(Path file) throws IOException {
            FileChannel base = RedoLog.FILES.open(file);
            return file.getFileName().toString().equals("outbox.redo") ? new Watched(base) : base;
        }

        @Override
        public void replace(Path from, Path to) throws IOException {
            RedoLog.FILES.replace(from, to);
        }

        private final class Watched extends ForwardingChannel {
            Watched(FileChannel base) {
                super(base);
            }

            @Override
            public void force(boolean metaData) throws IOException {
                if (hold) {
                    hold = false;
                    entered.countDown();
                    try {
                        release.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                } else if (failNext) {
                    failNext = false;
                    throw new IOException("simulated: the disk refused the flush");
                }
                long length = base.size();
                base.force(metaData);
                syncs.incrementAndGet();
                syncedLength = length;
            }
        }
    }
}
