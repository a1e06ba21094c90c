package app.sevenstamp.autopilot.sink.voucher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemOutcome;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.config.VoucherPlan;
import app.sevenstamp.autopilot.sink.ingest.DeviceGate;
import app.sevenstamp.autopilot.sink.ingest.EventProcessor;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
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

/** Vouchers on the real store, H2 file and PostgreSQL: lifecycle, reward vouchers, the POS code pool, redemption. */
@ParameterizedClass
@EnumSource(Backend.class)
class VoucherStoreTest {
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
    private final SecureRandom random = new SecureRandom();
    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();
    private PosCodePool pool;
    private VoucherIssuer issuer;
    private Redemptions redemptions;
    private VoucherStore vouchers;
    private final List<SinkStore> extraStores = new ArrayList<>();

    @BeforeEach
    void open() throws Exception {
        fixture = backend.fixture(dir);
        store = fixture.open();
        Path codes = dir.resolve("codes.txt");
        Files.writeString(codes, "# till codes\nPOS-0001\nPOS-0002\n\nPOS-0003\n", StandardCharsets.UTF_8);
        pool = new PosCodePool(store, codes, 1, metrics);
        issuer = new VoucherIssuer(store, pool, Map.of("coffee", new VoucherPlan("Free coffee", Duration.ofDays(90))),
                metrics, clock, random, new CardVerifier(Map.of()), Set.of(), LedgerHook.NONE);
        redemptions = new Redemptions(store, metrics, clock, LedgerHook.NONE);
        vouchers = new VoucherStore(store);
    }

    @AfterEach
    void close() {
        extraStores.forEach(SinkStore::close);
        store.close();
    }

    private Voucher goodwill(String title, Duration validity, Instant from, String location) {
        return issuer.goodwill(new VoucherIssuer.Goodwill(title, null, validity, from, location, "broken machine", "ann"));
    }

    private static RedeemRequest redeem(String requestId, Voucher v, String location) {
        return new RedeemRequest(WireCodec.SCHEMA, requestId, "counter-1", RedeemRequest.Action.REDEEM, v.code().text(),
                location, T0);
    }

    private static RedeemRequest cancel(String requestId, Voucher v) {
        return new RedeemRequest(WireCodec.SCHEMA, requestId, "counter-1", RedeemRequest.Action.CANCEL, v.code().text(),
                "shop-1", T0);
    }

    private VoucherState state(Voucher v) {
        return vouchers.find(v.code()).orElseThrow().state(clock.instant());
    }

    @Test
    void aVoucherIsIssuedThenActiveThenRedeemedOrExpiredAsTheClockMoves() {
        Voucher later = goodwill("Cake", Duration.ofDays(2), T0.plus(Duration.ofDays(1)), null);
        Voucher soon = goodwill("Tea", Duration.ofHours(3), null, null);
        assertEquals(VoucherState.ISSUED, state(later));
        assertEquals(VoucherState.ACTIVE, state(soon));
        assertEquals(RedeemOutcome.NOT_ACTIVE, redemptions.decide(redeem("r-early", later, "shop-1"), "counter-1").outcome());

        clock.advance(Duration.ofDays(1));
        assertEquals(VoucherState.ACTIVE, state(later));
        assertEquals(VoucherState.EXPIRED, state(soon), "expiry is derived from valid_until when read");
        assertEquals(RedeemOutcome.EXPIRED, redemptions.decide(redeem("r-tea", soon, "shop-1"), "counter-1").outcome());

        RedeemAnswer a = redemptions.decide(redeem("r-cake", later, "shop-1"), "counter-1");
        assertEquals(RedeemOutcome.REDEEMED, a.outcome());
        assertEquals("Cake", a.title());
        assertEquals(later.validUntil(), a.validUntil());
        assertEquals(VoucherState.REDEEMED, state(later));
        clock.advance(Duration.ofDays(5));
        assertEquals(VoucherState.REDEEMED, state(later), "a redeemed voucher stays redeemed after its validity");
        assertEquals(RedeemOutcome.ALREADY_REDEEMED, redemptions.decide(redeem("r-other", later, "shop-1"), "counter-2")
                .outcome());
        assertEquals(RedeemOutcome.NOT_ACTIVE, redemptions.decide(redeem("r-early", later, "shop-1"), "counter-1").outcome(),
                "a redelivered request gets its first answer again");
    }

