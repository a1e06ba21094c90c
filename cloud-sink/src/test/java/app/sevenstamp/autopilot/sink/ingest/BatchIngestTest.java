package app.sevenstamp.autopilot.sink.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.store.DeadLetters;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.StoredEvent;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import app.sevenstamp.autopilot.sink.testing.PoisonEvents;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
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
 * The group-commit path ({@link EventProcessor#processBatch}) on the real store, H2 and PostgreSQL:
 * many events in one transaction, each still decided on its own.
 */
@ParameterizedClass
@EnumSource(Backend.class)
class BatchIngestTest {
    private static final Instant T0 = Instant.parse("2026-11-23T08:00:00Z");
    /** 10 stamps, a 30 minute cooldown per card. */
    private static final Program COFFEE = new Program("coffee", "Coffee", 10,
            new StampRules(Duration.ofMinutes(30), 0, Duration.ZERO, ZoneId.of("UTC")), RewardPlan.SIMPLE);

    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();
    private final SinkMetrics metrics = new SinkMetrics();
    private final CardSigner signer = Vectors.signer();
    private final String cardA = signer.sign("coffee", "AAAAAAAAAAAAAAAA");
    private final String cardB = signer.sign("coffee", "BBBBBBBBBBBBBBBB");

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private SinkStore store;
    private EventProcessor processor;
    private Backend.Fixture fixture;

    @BeforeEach
    void open() {
        fixture = backend.fixture(dir);
        store = fixture.open();
        processor = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", COFFEE), store, metrics,
                Clock.fixed(T0.plus(Duration.ofDays(1)), ZoneOffset.UTC), codec, DeviceGate.ANY, LedgerHook.NONE);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private static StampEvent stamp(String id, String device, long seq, String code, Instant at) {
        String[] p = code.split("\\.");
        return new StampEvent(WireCodec.SCHEMA, TestIds.event(id), device, seq, code, p[2], p[3], "shop-1", at, seq, "boot", true,
                EventKind.STAMP);
    }

    private EventProcessor.Message message(StampEvent e) {
        return new EventProcessor.Message(topics.stamps(e.deviceId()), codec.encode(e));
    }

    private List<Optional<Outbound>> batch(StampEvent... events) {
        List<EventProcessor.Message> messages = new ArrayList<>();
        for (StampEvent e : events) {
            messages.add(message(e));
        }
        return processor.processBatch(messages);
    }

    private static StampAck ack(Optional<Outbound> answer) {
        return answer.orElseThrow(() -> new AssertionError("no answer")).ack();
    }

    @Test
    void eventsOfSeveralDevicesAndCardsAreDecidedInOrderAndEachAnswerGoesToItsOwnDevice() {
        List<StampEvent> events = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            String device = "counter-" + (i % 3);
            // A card every 40 minutes: none falls within the cooldown.
            events.add(stamp("e" + i, device, i / 3 + 1, i % 2 == 0 ? cardA : cardB, T0.plus(Duration.ofMinutes(40L * i))));
        }
        List<Optional<Outbound>> answers = batch(events.toArray(StampEvent[]::new));

        assertEquals(12, answers.size());
        int a = 0;
        int b = 0;
        for (int i = 0; i < 12; i++) {
            Outbound out = answers.get(i).orElseThrow();
            StampEvent e = events.get(i);
            assertEquals(topics.acks(e.deviceId()), out.topic(), "answer " + i + " goes to its own device");
            assertEquals(e.eventId(), out.ack().eventId());
            assertEquals(e.deviceId(), out.ack().deviceId());
            assertEquals(AckOutcome.ACCEPTED, out.ack().outcome());
            int expected = i % 2 == 0 ? ++a : ++b;
            assertEquals(expected, out.ack().card().stamps(), "each event sees the card as the ones before it left it");
        }
        assertEquals(12, metrics.accepted());
        assertEquals(6, store.card("AAAAAAAAAAAAAAAA").orElseThrow().balance().stamps());
        assertEquals(6, store.card("BBBBBBBBBBBBBBBB").orElseThrow().balance().stamps());
        assertEquals(new Ledger(store).derive(), new Ledger(store).projected(), "the ledger explains the cards");
        assertEquals(List.of(), store.gaps("counter-0"));
        assertEquals(4, store.lastSeq("counter-2").orElseThrow());
    }

    @Test
    void aDuplicateInsideTheSameBatchIsAnsweredDuplicateAndCountedOnce() {
        StampEvent first = stamp("same", "counter-1", 1, cardA, T0);
        StampEvent other = stamp("other", "counter-1", 2, cardB, T0);
        List<Optional<Outbound>> answers = batch(first, other, first);

        assertEquals(AckOutcome.ACCEPTED, ack(answers.get(0)).outcome());
        assertEquals(AckOutcome.ACCEPTED, ack(answers.get(1)).outcome());
        StampAck again = ack(answers.get(2));
        assertEquals(AckOutcome.DUPLICATE, again.outcome());
        assertEquals(1, again.card().stamps(), "the card as it is, not stamped twice");
        assertEquals(2, metrics.accepted());
        assertEquals(1, metrics.duplicates());
        assertEquals(2, store.countEvents());
        assertEquals(1, store.card("AAAAAAAAAAAAAAAA").orElseThrow().balance().stamps());
    }

    @Test
    void anEventThatAnotherWriterStoresWhileTheBatchRunsIsAnsweredDuplicateAndNotCountedTwice() {
        // The batch looks its event ids up once, at its start. Another writer (a second instance, the
        // POS route) that stores one of them before the batch writes its rows must still win: the
        // primary key refuses the batch's row, the batch runs again and answers that event DUPLICATE.
        StampEvent first = stamp("first", "counter-1", 1, cardA, T0);
        StampEvent later = stamp("later", "counter-1", 2, cardB, T0);
        java.util.concurrent.atomic.AtomicInteger otherWrites = new java.util.concurrent.atomic.AtomicInteger();
        LedgerHook otherWriter = (tx, line) -> {
            if (otherWrites.getAndIncrement() == 0) {
                // its own connection and transaction, committed before the batch goes on
                store.transaction(other -> other.insertEvent(new StoredEvent(later.eventId(), "counter-1", 2, "BBBBBBBBBBBBBBBB",
                        "coffee", "STAMP", T0, T0, true, AckOutcome.ACCEPTED, null)));
            }
        };
        EventProcessor racing = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", COFFEE), store, metrics,
                Clock.fixed(T0.plus(Duration.ofDays(1)), ZoneOffset.UTC), codec, DeviceGate.ANY, otherWriter);

        List<Optional<Outbound>> answers = racing.processBatch(List.of(message(first), message(later)));

        assertEquals(AckOutcome.ACCEPTED, ack(answers.get(0)).outcome());
        assertEquals(AckOutcome.DUPLICATE, ack(answers.get(1)).outcome(), "the other writer's row decides");
        assertTrue(otherWrites.get() >= 2, "the batch ran again after the refused row: " + otherWrites.get());
        assertEquals(1, metrics.accepted());
        assertEquals(1, metrics.duplicates());
        assertEquals(2, store.countEvents());
        assertEquals(1, store.card("AAAAAAAAAAAAAAAA").orElseThrow().balance().stamps(), "stamped once, not per attempt");
        assertTrue(store.card("BBBBBBBBBBBBBBBB").isEmpty(), "the batch did not apply the event the other writer had");
        assertEquals(1, new Ledger(store).entries("AAAAAAAAAAAAAAAA").size());
        assertEquals(new Ledger(store).derive(), new Ledger(store).projected());
    }

    @Test
    void aCooldownRejectionInTheMiddleOfABatchLeavesTheOthersAccepted() {
        StampEvent a1 = stamp("a1", "counter-1", 1, cardA, T0);
        StampEvent tooSoon = stamp("a2", "counter-1", 2, cardA, T0.plus(Duration.ofMinutes(5)));
        StampEvent b1 = stamp("b1", "counter-2", 1, cardB, T0.plus(Duration.ofMinutes(5)));
        StampEvent a3 = stamp("a3", "counter-1", 3, cardA, T0.plus(Duration.ofMinutes(31)));
        List<Optional<Outbound>> answers = batch(a1, tooSoon, b1, a3);

        assertEquals(AckOutcome.ACCEPTED, ack(answers.get(0)).outcome());
        StampAck rejected = ack(answers.get(1));
        assertEquals(AckOutcome.REJECTED, rejected.outcome());
        assertEquals(RejectReason.TOO_SOON, rejected.reason());
        assertEquals(1, rejected.card().stamps());
        assertEquals(AckOutcome.ACCEPTED, ack(answers.get(2)).outcome());
        StampAck after = ack(answers.get(3));
        assertEquals(AckOutcome.ACCEPTED, after.outcome(), "31 minutes after the first accepted stamp");
        assertEquals(2, after.card().stamps());
        assertEquals(3, metrics.accepted());
        assertEquals(1, metrics.rejected(RejectReason.TOO_SOON));
        assertEquals(4, store.countEvents(), "the rejection is recorded too");
        assertEquals(AckOutcome.REJECTED, store.event(TestIds.event("a2")).orElseThrow().outcome());
        assertEquals(new Ledger(store).derive(), new Ledger(store).projected());
    }

    /**
     * A check that throws (a bug in a device gate, say) costs its own message the answer and nothing else. This
     * is also the replay of the H2 redo log at a start, which runs processBatch again: a throw there would keep
     * the sink from starting.
     */
    @Test
    void aCheckThatThrowsCostsItsOwnMessageTheAnswerAndNothingElse() {
        EventProcessor throwing = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", COFFEE), store, metrics,
                Clock.fixed(T0.plus(Duration.ofDays(1)), ZoneOffset.UTC), codec, device -> {
                    if (device.equals("counter-2")) {
                        throw new IllegalStateException("a bug in the device gate");
                    }
                    return true;
                }, LedgerHook.NONE);
        List<Optional<Outbound>> answers = throwing.processBatch(List.of(message(stamp("a", "counter-1", 1, cardA, T0)),
                message(stamp("b", "counter-2", 1, cardB, T0)), message(stamp("c", "counter-1", 2, cardB, T0))));
        assertEquals(AckOutcome.ACCEPTED, ack(answers.get(0)).outcome());
        assertTrue(answers.get(1).isEmpty(), "the message whose check threw is not answered");
        assertEquals(AckOutcome.ACCEPTED, ack(answers.get(2)).outcome());
        assertEquals(2, metrics.accepted());
    }

    @Test
    void aPoisonEventIsParkedAndTheRestOfItsBatchCommits() throws Exception {
        PoisonEvents.install(store, fixture.url() != null);
        StampEvent good1 = stamp("good-1", "counter-1", 1, cardA, T0);
        StampEvent poison = stamp(PoisonEvents.PREFIX + "0000-4000-8000-000000000001", "counter-1", 2, cardB, T0);
        StampEvent good2 = stamp("good-2", "counter-1", 3, cardB, T0.plus(Duration.ofHours(1)));
        byte[] junk = "{not json".getBytes(StandardCharsets.UTF_8);
        List<Optional<Outbound>> answers = processor.processBatch(List.of(message(good1), message(poison),
                new EventProcessor.Message(topics.stamps("counter-1"), junk), message(good2)));

        assertEquals(AckOutcome.ACCEPTED, ack(answers.get(0)).outcome());
        assertTrue(answers.get(1).isEmpty(), "the poison event is not answered: its gateway keeps it");
        assertTrue(answers.get(2).isEmpty(), "a malformed payload is not answered");
        StampAck second = ack(answers.get(3));
        assertEquals(AckOutcome.ACCEPTED, second.outcome());
        assertEquals(1, second.card().stamps(), "card B has good-2 only");
        assertEquals(2, store.countEvents());
        assertTrue(store.event(poison.eventId()).isEmpty());
        assertEquals(2, metrics.accepted());
        assertEquals(1, metrics.malformed(EventProcessor.APPLY_FAILED));
        Map<String, Long> parked = new DeadLetters(store).countByKind();
        assertEquals(1L, parked.get(EventProcessor.APPLY_FAILED));
        assertEquals(1L, parked.get("json"));
        DeadLetters.DeadLetter letter = new DeadLetters(store).latest(5).stream()
                .filter(d -> d.kind().equals(EventProcessor.APPLY_FAILED)).findFirst().orElseThrow();
        assertTrue(letter.detail().contains(poison.eventId()), letter.detail());
        assertEquals("counter-1", letter.deviceId());
        // Sent again (the gateway's outbox), it fails alone again and its neighbours are decided as usual.
        List<Optional<Outbound>> again = batch(poison, good1);
        assertTrue(again.get(0).isEmpty());
        assertEquals(AckOutcome.DUPLICATE, ack(again.get(1)).outcome());
        assertEquals(2, store.countEvents());
        assertEquals(2, metrics.malformed(EventProcessor.APPLY_FAILED), "each failure is counted");
        assertEquals(1L, new DeadLetters(store).countByKind().get(EventProcessor.APPLY_FAILED),
                "a resent poison event is not parked twice");
    }

    @Test
    void posEventsAllWithSeqOneOpenNoGapAndKeepNoDeviceSequence() {
        String pos = EventProcessor.POS_DEVICE_PREFIX + "shop-1";
        List<Optional<Outbound>> answers = batch(stamp("pos-e1", pos, 1, cardA, T0),
                stamp("pos-e2", pos, 1, cardB, T0), stamp("pos-e3", pos, 1, cardA, T0.plus(Duration.ofHours(1))));
        for (Optional<Outbound> a : answers) {
            assertEquals(AckOutcome.ACCEPTED, ack(a).outcome());
        }
        assertNotNull(processor.process(topics.stamps(pos), codec.encode(stamp("pos-e4", pos, 1, cardB,
                T0.plus(Duration.ofHours(2))))).orElseThrow());
        assertEquals(List.of(), store.gaps(pos));
        assertTrue(store.lastSeq(pos).isEmpty(), "a POS location is not a sequenced device");
        assertEquals(0, metrics.gapsOpened());
        // A gateway's jump still opens a gap: the skip is for POS pseudo-devices only.
        batch(stamp("gw-1", "counter-9", 1, cardA, T0.plus(Duration.ofHours(3))),
                stamp("gw-5", "counter-9", 5, cardB, T0.plus(Duration.ofHours(3))));
        assertEquals(1, store.gaps("counter-9").size());
        assertEquals(3, store.gaps("counter-9").get(0).missing());
        assertEquals(1, metrics.gapsOpened());
    }
}
