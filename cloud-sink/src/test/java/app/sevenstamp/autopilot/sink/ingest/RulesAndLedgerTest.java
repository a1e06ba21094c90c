package app.sevenstamp.autopilot.sink.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampDecision;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.store.CardCorrections;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** Rules enforced by the sink, the ledger behind every card, and operator corrections, on H2 and PostgreSQL. */
@ParameterizedClass
@EnumSource(Backend.class)
class RulesAndLedgerTest {
    private static final Instant T0 = Instant.parse("2026-11-23T09:00:00Z");
    private static final String DEVICE = "counter-1";

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();
    private final SinkMetrics metrics = new SinkMetrics();
    private final CardSigner signer = Vectors.signer();
    private SinkStore store;
    private EventProcessor processor;
    private long seq;

    /** coffee: 10 stamps, a milestone at 5, 30 min cooldown, 2 a day (Berlin), travel flag under 1 h. */
    private static final Program COFFEE = new Program("coffee", "Coffee", 10,
            new StampRules(Duration.ofMinutes(30), 2, Duration.ofHours(1), ZoneId.of("Europe/Berlin")),
            new RewardPlan(List.of(5), RewardPlan.FullCard.NEW_ROUND, Duration.ZERO));
    /** bakery: 3 stamps, carry-over, stamps lapse after 30 days; no rules. */
    private static final Program BAKERY = new Program("bakery", "Bakery", 3, StampRules.NONE,
            new RewardPlan(List.of(), RewardPlan.FullCard.CARRY_OVER, Duration.ofDays(30)));

    @BeforeEach
    void open() {
        store = backend.fixture(dir).open();
        processor = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", COFFEE, "bakery", BAKERY), store,
                metrics, Clock.fixed(T0.plus(Duration.ofDays(400)), ZoneOffset.UTC), codec, DeviceGate.ANY, LedgerHook.NONE);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private String card(String program, String id) {
        return signer.sign(program, id);
    }

    private StampAck send(String code, EventKind kind, Instant at, String location) {
        String[] p = code.split("\\.");
        seq++;
        StampEvent e = new StampEvent(WireCodec.SCHEMA, TestIds.event("e" + seq), DEVICE, seq, code, p[2], p[3], location, at, seq, "boot",
                true, kind);
        return processor.process(topics.stamps(DEVICE), codec.encode(e)).orElseThrow().ack();
    }

    @Test
    void aStampWithinTheCooldownIsRejectedTooSoonRecordedAndAnsweredWithTheCard() {
        String c = card("coffee", "COOLCOOLCOOLCOOL");
        assertEquals(AckOutcome.ACCEPTED, send(c, EventKind.STAMP, T0, "shop-1").outcome());
        StampAck soon = send(c, EventKind.STAMP, T0.plus(Duration.ofMinutes(29)), "shop-1");
        assertEquals(AckOutcome.REJECTED, soon.outcome());
        assertEquals(RejectReason.TOO_SOON, soon.reason());
        assertEquals(1, soon.card().stamps(), "the box can show the card as it is");
        assertEquals("TOO_SOON", store.event(TestIds.event("e2")).orElseThrow().reason());
        assertEquals(AckOutcome.ACCEPTED, send(c, EventKind.STAMP, T0.plus(Duration.ofMinutes(30)), "shop-1").outcome());
        assertEquals(1, metrics.rejected(RejectReason.TOO_SOON));
        LedgerEntry rejected = new Ledger(store).entries("COOLCOOLCOOLCOOL").stream()
                .filter(l -> l.type() == LedgerType.REJECTED).findFirst().orElseThrow();
        assertEquals("TOO_SOON", rejected.reason());
        assertEquals(0, rejected.stamps());
    }

