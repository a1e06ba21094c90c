package app.sevenstamp.autopilot.sink.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.store.DeadLetters;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SeqGap;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Issue 12, item 4: a forged sequence number (the golden card code is all it takes) must not turn
 * into a billion missing events, and no device's numbers may break the totals of the metrics.
 */
@ParameterizedClass
@EnumSource(Backend.class)
class SeqBoundsTest {
    private static final Instant NOW = Instant.parse("2026-11-23T08:00:00Z");

    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();
    private final SinkMetrics metrics = new SinkMetrics();

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private SinkStore store;
    private EventProcessor processor;

    @BeforeEach
    void setUp() {
        store = backend.fixture(dir).open();
        processor = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", new Program("coffee", "Coffee", 10, StampRules.NONE, RewardPlan.SIMPLE)),
                store, metrics, Clock.fixed(NOW, ZoneOffset.UTC), codec, DeviceGate.ANY, LedgerHook.NONE);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private Optional<AckOutcome> send(String device, long seq) {
        String code = Vectors.cardText("valid");
        String[] p = code.split("\\.");
        StampEvent e = new StampEvent(WireCodec.SCHEMA, EventIds.next(NOW.toEpochMilli()), device, seq, code, p[2], p[3],
                "shop-1", NOW, seq, "boot", true, EventKind.STAMP);
        return processor.process(topics.stamps(device), codec.encode(e)).map(o -> o.ack().outcome());
    }

    @Test
    void aJumpOfAtMostTheSpanOpensAGapAndOneBeyondItIsADeadLetter() {
        assertEquals(Optional.of(AckOutcome.ACCEPTED), send("counter-1", 1));
        assertEquals(Optional.of(AckOutcome.ACCEPTED), send("counter-1", 1 + EventProcessor.MAX_SEQ_JUMP));
        assertEquals(List.of(EventProcessor.MAX_SEQ_JUMP - 1), store.gaps("counter-1").stream().map(SeqGap::missing).toList());

        assertEquals(Optional.empty(), send("counter-1", 2 + 2 * EventProcessor.MAX_SEQ_JUMP));
        assertEquals(1, store.gaps("counter-1").size());
        assertEquals(1L, metrics.malformed(EventProcessor.SEQ_JUMP));
        assertEquals(Map.of(EventProcessor.SEQ_JUMP, 1L), new DeadLetters(store).countByKind());
        // the device goes on where it was
        assertEquals(Optional.of(AckOutcome.ACCEPTED), send("counter-1", 2 + EventProcessor.MAX_SEQ_JUMP));
    }

    @Test
    void aNewDeviceStartingBeyondTheSpanIsADeadLetterNotAGapOfBillions() {
        assertEquals(Optional.empty(), send("forged-1", WireCodec.MAX_SEQ));
        assertEquals(Optional.empty(), send("forged-2", WireCodec.MAX_SEQ));
        assertEquals(List.of(), store.gaps("forged-1"));
        assertEquals(0L, store.gapTotals()[1]);
        assertEquals(2L, metrics.malformed(EventProcessor.SEQ_JUMP));
        // a jump is counted from 0 for a new device: seq N opens 1..N-1
        assertEquals(Optional.empty(), send("forged-3", EventProcessor.MAX_SEQ_JUMP + 1));
        assertEquals(Optional.of(AckOutcome.ACCEPTED), send("forged-3", EventProcessor.MAX_SEQ_JUMP));
    }

    @Test
    void aDevicesNumberIsReadOnceWhileItStaysWithinTheSpanAndAgainWhenItSeemsToJump() {
        for (long seq = 1; seq <= 5; seq++) {
            assertEquals(Optional.of(AckOutcome.ACCEPTED), send("counter-1", seq));
        }
        assertEquals(1, processor.seqReads(), "read for the first event only: the stored number only rises");

        // another sink instance stored far beyond what this one read: a number within the span of the stored
        // one but not of the remembered one is read again and accepted, as before
        store.transaction(tx -> {
            tx.noteDeviceSeq("counter-1", 50 + EventProcessor.MAX_SEQ_JUMP, NOW);
            return null;
        });
        assertEquals(Optional.of(AckOutcome.ACCEPTED), send("counter-1", 60 + EventProcessor.MAX_SEQ_JUMP));
        assertEquals(2, processor.seqReads());
        assertEquals(Optional.of(AckOutcome.ACCEPTED), send("counter-1", 61 + EventProcessor.MAX_SEQ_JUMP));
        assertEquals(2, processor.seqReads(), "the number read is remembered");

        // and a jump beyond the span of the stored number is still refused
        assertEquals(Optional.empty(), send("counter-1", 62 + 2 * EventProcessor.MAX_SEQ_JUMP));
        assertEquals(1L, metrics.malformed(EventProcessor.SEQ_JUMP));
    }

    /** Rows written before the bound (or by the store's own API) must not break the metrics either. */
    @Test
    void gapTotalsSaturateInsteadOfFailing() {
        store.transaction(tx -> {
            tx.noteDeviceSeq("old-1", Long.MAX_VALUE - 1, NOW);
            tx.noteDeviceSeq("old-2", Long.MAX_VALUE - 1, NOW);
            return null;
        });
        long[] totals = store.gapTotals();
        assertEquals(2L, totals[0]);
        assertEquals(Long.MAX_VALUE, totals[1]);
        assertTrue(store.gaps("old-1").get(0).missing() > 0);
    }
}
