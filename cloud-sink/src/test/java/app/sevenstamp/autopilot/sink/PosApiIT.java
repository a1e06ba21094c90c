package app.sevenstamp.autopilot.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.store.LedgerEntry;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The POS channel: same path and rules as a scan, idempotent by Idempotency-Key, one API key per location. */
@Tag("quick")
class PosApiIT {
    private static final String KEY = "pos-key-for-shop-1-0123456789abcdef";

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newHttpClient();
    private final WireCodec codec = new WireCodec();

    private HttpResponse<byte[]> post(int port, String key, String idempotencyKey, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/stamps"))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Authorization", "Bearer " + key);
        if (idempotencyKey != null) {
            b.header("Idempotency-Key", idempotencyKey);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    @Test
    void aTillStampsThroughTheSameRulesAndARetryCountsOnce() throws Exception {
        String card = "{\"cardCode\":\"" + Vectors.cardText("valid") + "\"}";
        try (SinkServer sink = TestSink.in(dir).vectorKey().program("coffee", 10).set("program.coffee.cooldown", "1h")
                .set("pos.shop-1.apiKey", KEY).start()) {
            int port = sink.httpPort();
            HttpResponse<byte[]> first = post(port, KEY, "till-7-receipt-1001", card);
            assertEquals(200, first.statusCode(), new String(first.body(), StandardCharsets.UTF_8));
            StampAck a = codec.decodeAck(first.body());
            assertEquals(AckOutcome.ACCEPTED, a.outcome());
            assertEquals(1, a.card().stamps());

            StampAck retry = codec.decodeAck(post(port, KEY, "till-7-receipt-1001", card).body());
            assertEquals(AckOutcome.DUPLICATE, retry.outcome(), "a retry with the same key is not a second stamp");
            assertEquals(1, retry.card().stamps());

            HttpResponse<byte[]> soon = post(port, KEY, "till-7-receipt-1002", card);
            assertEquals(422, soon.statusCode(), "the cooldown applies to the POS as to a scan");
            assertEquals(RejectReason.TOO_SOON, codec.decodeAck(soon.body()).reason());

            assertEquals(401, post(port, "wrong-key-0123456789abcdefghij", "x", card).statusCode());
            assertEquals(400, post(port, KEY, null, card).statusCode());
            assertEquals(400, post(port, KEY, "till-7-receipt-1003", "{\"cardCode\":\"junk\"}").statusCode());

            List<LedgerEntry> lines = new Ledger(sink.store()).entries("ABCDEFGHJKMNPQRS");
            assertEquals(List.of(LedgerType.STAMP, LedgerType.REJECTED), lines.stream().map(LedgerEntry::type).toList());
            assertEquals("shop-1", lines.get(0).location(), "the key decides the location");
            assertEquals("pos-shop-1", lines.get(0).actor());
            assertTrue(sink.store().event(a.eventId()).isPresent());
        }
    }
    /**
     * Issue 12, item 5: the same Idempotency-Key with another card answered 200 DUPLICATE with the
     * first card's data. Like the IETF Idempotency-Key draft and Stripe: the key is bound to its
     * request, another request under it is refused with 422, the first one's answer goes only to
     * the same request.
     */
    @Test
    void anIdempotencyKeyIsBoundToTheRequestItWasFirstUsedFor() throws Exception {
        String cardA = "{\"cardCode\":\"" + Vectors.cardText("valid") + "\"}";
        String other = Vectors.signer().sign("coffee", "ZZZZ2222YYYY3333");
        String cardB = "{\"cardCode\":\"" + other + "\"}";
        try (SinkServer sink = TestSink.in(dir).vectorKey().program("coffee", 10).set("pos.shop-1.apiKey", KEY).start()) {
            int port = sink.httpPort();
            assertEquals(200, post(port, KEY, "till-7-receipt-2001", cardA).statusCode());

            HttpResponse<byte[]> reused = post(port, KEY, "till-7-receipt-2001", cardB);
            String text = new String(reused.body(), StandardCharsets.UTF_8);
            assertEquals(422, reused.statusCode(), text);
            assertEquals("{\"type\":\"about:blank\",\"title\":\"Unprocessable Content\",\"status\":422,\"detail\":"
                    + "\"Idempotency-Key 'till-7-receipt-2001' was first used for another request "
                    + "(another card code or kind); use a new key for a new stamp\"}", text);
            assertTrue(sink.store().card("ZZZZ2222YYYY3333").isEmpty(), "the second card got nothing");

            HttpResponse<byte[]> reusedAsRedeem = post(port, KEY, "till-7-receipt-2001",
                    "{\"cardCode\":\"" + Vectors.cardText("valid") + "\",\"kind\":\"redeem\"}");
            assertEquals(422, reusedAsRedeem.statusCode());

            // the same request, even with its fields written in another order and with spaces, is a retry
            StampAck retry = codec.decodeAck(post(port, KEY, "till-7-receipt-2001",
                    "{ \"kind\": \"stamp\", \"cardCode\": \"" + Vectors.cardText("valid") + "\" }").body());
            assertEquals(AckOutcome.DUPLICATE, retry.outcome());
            assertEquals("ABCDEFGHJKMNPQRS", retry.card().cardId());
            assertEquals(1, retry.card().stamps());
        }
    }
}