    @Test
    void theDailyCapCountsTheShopsDayNotUtc() throws Exception {
        String c = card("coffee", "CAPCAPCAPCAPCAP2");
        // 23:00 UTC on the 22nd is already the 23rd in Berlin.
        Instant berlinMorning = Instant.parse("2026-11-22T23:30:00Z");
        assertEquals(AckOutcome.ACCEPTED, send(c, EventKind.STAMP, berlinMorning, "shop-1").outcome());
        assertEquals(AckOutcome.ACCEPTED, send(c, EventKind.STAMP, berlinMorning.plus(Duration.ofHours(2)), "shop-1").outcome());
        StampAck third = send(c, EventKind.STAMP, berlinMorning.plus(Duration.ofHours(4)), "shop-1");
        assertEquals(RejectReason.DAILY_CAP, third.reason());
        assertEquals(2, third.card().stamps());
        StampAck nextDay = send(c, EventKind.STAMP, Instant.parse("2026-11-23T23:05:00Z"), "shop-1");
        assertEquals(AckOutcome.ACCEPTED, nextDay.outcome(), "00:05 in Berlin is a new day");
        assertEquals(RejectReason.DAILY_CAP, codec.decodeAck(codec.encode(third)).reason(), "the new reason travels on the wire");
    }

    @Test
    void theSameCardAtTwoShopsWithinAnHourIsFlaggedButCounted() {
        String c = card("coffee", "TRAVELTRAVELTRAV");
        send(c, EventKind.STAMP, T0, "shop-1");
        StampAck far = send(c, EventKind.STAMP, T0.plus(Duration.ofMinutes(40)), "shop-9");
        assertEquals(AckOutcome.ACCEPTED, far.outcome());
        assertEquals(1, metrics.flagged(StampDecision.IMPOSSIBLE_TRAVEL));
        send(c, EventKind.STAMP, T0.plus(Duration.ofHours(26)), "shop-1");
        assertEquals(1, metrics.flagged(StampDecision.IMPOSSIBLE_TRAVEL), "a day later is possible");
        List<LedgerEntry> stamps = new Ledger(store).entries("TRAVELTRAVELTRAV").stream()
                .filter(l -> l.type() == LedgerType.STAMP).toList();
        assertNull(stamps.get(0).flag());
        assertEquals(StampDecision.IMPOSSIBLE_TRAVEL, stamps.get(1).flag());
        assertEquals("shop-9", stamps.get(1).location());
    }

    @Test
    void aMilestoneEarnsARewardOnTheWayAndTheFullCardAnother() {
        String c = card("coffee", "MILEMILEMILEMILE");
        for (int day = 0; day < 10; day++) {
            StampAck a = send(c, EventKind.STAMP, T0.plus(Duration.ofDays(day)), "shop-1");
            assertEquals(day == 4 || day == 9, a.rewardEarned(), "day " + day);
        }
        assertEquals(new CardBalance(0, 2, 2), store.card("MILEMILEMILEMILE").orElseThrow().balance());
    }

    @Test
    void carryOverKeepsStampsBeyondTheGoalAndExpiredStampsLapse() {
        String c = card("bakery", "BAKEBAKEBAKEBAKE");
        send(c, EventKind.STAMP, T0, "shop-1");
        CardCorrections ops = new CardCorrections(store, Clock.fixed(T0, ZoneOffset.UTC), LedgerHook.NONE);
        ops.adjust("BAKEBAKEBAKEBAKE", 3, 0, "four stamps on a paper card", "ana");
        StampAck a = send(c, EventKind.STAMP, T0.plus(Duration.ofDays(1)), "shop-1");
        assertTrue(a.rewardEarned());
        assertEquals(2, a.card().stamps(), "5 stamps on a card of 3: a reward and 2 carried over");
        StampAck late = send(c, EventKind.STAMP, T0.plus(Duration.ofDays(40)), "shop-1");
        assertEquals(1, late.card().stamps(), "the 2 old stamps lapsed after 30 days; this is the first of a new round");
        assertEquals(1, late.card().rewardsAvailable());
    }

