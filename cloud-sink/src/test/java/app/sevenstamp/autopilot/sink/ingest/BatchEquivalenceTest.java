package app.sevenstamp.autopilot.sink.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.config.VoucherPlan;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampDecision;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import app.sevenstamp.autopilot.sink.voucher.PosCodePool;
import app.sevenstamp.autopilot.sink.voucher.VoucherIssuer;
import app.sevenstamp.autopilot.sink.voucher.VoucherMetrics;
import app.sevenstamp.autopilot.sink.voucher.VoucherStore;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The batch path keeps a card's state, the duplicate check and the rules' counts in memory between
 * the events of one transaction; this feeds the same events once in batches and once one by one (each
 * event its own transaction, everything read back from the database) to two stores of the same kind,
 * and requires the same answers, counters, cards, ledger, vouchers and sequence gaps. The input has
 * what a batch could get wrong: one card stamped several times in a batch (cooldown, daily cap,
 * impossible travel, a reward with its voucher, a redeem), an event id twice in one batch (accepted
 * and rejected ones), duplicates of events committed by an earlier batch, a card that fails its
 * check, and sequence gaps opened and filled.
 */
@ParameterizedClass
@EnumSource(Backend.class)
class BatchEquivalenceTest {
    private static final Instant T0 = Instant.parse("2026-11-23T08:00:00Z");
    private static final Program COFFEE = new Program("coffee", "Coffee", 3,
            new StampRules(Duration.ofMinutes(10), 3, Duration.ofMinutes(30), ZoneId.of("UTC")),
            new RewardPlan(List.of(), RewardPlan.FullCard.NEW_ROUND, Duration.ofDays(30)));

    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();
    private final CardSigner signer = Vectors.signer();
    private final String cardA = signer.sign("coffee", "AAAAAAAAAAAAAAAA");
    private final String cardB = signer.sign("coffee", "BBBBBBBBBBBBBBBB");
    private final String cardC = signer.sign("coffee", "CCCCCCCCCCCCCCCC");
    /** Card A's code with another card id in it: its signature no longer holds. */
    private final String forged = cardA.replace("AAAAAAAAAAAAAAAA", "DDDDDDDDDDDDDDDD");
    private final Clock clock = Clock.fixed(T0.plus(Duration.ofDays(3)), ZoneOffset.UTC);

    @Parameter
    Backend backend;

    @TempDir
    Path dir;

    private final List<SinkStore> stores = new ArrayList<>();

    /** One store with its processor (vouchers issued as in the sink) and counters. */
    private final class Sink {
        final SinkStore store;
        final SinkMetrics metrics = new SinkMetrics();
        final EventProcessor processor;

