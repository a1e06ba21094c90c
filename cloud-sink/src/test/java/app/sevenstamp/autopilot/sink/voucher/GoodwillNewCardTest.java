package app.sevenstamp.autopilot.sink.voucher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.config.VoucherPlan;
import app.sevenstamp.autopilot.sink.ingest.DeviceGate;
import app.sevenstamp.autopilot.sink.ingest.EventProcessor;
import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoredCard;
import app.sevenstamp.autopilot.sink.testing.Backend;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A goodwill voucher for a wallet card that has no stamp yet, on H2 and PostgreSQL: the card's scanned code
 * (verified with the sink's key) creates the card with 0 stamps in the voucher's transaction, and the card
 * then takes its first stamps like any other; a bare unknown id or a code that does not verify is refused.
 */
@ParameterizedClass
@EnumSource(Backend.class)
class GoodwillNewCardTest {
    private static final String CARD = "ABCDEFGHJKMNPQRS";
    private static final Instant T0 = Instant.parse("2026-11-23T08:00:00Z");

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private Backend.Fixture fixture;
    private SinkStore store;
    private final MutableClock clock = new MutableClock(T0);
    private final VoucherMetrics metrics = new VoucherMetrics();
    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();
    private final List<SinkStore> extraStores = new ArrayList<>();
    private VoucherIssuer issuer;
    private VoucherStore vouchers;
    private EventProcessor processor;
    private int seq;

    @BeforeEach
    void open() {
        fixture = backend.fixture(dir);
        store = fixture.open();
        issuer = issuer(store);
        vouchers = new VoucherStore(store);
        processor = processor(store, issuer);
    }

    @AfterEach
    void close() {
        extraStores.forEach(SinkStore::close);
        store.close();
    }

    private VoucherIssuer issuer(SinkStore s) {
        return new VoucherIssuer(s, new PosCodePool(s, null, 0, metrics), Map.of("coffee",
                new VoucherPlan("Free coffee", Duration.ofDays(90))), metrics, clock, new SecureRandom(), Vectors.verifier(),
                Set.of("coffee"), LedgerHook.NONE);
    }

    private EventProcessor processor(SinkStore s, VoucherIssuer hook) {
        return new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", new Program("coffee", "Coffee", 2, StampRules.NONE, RewardPlan.SIMPLE)), s,
                new SinkMetrics(), clock, codec, DeviceGate.ANY, hook);
    }

    private static VoucherIssuer.Goodwill withCode(String cardId, String cardCode) {
        return new VoucherIssuer.Goodwill("Sorry cake", cardId, Duration.ofDays(30), null, null, "machine broken", "ann",
                cardCode);
    }

    private StampAck stamp(EventProcessor p, String cardId, String cardCode) {
        seq++;
        StampEvent e = new StampEvent(WireCodec.SCHEMA, TestIds.event("ev-" + seq), "counter-1", seq, cardCode, "coffee", cardId,
                "shop-1", T0.plusSeconds(seq), 1, "boot", true, EventKind.STAMP);
        return p.process(topics.stamps("counter-1"), codec.encode(e)).orElseThrow().ack();
    }

    @Test
    void theScannedCodeOfANewCardCreatesItWithZeroStampsAndItsFirstStampsCountFromThere() {
        String code = Vectors.cardText("valid");
        Voucher v = issuer.goodwill(withCode(null, code));
        assertEquals(CARD, v.cardId());
        assertEquals("coffee", v.programId());
        assertEquals(VoucherOrigin.GOODWILL, v.origin());
        StoredCard card = store.card(CARD).orElseThrow();
        assertEquals(CardBalance.EMPTY, card.balance());
        assertNull(card.lastStampAt(), "no stamp yet");
        assertEquals(T0, card.firstSeenAt());
        assertEquals(1, metrics.issued());
        List<LedgerType> lines = new Ledger(store).entries(CARD).stream().map(LedgerEntry::type).toList();
        assertEquals(List.of(LedgerType.VOUCHER_ISSUED), lines, "the voucher's line, as for any goodwill voucher");

        // The first stamp finds the row: one card, stamps from 0, and the goodwill voucher stays with it.
        StampAck first = stamp(processor, CARD, code);
        assertEquals(AckOutcome.ACCEPTED, first.outcome());
        assertEquals(1, first.card().stamps());
        assertEquals(1, store.countCards(), "no second row for the card");
        StampAck second = stamp(processor, CARD, code);
        assertTrue(second.rewardEarned());
        StoredCard after = store.card(CARD).orElseThrow();
        assertEquals(new CardBalance(0, 1, 1), after.balance());
        assertEquals(T0, after.firstSeenAt(), "first seen when the voucher created it");
        List<Voucher> mine = vouchers.byCard(CARD);
        assertEquals(2, mine.size(), "the goodwill voucher and the reward's");
        assertEquals(Set.of(VoucherOrigin.GOODWILL, VoucherOrigin.REWARD),
                Set.of(mine.get(0).origin(), mine.get(1).origin()));
        Ledger ledger = new Ledger(store);
        assertEquals(ledger.projected(), ledger.derive(), "the ledger still explains every card");

        // The code again, or the bare id, for a card the sink now knows: bound to it, no new row.
        Voucher again = issuer.goodwill(withCode(null, code));
        Voucher byId = issuer.goodwill(withCode(CARD, null));
        assertEquals(CARD, again.cardId());
        assertEquals(CARD, byId.cardId());
        assertEquals(new CardBalance(0, 1, 1), store.card(CARD).orElseThrow().balance());
        assertEquals(4, vouchers.byCard(CARD).size());
    }

    @Test
    void aBareUnknownIdOrACodeThatDoesNotVerifyIsRefusedAndCreatesNothing() {
        VoucherIssuer.Refused bare = assertThrows(VoucherIssuer.Refused.class, () -> issuer.goodwill(withCode(CARD, null)));
        assertTrue(bare.getMessage().startsWith("card " + CARD + " has no stamps yet, so the sink does not know it; "
                + "give the card's full scanned code instead"), bare.getMessage());
        assertTrue(bare.getMessage().contains("--card-code") && bare.getMessage().contains("'cardCode'"), bare.getMessage());

        VoucherIssuer.Refused forged = assertThrows(VoucherIssuer.Refused.class, () -> issuer.goodwill(withCode(null,
                Vectors.cardText("forged: signed by another key under the trusted key id"))));
        assertTrue(forged.getMessage().startsWith("the card code is not a valid card of this sink (BAD_SIGNATURE"),
                forged.getMessage());
        VoucherIssuer.Refused unknownKey = assertThrows(VoucherIssuer.Refused.class, () -> issuer.goodwill(withCode(null,
                Vectors.cardText("unknown key id"))));
        assertTrue(unknownKey.getMessage().contains("UNKNOWN_KEY"), unknownKey.getMessage());
        VoucherIssuer.Refused garbage = assertThrows(VoucherIssuer.Refused.class, () -> issuer.goodwill(withCode(null,
                "4006381333931")));
        assertTrue(garbage.getMessage().contains("MALFORMED"), garbage.getMessage());
        VoucherIssuer.Refused otherProgram = assertThrows(VoucherIssuer.Refused.class, () -> issuer.goodwill(withCode(null,
                Vectors.cardText("valid signature, program the gateway does not run"))));
        assertEquals("card " + CARD + " is of program 'tea', which this sink does not run (configured: coffee)",
                otherProgram.getMessage());
        VoucherIssuer.Refused mismatch = assertThrows(VoucherIssuer.Refused.class, () -> issuer.goodwill(withCode(
                "ZZZZ2222YYYY3333", Vectors.cardText("valid"))));
        assertTrue(mismatch.getMessage().startsWith("cardId ZZZZ2222YYYY3333 is not the card of the card code"),
                mismatch.getMessage());

        assertEquals(0, store.countCards(), "a refused voucher creates no card");
        assertEquals(0, metrics.issued());
        assertTrue(vouchers.byCard(CARD).isEmpty());
    }

    @Test
    void aGoodwillVoucherAndTheCardsFirstStampAtOnceMakeOneCardRow() throws Exception {
        // PostgreSQL: the stamp comes in through a second sink instance on the same database.
        SinkStore second = store;
        if (fixture.url() != null) {
            second = fixture.open();
            extraStores.add(second);
        }
        EventProcessor otherProcessor = processor(second, issuer(second));
        CardSigner signer = Vectors.signer();
        SecureRandom random = new SecureRandom();
        ExecutorService two = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 10; round++) {
                String cardId = CardSigner.newCardId(random);
                String code = signer.sign("coffee", cardId);
                CountDownLatch go = new CountDownLatch(1);
                Future<Voucher> goodwill = two.submit(() -> {
                    go.await();
                    return issuer.goodwill(withCode(null, code));
                });
                Future<StampAck> stamped = two.submit(() -> {
                    go.await();
                    return stamp(otherProcessor, cardId, code);
                });
                go.countDown();
                assertEquals(cardId, goodwill.get(30, TimeUnit.SECONDS).cardId());
                assertEquals(AckOutcome.ACCEPTED, stamped.get(30, TimeUnit.SECONDS).outcome());
                assertEquals(new CardBalance(1, 0, 0), store.card(cardId).orElseThrow().balance(), "round " + round);
                assertEquals(1, vouchers.byCard(cardId).size());
            }
        } finally {
            two.shutdownNow();
        }
        assertEquals(10, store.countCards());
        Ledger ledger = new Ledger(store);
        assertEquals(ledger.projected(), ledger.derive());
    }
}