    @Test
    void aRedeemCanBeCancelledAndARedeemArrivingAfterItsCancelRedeemsNothing() {
        Voucher v = goodwill("Cake", Duration.ofDays(30), null, null);
        assertEquals(RedeemOutcome.REDEEMED, redemptions.decide(redeem("r1", v, "shop-1"), "counter-1").outcome());
        assertEquals(RedeemOutcome.REDEEMED, redemptions.decide(redeem("r1", v, "shop-1"), "counter-1").outcome(),
                "a redelivery of the redeeming request is answered REDEEMED again");
        assertEquals(RedeemOutcome.CANCELLED, redemptions.decide(cancel("r1", v), "counter-1").outcome());
        assertEquals(VoucherState.ACTIVE, state(v), "the cancel reversed the redemption");
        assertEquals(RedeemOutcome.CANCELLED, redemptions.decide(redeem("r1", v, "shop-1"), "counter-1").outcome(),
                "a late redelivery of the cancelled request redeems nothing");
        assertEquals(VoucherState.ACTIVE, state(v));
        assertEquals(1, metrics.reversed());

        // The CANCEL overtakes its REDEEM: the REDEEM must not redeem afterwards.
        assertEquals(RedeemOutcome.CANCELLED, redemptions.decide(cancel("r2", v), "counter-1").outcome());
        assertEquals(RedeemOutcome.CANCELLED, redemptions.decide(redeem("r2", v, "shop-1"), "counter-1").outcome());
        assertEquals(VoucherState.ACTIVE, state(v));

        assertEquals(RedeemOutcome.REDEEMED, redemptions.decide(redeem("r3", v, "shop-1"), "counter-1").outcome());
        assertEquals(RedeemOutcome.CANCELLED, redemptions.decide(cancel("r1", v), "counter-1").outcome());
        assertEquals(VoucherState.REDEEMED, state(v), "a cancel reverses only what its own request redeemed");

        List<String> lines = voucherLines(v);
        assertEquals(List.of("VOUCHER_ISSUED", "VOUCHER_REDEEMED", "VOUCHER_REVERSED", "VOUCHER_REDEEMED"), lines);
    }

    @Test
    void aVoucherBoundToALocationIsRefusedElsewhereAndAnUnknownCodeIsUnknown() {
        Voucher v = goodwill("Cake", Duration.ofDays(30), null, "shop-1");
        assertEquals(RedeemOutcome.WRONG_LOCATION, redemptions.decide(redeem("r1", v, "shop-2"), "counter-9").outcome());
        assertEquals(RedeemOutcome.REDEEMED, redemptions.decide(redeem("r2", v, "shop-1"), "counter-1").outcome());
        RedeemRequest unknown = new RedeemRequest(WireCodec.SCHEMA, "r3", "counter-1", RedeemRequest.Action.REDEEM,
                app.sevenstamp.autopilot.protocol.voucher.VoucherCode.random(random).text(), "shop-1", T0);
        assertEquals(RedeemOutcome.UNKNOWN, redemptions.decide(unknown, "counter-1").outcome());
        RedeemRequest garbage = new RedeemRequest(WireCodec.SCHEMA, "r4", "counter-1", RedeemRequest.Action.REDEEM,
                "7V-NOT-A-CODE", "shop-1", T0);
        assertEquals(RedeemOutcome.UNKNOWN, redemptions.decide(garbage, "counter-1").outcome());
    }

