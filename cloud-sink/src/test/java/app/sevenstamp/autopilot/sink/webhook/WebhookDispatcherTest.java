package app.sevenstamp.autopilot.sink.webhook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.ingest.DeviceGate;
import app.sevenstamp.autopilot.sink.ingest.EventProcessor;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** Webhooks from the ledger: signed, in order, retried with backoff, every attempt recorded. */
@ParameterizedClass
@EnumSource(Backend.class)
class WebhookDispatcherTest {
    private static final String SECRET = "webhook-secret-0123456789abcdef";

    private record Received(String body, String timestamp, String signature, String delivery) {
    }

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private SinkStore store;
    private HttpServer receiver;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final AtomicInteger failFirst = new AtomicInteger(2);

    @BeforeEach
    void start() throws Exception {
        store = backend.fixture(dir).open();
        receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        receiver.createContext("/hook", ex -> {
            try (ex) {
                received.add(new Received(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8),
                        ex.getRequestHeaders().getFirst("X-7stamp-Timestamp"),
                        ex.getRequestHeaders().getFirst("X-7stamp-Signature"),
                        ex.getRequestHeaders().getFirst("X-7stamp-Delivery")));
                ex.sendResponseHeaders(failFirst.getAndDecrement() > 0 ? 500 : 204, -1);
            }
        });
        receiver.start();
    }

    @AfterEach
    void stop() {
        receiver.stop(0);
        store.close();
    }

    @Test
    void stampsAndTheRewardAreSentSignedInOrderAfterTwoFailuresWithBackoff() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-23T09:00:00Z"));
        Topics topics = new Topics(Topics.DEFAULT_PREFIX);
        WireCodec codec = new WireCodec();
        EventProcessor processor = new EventProcessor(topics, Vectors.verifier(),
                Map.of("coffee", new Program("coffee", "Coffee", 5, StampRules.NONE, RewardPlan.SIMPLE)), store, new SinkMetrics(), clock, codec, DeviceGate.ANY, LedgerHook.NONE);
        String code = Vectors.cardText("valid");
        for (int i = 1; i <= 5; i++) {
            processor.process(topics.stamps("counter-1"), codec.encode(new StampEvent(WireCodec.SCHEMA, TestIds.event("e" + i),
                    "counter-1", i, code, "coffee", "ABCDEFGHJKMNPQRS", "shop-1", clock.instant().plusSeconds(i), i,
                    "boot", true, EventKind.STAMP))).orElseThrow();
        }
        WebhookDispatcher webhooks = new WebhookDispatcher(store,
                URI.create("http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook"), SECRET, clock);

        assertEquals(0, webhooks.runOnce(), "first attempt: HTTP 500");
        assertEquals(0, webhooks.runOnce(), "within the backoff nothing is sent");
        assertEquals(1, received.size());
        clock.advance(Duration.ofSeconds(1));
        assertEquals(0, webhooks.runOnce(), "second attempt: HTTP 500 again");
        clock.advance(Duration.ofSeconds(1));
        assertEquals(0, webhooks.runOnce(), "the backoff doubled to 2 s");
        clock.advance(Duration.ofSeconds(1));
        assertEquals(6, webhooks.runOnce(), "then all six in one round");
        assertEquals(0, webhooks.runOnce(), "nothing twice");

        ObjectMapper json = new ObjectMapper();
        List<Received> ok = received.subList(2, received.size());
        assertEquals(List.of("stamp.added", "stamp.added", "stamp.added", "stamp.added", "stamp.added", "reward.issued"),
                ok.stream().map(r -> readType(json, r.body())).toList());
        assertEquals(received.get(0).delivery(), ok.get(0).delivery(), "a retry keeps its delivery id");
        for (Received r : received) {
            assertEquals("sha256=" + webhooks.sign(r.timestamp() + "." + r.body()), r.signature());
        }
        int[] counts = store.transaction(tx -> {
            try (Statement st = tx.connection().createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT COUNT(*), SUM(CASE WHEN status = 500 THEN 1 ELSE 0 END) FROM webhook_deliveries")) {
                rs.next();
                return new int[] {rs.getInt(1), rs.getInt(2)};
            }
        });
        assertEquals(8, counts[0], "every attempt recorded");
        assertEquals(2, counts[1]);
    }

    @Test
    void voucherLinesAreSentAsVoucherIssuedAndVoucherRedeemedWithTheirCode() throws Exception {
        failFirst.set(0);
        MutableClock clock = new MutableClock(Instant.parse("2026-11-23T09:00:00Z"));
        app.sevenstamp.autopilot.sink.voucher.VoucherMetrics metrics = new app.sevenstamp.autopilot.sink.voucher.VoucherMetrics();
        app.sevenstamp.autopilot.sink.voucher.VoucherIssuer issuer = new app.sevenstamp.autopilot.sink.voucher.VoucherIssuer(
                store, new app.sevenstamp.autopilot.sink.voucher.PosCodePool(store, null, 0, metrics), Map.of(), metrics,
                clock, new java.security.SecureRandom(), new app.sevenstamp.autopilot.protocol.card.CardVerifier(Map.of()), java.util.Set.of(),
                LedgerHook.NONE);
        app.sevenstamp.autopilot.sink.voucher.Voucher v = issuer.goodwill(new app.sevenstamp.autopilot.sink.voucher
                .VoucherIssuer.Goodwill("Cake", null, Duration.ofDays(1), null, null, "sorry", "ann"));
        new app.sevenstamp.autopilot.sink.voucher.Redemptions(store, metrics, clock,
                app.sevenstamp.autopilot.sink.store.LedgerHook.NONE).decide(
                new app.sevenstamp.autopilot.protocol.RedeemRequest(WireCodec.SCHEMA, "r1", "counter-1",
                        app.sevenstamp.autopilot.protocol.RedeemRequest.Action.REDEEM, v.code().text(), "shop-1",
                        clock.instant()), "counter-1");
        WebhookDispatcher webhooks = new WebhookDispatcher(store,
                URI.create("http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook"), SECRET, clock);
        assertEquals(2, webhooks.runOnce());
        ObjectMapper json = new ObjectMapper();
        assertEquals(List.of("voucher.issued", "voucher.redeemed"), received.stream().map(r -> readType(json, r.body())).toList());
        for (Received r : received) {
            assertEquals(v.code().text(), json.readTree(r.body()).get("voucherCode").asText());
        }
    }

    private static long cursor(SinkStore store) {
        return store.transaction(tx -> {
            try (Statement st = tx.connection().createStatement();
                 ResultSet rs = st.executeQuery("SELECT last_ledger_id FROM webhook_cursor WHERE id = 1")) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    @Test
    void aLineThatCommitsAfterLaterOnesWereSentIsStillSentAndTheCursorOnlyPassesSettledLines() throws Exception {
        failFirst.set(0);
        MutableClock clock = new MutableClock(Instant.parse("2026-11-23T09:00:00Z"));
        Topics topics = new Topics(Topics.DEFAULT_PREFIX);
        WireCodec codec = new WireCodec();
        EventProcessor processor = new EventProcessor(topics, Vectors.verifier(),
                Map.of("coffee", new Program("coffee", "Coffee", 5, StampRules.NONE, RewardPlan.SIMPLE)), store, new SinkMetrics(), clock, codec, DeviceGate.ANY, LedgerHook.NONE);
        String code = Vectors.cardText("valid");
        java.util.function.IntConsumer stamp = i -> processor.process(topics.stamps("counter-1"), codec.encode(
                new StampEvent(WireCodec.SCHEMA, TestIds.event("e" + i), "counter-1", i, code, "coffee", "ABCDEFGHJKMNPQRS", "shop-1",
                        clock.instant().plusSeconds(i), i, "boot", true, EventKind.STAMP))).orElseThrow();
        stamp.accept(1);
        WebhookDispatcher webhooks = new WebhookDispatcher(store,
                URI.create("http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook"), SECRET, clock);
        assertEquals(1, webhooks.runOnce());

        // another transaction (the POS route, a redemption, the other instance) takes the next ledger id and
        // commits only after a later line was written and sent
        long lateId;
        try (java.sql.Connection slow = store.connection()) {
            slow.setAutoCommit(false);
            try (java.sql.PreparedStatement ins = slow.prepareStatement("INSERT INTO ledger (card_id, program_id, "
                    + "entry_type, stamps_delta, rewards_delta, earned_delta, event_id, location, occurred_at, recorded_at, "
                    + "actor) VALUES ('ZZZZZZZZZZZZZZZZ', 'coffee', 'STAMP', 1, 0, 0, 'pos-1', 'shop-1', ?, ?, 'pos')",
                    java.sql.Statement.RETURN_GENERATED_KEYS)) {
                ins.setObject(1, clock.instant().atOffset(java.time.ZoneOffset.UTC));
                ins.setObject(2, clock.instant().atOffset(java.time.ZoneOffset.UTC));
                ins.executeUpdate();
                try (ResultSet keys = ins.getGeneratedKeys()) {
                    keys.next();
                    lateId = keys.getLong(1);
                }
            }
            stamp.accept(2);
            assertEquals(1, webhooks.runOnce(), "the second stamp, whose line has a higher id");
            slow.commit();
        }
        assertEquals(0, webhooks.runOnce(), "the late line waits for the sweep");
        clock.advance(WebhookDispatcher.SWEEP);
        assertEquals(1, webhooks.runOnce(), "the sweep finds the line that committed late");
        assertEquals("wh-" + lateId, received.get(received.size() - 1).delivery());
        assertEquals(3, received.size());
        assertEquals(0, webhooks.runOnce(), "nothing twice");

        long before = cursor(store);
        assertTrue(before < lateId, "lines newer than the settle time are not passed: " + before);
        clock.advance(WebhookDispatcher.SETTLE.plus(WebhookDispatcher.SWEEP));
        assertEquals(0, webhooks.runOnce());
        assertTrue(cursor(store) > lateId, "all sent and settled: the cursor passes them");

        // a second dispatcher (another instance, after the lease) sends nothing twice
        clock.advance(WebhookDispatcher.LEASE);
        WebhookDispatcher other = new WebhookDispatcher(store,
                URI.create("http://127.0.0.1:" + receiver.getAddress().getPort() + "/hook"), SECRET, clock);
        assertEquals(0, other.runOnce());
        assertEquals(3, received.size());
    }

    private static String readType(ObjectMapper json, String body) {
        try {
            return json.readTree(body).get("type").asText();
        } catch (java.io.IOException e) {
            throw new AssertionError(body, e);
        }
    }
}
