package app.sevenstamp.autopilot.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.outbox.StampDraft;
import app.sevenstamp.autopilot.gateway.outbox.StoredEvent;
import app.sevenstamp.autopilot.gateway.policy.CounterGuard;
import app.sevenstamp.autopilot.gateway.policy.ScanPolicy;
import app.sevenstamp.autopilot.gateway.scan.Frame;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StampPipelineTest {
    private static final Instant NOW = Instant.parse("2026-11-23T07:02:11.345Z");
    private static final String BOOT = "6c0b0a4e-3f7d-4f4e-9a59-3a3b8b1f6a21";

    @TempDir
    Path dir;

    /** The outbox's clock: the outbox thread reads it inside an append, so holding it stalls that thread. */
    private final HeldClock outboxClock = new HeldClock(NOW);
    private Outbox outbox;
    private RecordingFeedback feedback;
    private final AtomicBoolean online = new AtomicBoolean();
    private final AtomicInteger appended = new AtomicInteger();
    private StampPipeline pipeline;

    @BeforeEach
    void start() throws Exception {
        outbox = Outbox.open(dir, outboxClock);
        // what the outbox holds at the moment a signal is given (not asked while a test stalls its thread)
        feedback = new RecordingFeedback(() -> {
            if (outboxClock.holding()) {
                return "outbox thread held";
            }
            try {
                return outbox.count().join();
            } catch (RuntimeException e) {
                return "outbox closed";
            }
        });
        pipeline = pipeline(64);
        pipeline.start();
    }

    private StampPipeline pipeline(int capacity) {
        return pipeline(capacity, Duration.ofSeconds(5));
    }

    private StampPipeline pipeline(int capacity, Duration storeTimeout) {
        StampFactory factory = new StampFactory("counter-1", "shop-12", Clock.fixed(NOW, ZoneOffset.UTC),
                () -> 42_000_000L, BOOT, () -> true);
        ScanPolicy policy = new ScanPolicy(Vectors.verifier(), Set.of("coffee", "bakery-7"));
        return new StampPipeline(() -> policy, new CounterGuard(), factory, outbox, feedback, online::get,
                appended::incrementAndGet, capacity, storeTimeout, null, Ticker.SYSTEM);
    }

    /** Replaces the started pipeline with one that gives up on the outbox after {@code storeTimeout}. */
    private void useStoreTimeout(Duration storeTimeout) {
        pipeline.close(Duration.ofSeconds(2));
        pipeline = pipeline(64, storeTimeout);
        pipeline.start();
    }

    /** The card of every event in the outbox, in sequence order. */
    private List<String> cardsStored() throws Exception {
        List<String> cards = new ArrayList<>();
        for (StoredEvent e : outbox.pending(0, 1000).get()) {
            cards.add(new WireCodec().decodeStampEvent(e.payload()).cardId());
        }
        return cards;
    }

    @AfterEach
    void stop() {
        outboxClock.release(); // a failed test must not leave the outbox thread stalled
        pipeline.close(Duration.ofSeconds(2));
        outbox.close(Duration.ofSeconds(5));
    }

    @Test
    void acceptedScanIsSignalledOnlyAfterItsRowIsStored() throws Exception {
        pipeline.accept(new Frame.Text(Vectors.cardText("valid")));
        await().until(() -> feedback.given().size() == 1);
        RecordingFeedback.Given given = feedback.given().get(0);
        assertEquals(Signal.ACCEPTED_OFFLINE, given.signal());
        assertEquals("card=ABCDEFGHJKMNPQRS program=coffee seq=1", given.details());
        assertEquals(1L, given.probed(), "the row was in the outbox when the light went on");
        await().until(() -> appended.get() == 1);
    }

    @Test
    void connectedUplinkGivesAcceptedRatherThanOffline() {
        online.set(true);
        pipeline.accept(new Frame.Text(Vectors.cardText("valid")));
        await().until(() -> feedback.signals().equals(List.of(Signal.ACCEPTED)));
    }

    @Test
    void storedEventCarriesDeviceClockAndBootFacts() throws Exception {
        pipeline.accept(new Frame.Text(Vectors.cardText("valid, program with digit and dash")));
        await().until(() -> feedback.given().size() == 1);
        StoredEvent stored = outbox.pending(0, 10).get().get(0);
        StampEvent event = new WireCodec().decodeStampEvent(stored.payload());
        assertEquals(1, event.seq());
        assertEquals("counter-1", event.deviceId());
        assertEquals("shop-12", event.location());
        assertEquals("bakery-7", event.programId());
        assertEquals("ZZZZ2222YYYY3333", event.cardId());
        assertEquals(Vectors.cardText("valid, program with digit and dash"), event.cardCode());
        assertEquals(NOW, event.deviceTime());
        assertEquals(42_000_000L, event.monotonicNanos());
        assertEquals(BOOT, event.bootId());
        assertTrue(event.clockSynced());
        assertEquals(EventKind.STAMP, event.kind());
        assertEquals(NOW.toEpochMilli(), java.util.UUID.fromString(event.eventId()).getMostSignificantBits() >>> 16,
                "the event id is time-ordered by the scan's wall time");
    }

    @Test
    void scansAreStoredInScanOrder() throws Exception {
        pipeline.accept(new Frame.Text(Vectors.cardText("valid")));
        pipeline.accept(new Frame.Text(Vectors.cardText("valid, program with digit and dash")));
        pipeline.accept(new Frame.Text(Vectors.cardText("valid")));
        await().until(() -> feedback.given().size() == 3);
        assertEquals(List.of("card=ABCDEFGHJKMNPQRS program=coffee seq=1",
                        "card=ZZZZ2222YYYY3333 program=bakery-7 seq=2",
                        "card=ABCDEFGHJKMNPQRS program=coffee seq=3"),
                feedback.given().stream().map(RecordingFeedback.Given::details).toList());
    }

    @Test
    void rejectsGiveRejectedFeedbackAndLeaveTheOutboxUnchanged() throws Exception {
        pipeline.accept(new Frame.Text(Vectors.cardText("forged: signed by another key under the trusted key id")));
        pipeline.accept(new Frame.Text(Vectors.cardText("unknown key id")));
        pipeline.accept(new Frame.Text(Vectors.cardText("valid signature, program the gateway does not run")));
        pipeline.accept(new Frame.Text("\u001B[2J\uFFFD garbage"));
        pipeline.accept(new Frame.Overlong(10_000, 256));
        await().until(() -> feedback.given().size() == 5);
        assertEquals(List.of(Signal.REJECTED, Signal.REJECTED, Signal.REJECTED, Signal.REJECTED, Signal.REJECTED),
                feedback.signals());
        List<String> details = feedback.given().stream().map(RecordingFeedback.Given::details).toList();
        assertTrue(details.get(0).startsWith("reason=BAD_SIGNATURE card ABCDEFGHJKMNPQRS"), details.get(0));
        assertTrue(details.get(1).startsWith("reason=UNKNOWN_KEY "), details.get(1));
        assertTrue(details.get(2).startsWith("reason=UNKNOWN_PROGRAM "), details.get(2));
        assertTrue(details.get(3).startsWith("reason=MALFORMED "), details.get(3));
        assertEquals("reason=MALFORMED scan of 10000 bytes is longer than scanner.maxLength (256)", details.get(4));
        assertEquals(0L, outbox.count().get());
        assertEquals(0, appended.get());
        feedback.given().forEach(g -> assertEquals(0L, g.probed()));
    }

    @Test
    void storageFailureGivesStorageFaultAndThePipelineCarriesOn() {
        outbox.close(Duration.ofSeconds(5));
        pipeline.accept(new Frame.Text(Vectors.cardText("valid")));
        pipeline.accept(new Frame.Text("not a card"));
        await().until(() -> feedback.given().size() == 2);
        assertEquals(Signal.STORAGE_FAULT, feedback.given().get(0).signal());
        assertTrue(feedback.given().get(0).details().startsWith("card=ABCDEFGHJKMNPQRS program=coffee error="),
                feedback.given().get(0).details());
        assertEquals(Signal.REJECTED, feedback.given().get(1).signal());
        assertEquals(0, appended.get());
    }

    @Test
    void closeFinishesScansAlreadyQueued() throws Exception {
        for (int i = 0; i < 5; i++) {
            pipeline.accept(new Frame.Text(Vectors.cardText("valid")));
        }
        pipeline.close(Duration.ofSeconds(5));
        assertEquals(5, feedback.given().size());
        assertEquals(5L, outbox.count().get());
        pipeline.accept(new Frame.Text(Vectors.cardText("valid")));
        assertEquals(1, pipeline.dropped(), "no scans are taken after close");
        assertEquals("STORAGE_FAULT reason=STOPPING dropped=1",
                feedback.given().get(5).signal() + " " + feedback.given().get(5).details(), "but each one is answered");
    }

    @Test
    void aScanTimedOutBeforeTheOutboxStartedItIsNotStoredSoTheRescanStampsOnce() throws Exception {
        useStoreTimeout(Duration.ofMillis(200));
        // the outbox thread is busy with another write (a slow fsync, a compaction) for longer than the timeout
        outboxClock.holdNextRead();
        CompletableFuture<StoredEvent> busy = outbox.append(new StampDraft(EventIds.next(NOW.toEpochMilli()),
                "counter-1", Vectors.cardText("valid, program with digit and dash"), "bakery-7", "ZZZZ2222YYYY3333",
                "shop-12", NOW, 1L, BOOT, true, EventKind.STAMP));
        outboxClock.awaitHeld();
        pipeline.accept(new Frame.Text(Vectors.cardText("valid")));
        await().until(() -> feedback.given().size() == 1);
        assertEquals(Signal.STORAGE_FAULT, feedback.given().get(0).signal());

        outboxClock.release();
        busy.get(5, TimeUnit.SECONDS);
        assertEquals(List.of("ZZZZ2222YYYY3333"), cardsStored(),
                "the scan answered STORAGE_FAULT must not be stored after the answer");
        pipeline.accept(new Frame.Text(Vectors.cardText("valid"))); // the customer scans again, as told
        await().until(() -> feedback.given().size() == 2);
        assertEquals(Signal.ACCEPTED_OFFLINE, feedback.given().get(1).signal());
        assertEquals(List.of("ZZZZ2222YYYY3333", "ABCDEFGHJKMNPQRS"), cardsStored(), "one scan that counted, one stamp");
        assertEquals(1, appended.get());
    }

    @Test
    void anAppendAlreadyUnderWayAtTheTimeoutIsWaitedForAndAnsweredAsStored() throws Exception {
        useStoreTimeout(Duration.ofMillis(200));
        outboxClock.holdNextRead();
        pipeline.accept(new Frame.Text(Vectors.cardText("valid")));
        outboxClock.awaitHeld(); // the outbox thread is writing this scan's row
        await().during(Duration.ofMillis(700)).atMost(Duration.ofSeconds(3))
                .until(() -> feedback.given().isEmpty()); // well past the timeout: no fault for a row being written
        outboxClock.release();
        await().until(() -> feedback.given().size() == 1);
        assertEquals(Signal.ACCEPTED_OFFLINE, feedback.given().get(0).signal());
        assertEquals("card=ABCDEFGHJKMNPQRS program=coffee seq=1", feedback.given().get(0).details());
        assertEquals(List.of("ABCDEFGHJKMNPQRS"), cardsStored());
    }

    @Test
    void everyScanThatDoesNotFitTheQueueSoundsTheFaultAndIsCounted() throws Exception {
        outboxClock.holdNextRead();
        pipeline.accept(new Frame.Text(Vectors.cardText("valid")));
        outboxClock.awaitHeld(); // the pipeline thread waits for this scan's append; the queue (64) fills up
        for (int i = 0; i < 64 + 10; i++) {
            pipeline.accept(new Frame.Text("flood-" + i));
        }
        assertEquals(10, pipeline.dropped());
        List<String> answered = feedback.given().stream().map(g -> g.signal() + " " + g.details()).toList();
        List<String> expected = new ArrayList<>();
        for (int n = 1; n <= 10; n++) {
            expected.add("STORAGE_FAULT reason=QUEUE_FULL waiting=64 dropped=" + n);
        }
        assertEquals(expected, answered, "each dropped scan is answered at once, while the pipeline is stuck");

        outboxClock.release();
        await().until(() -> feedback.given().size() == 10 + 1 + 64);
        assertEquals(Signal.ACCEPTED_OFFLINE, feedback.given().get(10).signal());
        assertEquals(10, pipeline.dropped(), "the scans that fitted were all processed");
    }

    @Test
    void scansWaitingTogetherShareOneSyncOfTheOutboxAndAreSignalledInScanOrder() throws Exception {
        pipeline.close(Duration.ofSeconds(2));
        pipeline = pipeline(64); // not started yet: the scans below wait together in its queue, a burst
        int n = 10;
        List<String> cards = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String card = "ABCDEFGHJKMNPQ" + "RSTVWXYZAB".charAt(i) + "C";
            cards.add(card);
            pipeline.accept(new Frame.Text(Vectors.signer().sign("coffee", card)));
        }
        long before = outbox.appendSyncs();
        pipeline.start();
        await().until(() -> feedback.given().size() == n);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            expected.add("card=" + cards.get(i) + " program=coffee seq=" + (i + 1));
        }
        assertEquals(expected, feedback.given().stream().map(RecordingFeedback.Given::details).toList(),
                "every stamp answered, in scan order");
        assertTrue(feedback.signals().stream().allMatch(s -> s == Signal.ACCEPTED_OFFLINE));
        assertEquals(cards, cardsStored());
        long syncs = outbox.appendSyncs() - before;
        assertTrue(syncs < n, n + " scans waiting together must share syncs of the outbox's redo log; " + syncs
                + " syncs");
    }


    /** A fixed clock that, when told, stalls the next thread that reads it until released. */
    static final class HeldClock extends Clock {
        private final Instant now;
        private final AtomicBoolean armed = new AtomicBoolean();
        private volatile CountDownLatch entered = new CountDownLatch(1);
        private volatile CountDownLatch released = new CountDownLatch(0);

        HeldClock(Instant now) {
            this.now = now;
        }

        void holdNextRead() {
            entered = new CountDownLatch(1);
            released = new CountDownLatch(1);
            armed.set(true);
        }

        void awaitHeld() throws InterruptedException {
            assertTrue(entered.await(10, TimeUnit.SECONDS), "nobody read the clock");
        }

        boolean holding() {
            return entered.getCount() == 0 && released.getCount() > 0;
        }

        void release() {
            released.countDown();
        }

        @Override
        public Instant instant() {
            if (armed.compareAndSet(true, false)) {
                entered.countDown();
                try {
                    released.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }
    }
}