    @Test
    void anEarnedRewardBecomesAVoucherWithATillCodeInTheStampsTransactionAndRedeemingItUsesTheReward() {
        pool.importFile(clock.instant());
        EventProcessor processor = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee",
                new Program("coffee", "Coffee", 2, StampRules.NONE, RewardPlan.SIMPLE)), store, new SinkMetrics(), clock, codec, DeviceGate.ANY, issuer);
        String code = Vectors.cardText("valid");
        for (int i = 1; i <= 2; i++) {
            StampEvent e = new StampEvent(WireCodec.SCHEMA, TestIds.event("ev-" + i), "counter-1", i, code, "coffee", CARD, "shop-1",
                    T0.minusSeconds(100 - i), 1, "boot", true, EventKind.STAMP);
            assertEquals(AckOutcome.ACCEPTED, processor.process(topics.stamps("counter-1"), codec.encode(e)).orElseThrow()
                    .ack().outcome());
        }
        List<Voucher> mine = vouchers.byCard(CARD);
        assertEquals(1, mine.size(), "one reward, one voucher");
        Voucher v = mine.get(0);
        assertEquals("Free coffee", v.title());
        assertEquals(VoucherOrigin.REWARD, v.origin());
        assertEquals("coffee", v.programId());
        assertEquals("POS-0001", v.posCode(), "the first unused code of the pool");
        assertEquals(T0.plus(Duration.ofDays(90)), v.validUntil());
        assertEquals(TestIds.event("ev-2"), v.eventId());
        assertEquals(VoucherState.ACTIVE, v.state(clock.instant()));
        assertEquals(1, store.card(CARD).orElseThrow().balance().rewardsAvailable());

        RedeemAnswer a = redemptions.decide(redeem("r1", v, "shop-1"), "counter-1");
        assertEquals(RedeemOutcome.REDEEMED, a.outcome());
        assertEquals("POS-0001", a.posCode());
        assertEquals(0, store.card(CARD).orElseThrow().balance().rewardsAvailable(), "the voucher used the card's reward");
        redemptions.decide(cancel("r1", v), "counter-1");
        assertEquals(1, store.card(CARD).orElseThrow().balance().rewardsAvailable(), "the cancel gave it back");

        Ledger ledger = new Ledger(store);
        assertEquals(ledger.projected(), ledger.derive(), "the ledger still explains every card");
        List<LedgerType> types = ledger.entries(CARD).stream().map(LedgerEntry::type).toList();
        assertEquals(List.of(LedgerType.STAMP, LedgerType.STAMP, LedgerType.REWARD, LedgerType.VOUCHER_ISSUED,
                LedgerType.VOUCHER_REDEEMED, LedgerType.VOUCHER_REVERSED), types);

        // The card scanned in redeem mode uses the reward and, with it, its voucher: no second spending.
        StampEvent r = new StampEvent(WireCodec.SCHEMA, TestIds.event("ev-redeem"), "counter-1", 3, code, "coffee", CARD, "shop-1", T0, 1,
                "boot", true, EventKind.REDEEM);
        assertEquals(AckOutcome.ACCEPTED, processor.process(topics.stamps("counter-1"), codec.encode(r)).orElseThrow()
                .ack().outcome());
        assertEquals(VoucherState.REDEEMED, state(v));
        assertEquals(RedeemOutcome.ALREADY_REDEEMED, redemptions.decide(redeem("r9", v, "shop-1"), "counter-1").outcome());
        assertEquals(ledger.projected(), ledger.derive());
    }

    @Test
    void undoingTheStampThatEarnedARewardVoidsItsUnusedVoucher() {
        EventProcessor processor = new EventProcessor(topics, Vectors.verifier(), Map.of("coffee",
                new Program("coffee", "Coffee", 2, StampRules.NONE, RewardPlan.SIMPLE)), store, new SinkMetrics(), clock, codec, DeviceGate.ANY, issuer);
        String code = Vectors.cardText("valid");
        for (int i = 1; i <= 2; i++) {
            processor.process(topics.stamps("counter-1"), codec.encode(new StampEvent(WireCodec.SCHEMA, TestIds.event("ev-" + i),
                    "counter-1", i, code, "coffee", CARD, "shop-1", T0.minusSeconds(100 - i), 1, "boot", true,
                    EventKind.STAMP))).orElseThrow();
        }
        Voucher v = vouchers.byCard(CARD).get(0);
        new app.sevenstamp.autopilot.sink.store.CardCorrections(store, clock, issuer).undoLastStamp(CARD, "scanned twice",
                "ann");
        assertEquals(VoucherState.EXPIRED, state(v), "the reward is gone, so is its voucher");
        assertEquals(RedeemOutcome.EXPIRED, redemptions.decide(redeem("r1", v, "shop-1"), "counter-1").outcome());
        assertEquals(List.of("VOUCHER_ISSUED", "VOUCHER_VOIDED"), voucherLines(v));
        Ledger ledger = new Ledger(store);
        assertEquals(ledger.projected(), ledger.derive());
    }

    @Test
    void theImportIsIdempotentAndAnEmptyPoolStillIssuesVouchersWithoutATillCode() {
        assertEquals(3, pool.importFile(clock.instant()));
        assertEquals(0, pool.importFile(clock.instant()), "a second import adds nothing");
        Set<String> codes = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            codes.add(goodwill("Cake " + i, Duration.ofDays(1), null, null).posCode());
        }
        assertEquals(Set.of("POS-0001", "POS-0002", "POS-0003"), codes);
        assertEquals(0, pool.free());
        Voucher without = goodwill("Cake 4", Duration.ofDays(1), null, null);
        assertNull(without.posCode(), "issued, never refused");
        assertEquals(1, metrics.issuedWithoutPosCode());
        assertEquals(4, metrics.issued());
        assertEquals(0, metrics.posCodesFree());
        assertEquals(0, pool.importFile(clock.instant()), "used codes stay with their vouchers after a restart");
    }

    @Test
    void aGoodwillVoucherForAnUnknownCardOrAnAlreadyEndedWindowIsRefused() {
        VoucherIssuer.Refused unknown = assertThrows(VoucherIssuer.Refused.class, () -> issuer.goodwill(
                new VoucherIssuer.Goodwill("Cake", "ZZZZZZZZZZZZZZZZ", Duration.ofDays(1), null, null, "sorry", "ann")));
        assertTrue(unknown.getMessage().startsWith("card ZZZZZZZZZZZZZZZZ has no stamps yet, so the sink does not know it; "
                + "give the card's full scanned code instead"), unknown.getMessage());
        assertThrows(VoucherIssuer.Refused.class, () -> goodwill("Cake", Duration.ofDays(1), T0.minus(Duration.ofDays(3)),
                null));
        assertEquals(0, metrics.issued());
    }

    @Test
    void twoSinksRedeemingOneVoucherAtOnceRedeemItExactlyOnceAndNeverHandOutATillCodeTwice() throws Exception {
        pool.importFile(clock.instant());
        // PostgreSQL: a second store is a second sink instance on the same database. H2: one process, many threads.
        SinkStore second = store;
        if (fixture.url() != null) {
            second = fixture.open();
            extraStores.add(second);
        }
        Redemptions other = new Redemptions(second, metrics, clock, LedgerHook.NONE);
        VoucherIssuer otherIssuer = new VoucherIssuer(second, new PosCodePool(second, dir.resolve("codes.txt"), 1, metrics),
                Map.of(), metrics, clock, random, new CardVerifier(Map.of()), Set.of(), LedgerHook.NONE);
        Voucher v = goodwill("Cake", Duration.ofDays(30), null, null);
        int threads = 8;
        ExecutorService pool8 = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<RedeemOutcome>> outcomes = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                Redemptions r = i % 2 == 0 ? redemptions : other;
                String id = "race-" + i;
                outcomes.add(pool8.submit(() -> {
                    go.await();
                    return r.decide(redeem(id, v, "shop-1"), "counter-" + id).outcome();
                }));
            }
            go.countDown();
            List<RedeemOutcome> got = new ArrayList<>();
            for (Future<RedeemOutcome> f : outcomes) {
                got.add(f.get(30, TimeUnit.SECONDS));
            }
            assertEquals(1, got.stream().filter(o -> o == RedeemOutcome.REDEEMED).count(), got.toString());
            assertEquals(threads - 1, got.stream().filter(o -> o == RedeemOutcome.ALREADY_REDEEMED).count(), got.toString());

            // Both sinks issue at once from a pool of 2 left: each code goes to exactly one voucher.
            CountDownLatch go2 = new CountDownLatch(1);
            List<Future<Voucher>> issued = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                VoucherIssuer is = i % 2 == 0 ? issuer : otherIssuer;
                issued.add(pool8.submit(() -> {
                    go2.await();
                    return is.goodwill(new VoucherIssuer.Goodwill("Tea", null, Duration.ofDays(1), null, null, "race", "ann"));
                }));
            }
            go2.countDown();
            List<String> posCodes = new ArrayList<>();
            for (Future<Voucher> f : issued) {
                String c = f.get(30, TimeUnit.SECONDS).posCode();
                if (c != null) {
                    posCodes.add(c);
                }
            }
            assertEquals(2, posCodes.size(), posCodes.toString());
            assertEquals(Set.of("POS-0002", "POS-0003"), new HashSet<>(posCodes));
        } finally {
            pool8.shutdownNow();
        }
        assertNotNull(vouchers.find(v.code()).orElseThrow().redeemedAt());
        assertEquals(List.of("VOUCHER_ISSUED", "VOUCHER_REDEEMED"), voucherLines(v));
    }

    @Test
    void aRequestIdUsedForAnotherVoucherOrByAnotherDeviceIsRefusedAndChangesNothing() {
        pool.importFile(clock.instant());
        Voucher a = goodwill("Cake", Duration.ofDays(30), null, null);
        Voucher b = goodwill("Tea", Duration.ofDays(30), null, null);
        RedeemAnswer first = redemptions.decide(redeem("x", a, "shop-1"), "counter-1");
        assertEquals(RedeemOutcome.REDEEMED, first.outcome());
        assertEquals(a.posCode(), first.posCode());

        // One receipt number reused for a second voucher: not a redelivery, so neither REDEEMED nor b's till code.
        RedeemAnswer reuse = redemptions.decide(redeem("x", b, "shop-1"), "counter-1");
        assertEquals(RedeemOutcome.OTHER, reuse.outcome());
        assertNull(reuse.posCode());
        assertNull(reuse.title());
        assertEquals(VoucherState.ACTIVE, state(b));
        RedeemRequest otherDevice = new RedeemRequest(WireCodec.SCHEMA, "x", "counter-2", RedeemRequest.Action.REDEEM,
                a.code().text(), "shop-1", T0);
        RedeemAnswer stolen = redemptions.decide(otherDevice, "counter-2");
        assertEquals(RedeemOutcome.OTHER, stolen.outcome(), "another device's replay of a used id");
        assertNull(stolen.posCode());

        // A CANCEL of x naming b must not rewrite x's row: the real CANCEL of x still reverses a.
        assertEquals(RedeemOutcome.OTHER, redemptions.decide(cancel("x", b), "counter-1").outcome());
        assertEquals(VoucherState.REDEEMED, state(a));
        assertEquals(RedeemOutcome.CANCELLED, redemptions.decide(cancel("x", a), "counter-1").outcome());
        assertEquals(VoucherState.ACTIVE, state(a));

        assertEquals(RedeemOutcome.REDEEMED, redemptions.decide(redeem("y", b, "shop-1"), "counter-1").outcome());
        assertEquals(List.of("VOUCHER_ISSUED", "VOUCHER_REDEEMED"), voucherLines(b));
        assertEquals(List.of("VOUCHER_ISSUED", "VOUCHER_REDEEMED", "VOUCHER_REVERSED"), voucherLines(a));
        assertEquals(3L, metrics.snapshot().get("vouchers.redeem.OTHER"));
    }

    @Test
    void anAnswerCarriesTheTillCodeOnlyWhenItRedeems() {
        pool.importFile(clock.instant());
        Voucher bound = goodwill("Cake", Duration.ofDays(30), null, "shop-1");
        Voucher later = goodwill("Tea", Duration.ofDays(30), T0.plus(Duration.ofDays(1)), null);
        Voucher shortLived = goodwill("Bun", Duration.ofHours(1), null, null);
        assertNotNull(bound.posCode());
        assertNotNull(later.posCode());
        assertNotNull(shortLived.posCode());

        RedeemAnswer wrong = redemptions.decide(redeem("r1", bound, "shop-2"), "counter-1");
        assertEquals(RedeemOutcome.WRONG_LOCATION, wrong.outcome());
        assertNull(wrong.posCode());
        RedeemAnswer early = redemptions.decide(redeem("r2", later, "shop-1"), "counter-1");
        assertEquals(RedeemOutcome.NOT_ACTIVE, early.outcome());
        assertNull(early.posCode());
        RedeemAnswer ok = redemptions.decide(redeem("r3", bound, "shop-1"), "counter-1");
        assertEquals(RedeemOutcome.REDEEMED, ok.outcome());
        assertEquals(bound.posCode(), ok.posCode());
        assertEquals(bound.posCode(), redemptions.decide(redeem("r3", bound, "shop-1"), "counter-1").posCode(),
                "a redelivery of the redeeming request gets the till code again");
        RedeemAnswer used = redemptions.decide(redeem("r4", bound, "shop-1"), "counter-1");
        assertEquals(RedeemOutcome.ALREADY_REDEEMED, used.outcome());
        assertNull(used.posCode());
        assertNull(redemptions.decide(cancel("r3", bound), "counter-1").posCode());
        clock.advance(Duration.ofHours(2));
        RedeemAnswer expired = redemptions.decide(redeem("r5", shortLived, "shop-1"), "counter-1");
        assertEquals(RedeemOutcome.EXPIRED, expired.outcome());
        assertNull(expired.posCode());
    }

    private EventProcessor everyStampEarns() {
        return new EventProcessor(topics, Vectors.verifier(), Map.of("coffee", new Program("coffee", "Coffee", 1, StampRules.NONE, RewardPlan.SIMPLE)), store,
                new SinkMetrics(), clock, codec, DeviceGate.ANY, issuer);
    }

    /** One accepted stamp; the clock moves on a minute, so each reward voucher has its own issue time. */
    private void stamp(EventProcessor processor, int seq) {
        StampEvent e = new StampEvent(WireCodec.SCHEMA, TestIds.event("ev-" + seq), "counter-1", seq, Vectors.cardText("valid"), "coffee",
                CARD, "shop-1", T0.minusSeconds(100 - seq), 1, "boot", true, EventKind.STAMP);
        assertEquals(AckOutcome.ACCEPTED, processor.process(topics.stamps("counter-1"), codec.encode(e)).orElseThrow()
                .ack().outcome());
        clock.advance(Duration.ofMinutes(1));
    }

    private Voucher rewardOf(String eventId) {
        return vouchers.byCard(CARD).stream().filter(v -> TestIds.event(eventId).equals(v.eventId())).findFirst().orElseThrow();
    }

    private int rewards() {
        return store.card(CARD).orElseThrow().balance().rewardsAvailable();
    }

    @Test
    void aRewardVoucherWhoseCardHasNoRewardLeftIsRefusedAndLeftAsItIs() {
        pool.importFile(clock.instant());
        stamp(everyStampEarns(), 1);
        Voucher v = rewardOf("ev-1");
        // Without the voucher hook (as before vouchers voided on adjustments): the reward goes, the voucher stays.
        new app.sevenstamp.autopilot.sink.store.CardCorrections(store, clock, LedgerHook.NONE).adjust(CARD, 0, -1, "given offline", "ann");
        assertEquals(0, rewards());
        assertEquals(VoucherState.ACTIVE, state(v));

        RedeemAnswer a = redemptions.decide(redeem("r1", v, "shop-1"), "counter-1");
        assertEquals(RedeemOutcome.ALREADY_REDEEMED, a.outcome(), "the card's reward was spent already");
        assertNull(a.posCode());
        assertEquals(VoucherState.ACTIVE, state(v), "refused, not marked");
        assertEquals(0, rewards());
        assertEquals(List.of("VOUCHER_ISSUED"), voucherLines(v));
        Ledger ledger = new Ledger(store);
        assertEquals(ledger.projected(), ledger.derive());
    }

    @Test
    void undoingALaterStampAfterItsVoucherWasRedeemedVoidsTheVoucherTheCardNoLongerCovers() {
        EventProcessor processor = everyStampEarns();
        stamp(processor, 1);
        stamp(processor, 2);
        Voucher v1 = rewardOf("ev-1");
        Voucher v2 = rewardOf("ev-2");
        assertEquals(2, rewards());
        assertEquals(RedeemOutcome.REDEEMED, redemptions.decide(redeem("r2", v2, "shop-1"), "counter-1").outcome());
        assertEquals(1, rewards());

        new app.sevenstamp.autopilot.sink.store.CardCorrections(store, clock, issuer).undoLastStamp(CARD, "scanned twice",
                "ann");
        assertEquals(0, rewards(), "the undone stamp's reward is the one its voucher already used");
        assertEquals(VoucherState.EXPIRED, state(v1), "no reward is left for the older voucher");
        assertEquals(RedeemOutcome.EXPIRED, redemptions.decide(redeem("r1", v1, "shop-1"), "counter-1").outcome());
        assertEquals(List.of("VOUCHER_ISSUED", "VOUCHER_VOIDED"), voucherLines(v1));
        assertEquals(0, rewards());
        Ledger ledger = new Ledger(store);
        assertEquals(ledger.projected(), ledger.derive());
    }

    @Test
    void anAdjustmentThatTakesARewardVoidsTheNewestVoucherTheCardNoLongerCovers() {
        EventProcessor processor = everyStampEarns();
        stamp(processor, 1);
        stamp(processor, 2);
        Voucher v1 = rewardOf("ev-1");
        Voucher v2 = rewardOf("ev-2");
        var corrections = new app.sevenstamp.autopilot.sink.store.CardCorrections(store, clock, issuer);
        corrections.adjust(CARD, 3, 0, "paper card carried over", "ann");
        assertEquals(VoucherState.ACTIVE, state(v1), "an adjustment that takes no reward voids nothing");
        assertEquals(VoucherState.ACTIVE, state(v2));

        corrections.adjust(CARD, 0, -1, "reward handed over while offline", "ann");
        assertEquals(1, rewards());
        assertEquals(VoucherState.ACTIVE, state(v1));
        assertEquals(VoucherState.EXPIRED, state(v2), "the newest voucher goes");
        assertEquals(List.of("VOUCHER_ISSUED", "VOUCHER_VOIDED"), voucherLines(v2));
        String reason = store.transaction(tx -> {
            try (var ps = tx.connection().prepareStatement("SELECT reason FROM ledger WHERE voucher_code = ? "
                    + "AND entry_type = 'VOUCHER_VOIDED'")) {
                ps.setString(1, v2.code().text());
                try (var rs = ps.executeQuery()) {
                    return rs.next() ? rs.getString(1) : null;
                }
            }
        });
        assertEquals("ADJUST", reason);
        assertEquals(RedeemOutcome.REDEEMED, redemptions.decide(redeem("r1", v1, "shop-1"), "counter-1").outcome());
        assertEquals(0, rewards());
        Ledger ledger = new Ledger(store);
        assertEquals(ledger.projected(), ledger.derive());
    }

    @Test
    void metricsCountOnlyWhatCommittedNotAttemptsThatWereRolledBackOrRetried() {
        // A deadlock victim on the first attempt: the batch runs again, and its voucher is issued once.
        int[] attempts = {0};
        LedgerEntry reward = new LedgerEntry(0, CARD, "coffee", LedgerType.REWARD, 0, 1, 1, "ev-1", "shop-1", T0, T0,
                null, null, "counter-1", null, null);
        store.transaction(tx -> {
            issuer.appended(tx, reward);
            if (++attempts[0] == 1) {
                throw new java.sql.SQLException("deadlock detected", "40P01");
            }
            return null;
        });
        assertEquals(2, attempts[0]);
        assertEquals(1, vouchers.byCard(CARD).size());
        assertEquals(1, metrics.issued(), "the retried attempt's voucher is not counted");

        assertEquals(List.of("VOUCHER_ISSUED"), voucherLines(vouchers.byCard(CARD).get(0)), "one issue line, not two");
    }

    private List<String> voucherLines(Voucher v) {
        return store.transaction(tx -> {
            List<String> out = new ArrayList<>();
            try (var ps = tx.connection().prepareStatement("SELECT entry_type FROM ledger WHERE voucher_code = ? ORDER BY id")) {
                ps.setString(1, v.code().text());
                try (var rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(rs.getString(1));
                    }
                }
            }
            return out;
        });
    }
}
