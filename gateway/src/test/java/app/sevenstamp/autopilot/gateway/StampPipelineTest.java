package app.sevenstamp.autopilot.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.feedback.Signal;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.outbox.StoredEvent;
import app.sevenstamp.autopilot.gateway.policy.ScanPolicy;
import app.sevenstamp.autopilot.gateway.scan.Frame;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
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

    private Outbox outbox;
    private RecordingFeedback feedback;
    private final AtomicBoolean online = new AtomicBoolean();
    private final AtomicInteger appended = new AtomicInteger();
    private StampPipeline pipeline;

    @BeforeEach
    void start() throws Exception {
        outbox = Outbox.open(dir, Clock.fixed(NOW, ZoneOffset.UTC));
        // what the outbox holds at the moment a signal is given
        feedback = new RecordingFeedback(() -> {
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
        StampFactory factory = new StampFactory("counter-1", "shop-12", Clock.fixed(NOW, ZoneOffset.UTC),
                () -> 42_000_000L, BOOT, () -> true);
        return new StampPipeline(new ScanPolicy(Vectors.verifier(), Set.of("coffee", "bakery-7")), factory, outbox,
                feedback, online::get, appended::incrementAndGet, capacity, Duration.ofSeconds(5));
    }

    @AfterEach
    void stop() {
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
    void aFullQueueDropsScansAndCountsThem() {
        StampPipeline notStarted = pipeline(2);
        notStarted.accept(new Frame.Text("a"));
        notStarted.accept(new Frame.Text("b"));
        notStarted.accept(new Frame.Text("c"));
        assertEquals(1, notStarted.dropped());
        assertFalse(feedback.given().size() > 0);
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
    }
}