    @Test
    void undoTakesBackTheLastStampWithItsRewardAndAdjustNeedsAReason() {
        String c = card("coffee", "UNDOUNDOUNDOUNDO");
        for (int day = 0; day < 5; day++) {
            send(c, EventKind.STAMP, T0.plus(Duration.ofDays(day)), "shop-1");
        }
        CardCorrections ops = new CardCorrections(store, Clock.fixed(T0.plus(Duration.ofDays(6)), ZoneOffset.UTC), LedgerHook.NONE);
        assertEquals(new CardBalance(5, 1, 1), store.card("UNDOUNDOUNDOUNDO").orElseThrow().balance());
        assertEquals(new CardBalance(4, 0, 0), ops.undoLastStamp("UNDOUNDOUNDOUNDO", "double scan", "ana").balance());
        assertEquals(T0.plus(Duration.ofDays(3)), store.card("UNDOUNDOUNDOUNDO").orElseThrow().lastStampAt());
        assertEquals(new CardBalance(3, 0, 0), ops.undoLastStamp("UNDOUNDOUNDOUNDO", "and another", "ana").balance());
        assertEquals("a correction needs a reason (it is kept in the card's ledger)",
                assertThrows(CardCorrections.Refused.class, () -> ops.adjust("UNDOUNDOUNDOUNDO", 1, 0, " ", "ana"))
                        .getMessage());
        assertEquals("card UNDOUNDOUNDOUNDO has 3 stamps and 0 rewards; adjusting by -4 stamps and 0 rewards would go "
                + "below zero", assertThrows(CardCorrections.Refused.class,
                        () -> ops.adjust("UNDOUNDOUNDOUNDO", -4, 0, "typo", "ana")).getMessage());
        List<LedgerEntry> lines = new Ledger(store).entries("UNDOUNDOUNDOUNDO");
        LedgerEntry undo = lines.get(lines.size() - 1);
        assertEquals(LedgerType.UNDO, undo.type());
        assertEquals("and another", undo.note());
        assertEquals("operator:ana", undo.actor());
    }

    @Test
    void aRedeemedRewardCannotBeUndoneWithItsStamp() {
        String c = card("coffee", "REDEEMREDEEMREDE");
        for (int day = 0; day < 5; day++) {
            send(c, EventKind.STAMP, T0.plus(Duration.ofDays(day)), "shop-1");
        }
        assertEquals(AckOutcome.ACCEPTED, send(c, EventKind.REDEEM, T0.plus(Duration.ofDays(5)), "shop-1").outcome());
        CardCorrections ops = new CardCorrections(store, Clock.fixed(T0, ZoneOffset.UTC), LedgerHook.NONE);
        CardCorrections.Refused e = assertThrows(CardCorrections.Refused.class,
                () -> ops.undoLastStamp("REDEEMREDEEMREDE", "oops", "ana"));
        assertTrue(e.getMessage().endsWith("earned a reward that was already redeemed; use an adjustment instead"));
        assertEquals(new CardBalance(5, 0, 1), store.card("REDEEMREDEEMREDE").orElseThrow().balance());
    }

    @Test
    void everyCardsStateIsReDerivedFromTheLedgerAlone() {
        Random random = new Random(7);
        String[] ids = {"AAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBB", "CCCCCCCCCCCCCCCC", "DDDDDDDDDDDDDDDD"};
        CardCorrections ops = new CardCorrections(store, Clock.fixed(T0, ZoneOffset.UTC), LedgerHook.NONE);
        Instant at = T0;
        for (int i = 0; i < 300; i++) {
            String id = ids[random.nextInt(ids.length)];
            String program = id.charAt(0) < 'C' ? "coffee" : "bakery";
            at = at.plus(Duration.ofMinutes(random.nextInt(600)));
            int what = random.nextInt(10);
            try {
                if (what < 6) {
                    send(card(program, id), EventKind.STAMP, at, random.nextBoolean() ? "shop-1" : "shop-2");
                } else if (what < 8) {
                    send(card(program, id), EventKind.REDEEM, at, "shop-1");
                } else if (what == 8) {
                    ops.adjust(id, random.nextInt(3) - 1, random.nextInt(2), "goodwill", "ana");
                } else {
                    ops.undoLastStamp(id, "mistake", "ana");
                }
            } catch (CardCorrections.Refused expected) {
                // a refused correction changes nothing, which the comparison below also checks
            }
        }
        Ledger ledger = new Ledger(store);
        Map<String, CardBalance> projected = ledger.projected();
        assertEquals(ids.length, projected.size());
        assertEquals(projected, ledger.derive(), "the cards table is exactly the sum of the ledger");
        assertFalse(metrics.rejected() == 0, "the mix included rule rejections");
    }
}