        Sink(String name) {
            store = backend.fixture(dir.resolve(name)).open();
            stores.add(store);
            VoucherMetrics voucherMetrics = new VoucherMetrics();
            VoucherIssuer issuer = new VoucherIssuer(store, new PosCodePool(store, null, 1, voucherMetrics),
                    Map.of("coffee", new VoucherPlan("Free coffee", Duration.ofDays(90))), voucherMetrics, clock,
                    new SecureRandom(), new CardVerifier(Map.of()), Set.of(), LedgerHook.NONE);
            processor = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", COFFEE), store, metrics, clock,
                    codec, DeviceGate.ANY, issuer);
        }
    }

    @AfterEach
    void close() {
        stores.forEach(SinkStore::close);
    }

    private static StampEvent event(String id, String device, long seq, String code, Instant at, String location,
            EventKind kind) {
        String[] p = code.split("\\.");
        return new StampEvent(WireCodec.SCHEMA, TestIds.event(id), device, seq, code, p[2], p[3], location, at, seq, "boot", true, kind);
    }

    private static StampEvent stamp(String id, String device, long seq, String code, Instant at, String location) {
        return event(id, device, seq, code, at, location, EventKind.STAMP);
    }

    private EventProcessor.Message message(StampEvent e) {
        return new EventProcessor.Message(topics.stamps(e.deviceId()), codec.encode(e));
    }

    private List<List<StampEvent>> input() {
        Duration m = Duration.ofMinutes(1);
        List<StampEvent> first = List.of(
                stamp("a1", "counter-1", 1, cardA, T0, "shop-1"),
                stamp("a2", "counter-2", 1, cardA, T0.plus(m.multipliedBy(5)), "shop-2"), // within the cooldown
                stamp("a3", "counter-2", 2, cardA, T0.plus(m.multipliedBy(15)), "shop-2"), // impossible travel
                stamp("a1", "counter-1", 1, cardA, T0, "shop-1"), // the same id again, accepted above
                stamp("b1", "counter-1", 2, cardB, T0, "shop-1"),
                stamp("b2", "counter-1", 4, cardB, T0.plus(Duration.ofHours(1)), "shop-1"), // seq 3 missing
                stamp("b3", "counter-1", 5, cardB, T0.plus(Duration.ofHours(2)), "shop-1"),
                stamp("b4", "counter-1", 6, cardB, T0.plus(Duration.ofHours(3)), "shop-1"), // the daily cap of 3
                stamp("a2", "counter-2", 1, cardA, T0.plus(m.multipliedBy(5)), "shop-2"), // the same id again, rejected
                stamp("x1", "counter-2", 3, forged, T0, "shop-2"),
                event("r1", "counter-1", 7, cardA, T0.plus(Duration.ofHours(4)), "shop-1", EventKind.REDEEM), // none yet
                stamp("a4", "counter-1", 3, cardA, T0.plus(Duration.ofHours(5)), "shop-1"), // fills seq 3; card full
                event("r2", "counter-1", 8, cardA, T0.plus(Duration.ofHours(6)), "shop-1", EventKind.REDEEM),
                stamp("a5", "counter-1", 9, cardA, T0.plus(Duration.ofHours(5)).plus(m), "shop-1")); // cooldown
        Instant nextDay = T0.plus(Duration.ofDays(1));
        List<StampEvent> second = List.of(
                stamp("a1", "counter-1", 1, cardA, T0, "shop-1"), // committed by the first batch
                stamp("b4", "counter-1", 6, cardB, T0.plus(Duration.ofHours(3)), "shop-1"), // rejected there
                stamp("c1", "counter-2", 10, cardC, nextDay, "shop-2"), // opens 4..9
                stamp("c2", "counter-2", 5, cardC, nextDay.plus(m), "shop-2"), // fills 5, within the cooldown
                stamp("b5", "counter-1", 10, cardB, nextDay, "shop-1"),
                stamp("b6", "counter-1", 11, cardB, nextDay.plus(Duration.ofDays(40)), "shop-1"), // stamps lapse
                stamp("c1", "counter-2", 10, cardC, nextDay, "shop-2"));
        // Late numbers that fall into gaps stored by the batch before, split them and close the parts.
        List<StampEvent> third = List.of(
                stamp("c3", "counter-2", 7, cardC, nextDay.plus(Duration.ofHours(1)), "shop-2"), // splits 6..9
                stamp("c4", "counter-2", 6, cardC, nextDay.plus(Duration.ofHours(2)), "shop-2"), // closes 6..6
                stamp("c5", "counter-2", 4, cardC, nextDay.plus(Duration.ofHours(3)), "shop-2"), // closes 4..4
                stamp("b7", "counter-1", 2, cardB, nextDay.plus(Duration.ofDays(41)), "shop-1"), // old, in no gap
                stamp("b8", "counter-1", 14, cardB, nextDay.plus(Duration.ofDays(42)), "shop-1")); // opens 12..13
        return List.of(first, second, third);
    }

    @Test
    void batchesAreJudgedExactlyLikeOneEventAtATime() {
        Sink batched = new Sink("batched");
        Sink single = new Sink("single");
        List<Optional<StampAck>> batchAnswers = new ArrayList<>();
        List<Optional<StampAck>> singleAnswers = new ArrayList<>();
        for (List<StampEvent> batch : input()) {
            List<EventProcessor.Message> messages = batch.stream().map(this::message).toList();
            for (Optional<Outbound> out : batched.processor.processBatch(messages)) {
                batchAnswers.add(out.map(Outbound::ack));
            }
            for (EventProcessor.Message msg : messages) {
                singleAnswers.add(single.processor.process(msg.topic(), msg.payload()).map(Outbound::ack));
            }
        }

        // Not just equal to each other: right, where a batch could go wrong.
        assertEquals(AckOutcome.ACCEPTED, ack(singleAnswers, 0).outcome());
        assertEquals(RejectReason.TOO_SOON, ack(singleAnswers, 1).reason());
        assertEquals(2, ack(singleAnswers, 2).card().stamps());
        assertEquals(AckOutcome.DUPLICATE, ack(singleAnswers, 3).outcome());
        assertEquals(2, ack(singleAnswers, 3).card().stamps(), "a repeat answers with the card as it is by then");
        assertEquals(RejectReason.DAILY_CAP, ack(singleAnswers, 7).reason());
        assertEquals(AckOutcome.REJECTED, ack(singleAnswers, 8).outcome(), "a repeat of a rejected id");
        assertEquals(RejectReason.TOO_SOON, ack(singleAnswers, 8).reason());
        assertEquals(AckOutcome.REJECTED, ack(singleAnswers, 9).outcome(), "the forged card");
        assertEquals(RejectReason.NO_REWARD, ack(singleAnswers, 10).reason());
        assertTrue(ack(singleAnswers, 11).rewardEarned());
        assertEquals(AckOutcome.ACCEPTED, ack(singleAnswers, 12).outcome(), "the reward just earned is redeemed");
        assertEquals(RejectReason.TOO_SOON, ack(singleAnswers, 13).reason());
        assertEquals(AckOutcome.DUPLICATE, ack(singleAnswers, 14).outcome());
        assertEquals(RejectReason.DAILY_CAP, ack(singleAnswers, 15).reason());
        assertEquals(AckOutcome.DUPLICATE, ack(singleAnswers, 20).outcome());
        assertEquals(1, single.metrics.flagged(StampDecision.IMPOSSIBLE_TRAVEL));
        assertEquals(List.of("8..9"), single.store.gaps("counter-2").stream().map(g -> g.from() + ".." + g.to()).toList());
        assertEquals(List.of("12..13"), single.store.gaps("counter-1").stream().map(g -> g.from() + ".." + g.to()).toList());

        for (int i = 0; i < singleAnswers.size(); i++) {
            assertEquals(singleAnswers.get(i), batchAnswers.get(i), "answer " + i);
        }
        assertEquals(single.metrics.snapshot(), batched.metrics.snapshot(), "counters");
        for (String card : List.of("AAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBB", "CCCCCCCCCCCCCCCC", "DDDDDDDDDDDDDDDD")) {
            assertEquals(single.store.card(card), batched.store.card(card), "card " + card);
            assertEquals(lines(single.store, card), lines(batched.store, card), "ledger of card " + card);
            assertEquals(vouchers(single.store, card), vouchers(batched.store, card), "vouchers of card " + card);
        }
        assertEquals(single.store.countEvents(), batched.store.countEvents());
        for (String id : List.of("a1", "a2", "a3", "a4", "a5", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "c1",
                "c2", "c3", "c4", "c5", "x1",
                "r1", "r2")) {
            assertEquals(single.store.event(TestIds.event(id)).map(e -> e.outcome() + " " + e.reason()),
                    batched.store.event(TestIds.event(id)).map(e -> e.outcome() + " " + e.reason()), "event " + id);
        }
        for (String device : List.of("counter-1", "counter-2")) {
            assertEquals(single.store.lastSeq(device), batched.store.lastSeq(device), "last seq of " + device);
            assertEquals(single.store.gaps(device), batched.store.gaps(device), "gaps of " + device);
        }
        assertEquals(new Ledger(batched.store).derive(), new Ledger(batched.store).projected(), "the ledger explains the cards");
    }

    @Test
    void timesFinerThanAMicrosecondAreJudgedAsTheDatabaseKeepsThem() {
        // 08:00:00.000000400 and 10 minutes later less 300 ns: PostgreSQL keeps microseconds, so one event at a
        // time compares 08:00:00 with 08:10:00 (exactly the cooldown: accepted); the batch must not compare the
        // nanoseconds it still holds in memory
        Instant first = T0.plusNanos(400);
        Instant second = T0.plus(Duration.ofMinutes(10)).plusNanos(100);
        List<EventProcessor.Message> in = List.of(message(stamp("n1", "counter-1", 1, cardA, first, "shop-1")),
                message(stamp("n2", "counter-1", 2, cardA, second, "shop-1")));
        Sink batched = new Sink("batched");
        Sink single = new Sink("single");
        StampAck b = batched.processor.processBatch(in).get(1).orElseThrow().ack();
        single.processor.process(in.get(0).topic(), in.get(0).payload());
        StampAck o = single.processor.process(in.get(1).topic(), in.get(1).payload()).orElseThrow().ack();
        assertEquals(AckOutcome.ACCEPTED, o.outcome(), "10 minutes to the microsecond is not within the cooldown");
        assertEquals(o, b);
        assertEquals(single.store.card("AAAAAAAAAAAAAAAA"), batched.store.card("AAAAAAAAAAAAAAAA"));
    }

    private static StampAck ack(List<Optional<StampAck>> answers, int i) {
        return answers.get(i).orElseThrow(() -> new AssertionError("no answer " + i));
    }

    /** The card's ledger without what differs by nature between two stores (line ids, voucher codes). */
    private static List<String> lines(SinkStore store, String cardId) {
        List<String> out = new ArrayList<>();
        for (LedgerEntry e : new Ledger(store).entries(cardId)) {
            boolean voucher = e.type().name().startsWith("VOUCHER_");
            out.add(e.type() + " " + e.stamps() + " " + e.rewards() + " " + e.earned() + " " + e.eventId() + " "
                    + e.location() + " " + e.occurredAt() + " " + e.recordedAt() + " " + e.reason() + " "
                    + (voucher ? "" : e.note()) + " " + e.actor() + " " + e.flag() + " " + (e.undoes() != null));
        }
        assertTrue(out.isEmpty() || cardId.startsWith("D") || out.stream().anyMatch(l -> l.startsWith(LedgerType.STAMP.name())),
                "card " + cardId + " has its stamps in the ledger");
        return out;
    }

    /** The card's vouchers without their random codes, in an order that does not depend on the codes. */
    private static List<String> vouchers(SinkStore store, String cardId) {
        return new VoucherStore(store).byCard(cardId).stream().map(v -> v.eventId() + " " + v.title() + " " + v.origin()
                + " " + v.validFrom() + " " + v.validUntil() + " " + v.issuedBy() + " " + v.redeemedAt() + " "
                + v.redeemedBy()).sorted().toList();
    }
}
