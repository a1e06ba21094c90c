package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemOutcome;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import app.sevenstamp.autopilot.sink.cli.SinkCli;
import app.sevenstamp.autopilot.sink.store.Ledger;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.zxing.BinaryBitmap;
import com.google.zxing.RGBLuminanceSource;
import com.google.zxing.Reader;
import com.google.zxing.common.HybridBinarizer;
import com.google.zxing.oned.Code128Reader;
import com.google.zxing.qrcode.QRCodeReader;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Vouchers through the running sink: a reward becomes a voucher with a till code, an operator issues a
 * goodwill voucher with the CLI, the images decode back to the code, a box redeems and cancels over the
 * embedded broker, a bad payload is counted and the service goes on, a till redeems through the POS API.
 */
class VoucherRedeemIT {
    private static final String TOKEN = "test-admin-token-0123456789abcdef";
    private static final String POS_KEY = "pos-key-for-shop-1-0123456789abcdef";
    private static final String CARD = "ABCDEFGHJKMNPQRS";
    private static final String DEVICE = "counter-1";

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();
    private final WireCodec codec = new WireCodec();
    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);

    private record Result(int status, String out, String err) {
    }

    private Result cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new SinkCli(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private HttpResponse<byte[]> get(int port, String path, boolean token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        if (token) {
            b.header("Authorization", "Bearer " + TOKEN);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private HttpResponse<byte[]> posRedeem(int port, String code, String key, String idempotencyKey) throws Exception {
        return pos(port, code, "redeem", key, idempotencyKey);
    }

    private HttpResponse<byte[]> pos(int port, String code, String action, String key, String idempotencyKey)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/vouchers/" + code
                + "/" + action)).POST(HttpRequest.BodyPublishers.noBody()).header("Authorization", "Bearer " + key);
        if (idempotencyKey != null) {
            b.header("Idempotency-Key", idempotencyKey);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** What a scanner reads from the PNG, with zxing's own readers. */
    static String decode(byte[] png, Reader reader) throws Exception {
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        int[] pixels = image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
        return reader.decode(new BinaryBitmap(new HybridBinarizer(new RGBLuminanceSource(image.getWidth(),
                image.getHeight(), pixels)))).getText();
    }

    private static RedeemRequest request(String id, RedeemRequest.Action action, String code) {
        return new RedeemRequest(WireCodec.SCHEMA, id, DEVICE, action, code, "shop-1", Instant.parse("2026-11-23T09:00:00Z"));
    }

    @Test
    void vouchersAreIssuedShownRedeemedAndCancelledThroughTheRunningSink() throws Exception {
        Path codes = dir.resolve("till-codes.txt");
        Files.writeString(codes, "TILL-1\nTILL-2\n", StandardCharsets.UTF_8);
        TestSink config = TestSink.in(dir).vectorKey().program("coffee", 1).set("program.coffee.voucherTitle", "Free coffee")
                .set("program.coffee.voucherValidity", "30d").set("vouchers.posCodes", codes.toString())
                .set("vouchers.poolLowWarning", "1").set("admin.token", TOKEN).set("pos.shop-1.apiKey", POS_KEY);
        try (SinkServer sink = config.start()) {
            int port = sink.httpPort();
            // the operator's commands read the sink's own file; it now names the port the sink took
            Path cliConfig = config.set("http.port", Integer.toString(port)).write();

            BlockingQueue<StampAck> acks = new LinkedBlockingQueue<>();
            BlockingQueue<RedeemAnswer> answers = new LinkedBlockingQueue<>();
            MqttClient box = new MqttClient(sink.brokerUrl(), "it-voucher-box", new MemoryPersistence());
            box.connect();
            box.subscribe(topics.acks(DEVICE), 1, (t, m) -> acks.add(codec.decodeAck(m.getPayload())));
            box.subscribe(topics.redeemAnswers(DEVICE), 1, (t, m) -> answers.add(codec.decode(m.getPayload(),
                    RedeemAnswer.class)));

            // One stamp completes the card: the reward becomes a voucher with the first till code.
            box.publish(topics.stamps(DEVICE), Vectors.bytes("stamp-event.json"), 1, false);
            StampAck ack = acks.poll(10, TimeUnit.SECONDS);
            assertNotNull(ack);
            assertEquals(AckOutcome.ACCEPTED, ack.outcome());
            JsonNode card = json.readTree(get(port, "/api/v1/cards/" + CARD, false).body());
            assertEquals(1, card.path("vouchers").size(), card.toString());
            JsonNode reward = card.path("vouchers").get(0);
            assertEquals("Free coffee", reward.path("title").asText());
            assertEquals("ACTIVE", reward.path("state").asText());
            assertFalse(reward.has("posCode"), "the public card view shows no till code: " + reward);
            String rewardCode = reward.path("code").asText();
            String page = new String(get(port, "/cards/" + CARD, false).body(), StandardCharsets.UTF_8);
            assertTrue(page.contains(rewardCode) && page.contains("/api/v1/vouchers/" + rewardCode + "/qr.png"), page);
            assertFalse(page.contains("TILL-1"), page);
            assertEquals("TILL-1", json.readTree(get(port, "/api/v1/cards/" + CARD + "/vouchers", true).body())
                    .path("vouchers").get(0).path("posCode").asText(), "operators see it");

            // The images decode back to the code.
            HttpResponse<byte[]> qr = get(port, "/api/v1/vouchers/" + rewardCode + "/qr.png", false);
            assertEquals(200, qr.statusCode());
            assertEquals("image/png", qr.headers().firstValue("Content-Type").orElse(""));
            assertEquals(rewardCode, decode(qr.body(), new QRCodeReader()));
            assertEquals(rewardCode, decode(get(port, "/api/v1/vouchers/" + rewardCode + "/code128.png", false).body(),
                    new Code128Reader()));
            assertEquals(400, get(port, "/api/v1/vouchers/7V-0000-0000-0000-0001/qr.png", false).statusCode(),
                    "a code with a wrong check character is refused");

            // CLI round trip: a goodwill voucher for the card, with its images written to files.
            Path qrFile = dir.resolve("out/goodwill-qr.png");
            Path barFile = dir.resolve("out/goodwill-code128.png");
            Result issued = cli("vouchers", "issue", "--title", "Sorry cake", "--reason", "machine broken", "--card", CARD,
                    "--valid", "30d", "--operator", "ana", "--qr", qrFile.toString(), "--code128", barFile.toString(),
                    "--config", cliConfig.toString());
            assertEquals(SinkCli.OK, issued.status(), issued.err());
            String goodwill = issued.out().strip();
            assertTrue(VoucherCode.parse(goodwill).isPresent(), goodwill);
            assertEquals(goodwill, decode(Files.readAllBytes(qrFile), new QRCodeReader()));
            assertEquals(goodwill, decode(Files.readAllBytes(barFile), new Code128Reader()));
            Result shown = cli("vouchers", "show", goodwill, "--config", cliConfig.toString());
            assertEquals(SinkCli.OK, shown.status(), shown.err());
            JsonNode g = json.readTree(shown.out());
            assertEquals("ACTIVE", g.path("state").asText());
            assertEquals("GOODWILL", g.path("origin").asText());
            assertEquals("TILL-2", g.path("posCode").asText());
            assertEquals("machine broken", g.path("reason").asText());
            assertEquals("operator:ana", g.path("issuedBy").asText());
            Result listed = cli("vouchers", "list", "--card", CARD, "--config", cliConfig.toString());
            assertEquals(SinkCli.OK, listed.status(), listed.err());
            assertEquals(2, json.readTree(listed.out()).path("vouchers").size(), listed.out());
            Result refused = cli("vouchers", "issue", "--title", "Cake", "--reason", "x", "--card", "ZZZZZZZZZZZZZZZZ",
                    "--config", cliConfig.toString());
            assertEquals(SinkCli.REFUSED, refused.status(), refused.err());
            assertEquals(401, get(port, "/api/v1/cards/" + CARD + "/vouchers", false).statusCode());
            assertEquals(2, json.readTree(get(port, "/api/v1/cards/" + CARD + "/vouchers", true).body())
                    .path("vouchers").size());

            // A box redeems over MQTT; bad payloads in between are counted and change nothing.
            box.publish(topics.redeem(DEVICE), "{not json".getBytes(StandardCharsets.UTF_8), 1, false);
            box.publish(topics.redeem(DEVICE), codec.encode(new RedeemRequest(WireCodec.SCHEMA, "r-x", "counter-2",
                    RedeemRequest.Action.REDEEM, rewardCode, "shop-1", Instant.now())), 1, false);
            box.publish(topics.redeem(DEVICE), codec.encode(request("r-1", RedeemRequest.Action.REDEEM, rewardCode)), 1, false);
            RedeemAnswer redeemed = answers.poll(10, TimeUnit.SECONDS);
            assertNotNull(redeemed);
            assertEquals("r-1", redeemed.requestId());
            assertEquals(RedeemOutcome.REDEEMED, redeemed.outcome());
            assertEquals("TILL-1", redeemed.posCode());
            assertEquals("Free coffee", redeemed.title());
            assertEquals(1L, sink.metrics().snapshot().get("vouchers.malformed.json"));
            assertEquals(1L, sink.metrics().snapshot().get("vouchers.malformed.topic"));
            assertEquals(0, sink.store().card(CARD).orElseThrow().balance().rewardsAvailable());

            // The box heard nothing in time and cancels: the voucher is usable again.
            box.publish(topics.redeem(DEVICE), codec.encode(request("r-1", RedeemRequest.Action.CANCEL, rewardCode)), 1, false);
            RedeemAnswer cancelled = answers.poll(10, TimeUnit.SECONDS);
            assertNotNull(cancelled);
            assertEquals(RedeemOutcome.CANCELLED, cancelled.outcome());
            assertEquals(1, sink.store().card(CARD).orElseThrow().balance().rewardsAvailable());

            // A till redeems it through the POS API; a retry with the same key gets the same answer.
            HttpResponse<byte[]> till = posRedeem(port, rewardCode, POS_KEY, "receipt-77");
            assertEquals(200, till.statusCode(), new String(till.body(), StandardCharsets.UTF_8));
            assertEquals(RedeemOutcome.REDEEMED, codec.decode(till.body(), RedeemAnswer.class).outcome());
            assertEquals("TILL-1", codec.decode(till.body(), RedeemAnswer.class).posCode());
            assertEquals(RedeemOutcome.REDEEMED, codec.decode(posRedeem(port, rewardCode, POS_KEY, "receipt-77").body(),
                    RedeemAnswer.class).outcome());
            assertEquals(0, sink.store().card(CARD).orElseThrow().balance().rewardsAvailable());

            // The till timed out and the cashier gives up: its cancel with the same key gives the voucher back,
            // and the redeem arriving after it hands nothing over.
            HttpResponse<byte[]> tillCancel = pos(port, rewardCode, "cancel", POS_KEY, "receipt-77");
            assertEquals(200, tillCancel.statusCode(), new String(tillCancel.body(), StandardCharsets.UTF_8));
            assertEquals(RedeemOutcome.CANCELLED, codec.decode(tillCancel.body(), RedeemAnswer.class).outcome());
            assertEquals(1, sink.store().card(CARD).orElseThrow().balance().rewardsAvailable());
            HttpResponse<byte[]> late = posRedeem(port, rewardCode, POS_KEY, "receipt-77");
            assertEquals(422, late.statusCode());
            assertEquals(RedeemOutcome.CANCELLED, codec.decode(late.body(), RedeemAnswer.class).outcome());
            assertEquals(400, pos(port, rewardCode, "cancel", POS_KEY, null).statusCode());
            assertEquals(401, pos(port, rewardCode, "cancel", "wrong-key-0123456789abcdefghij", "k").statusCode());

            assertEquals(200, posRedeem(port, rewardCode, POS_KEY, "receipt-78").statusCode());
            HttpResponse<byte[]> again = posRedeem(port, rewardCode, POS_KEY, "receipt-79");
            assertEquals(422, again.statusCode());
            assertEquals(RedeemOutcome.ALREADY_REDEEMED, codec.decode(again.body(), RedeemAnswer.class).outcome());
            assertNull(codec.decode(again.body(), RedeemAnswer.class).posCode(), "a refusal shows no till code");
            assertEquals(401, posRedeem(port, rewardCode, "wrong-key-0123456789abcdefghij", "k").statusCode());
            assertEquals(400, posRedeem(port, rewardCode, POS_KEY, null).statusCode());

            // One receipt number for a second voucher is a request of its own: the goodwill voucher is redeemed.
            HttpResponse<byte[]> sameReceipt = posRedeem(port, goodwill, POS_KEY, "receipt-78");
            assertEquals(200, sameReceipt.statusCode(), new String(sameReceipt.body(), StandardCharsets.UTF_8));
            assertEquals("TILL-2", codec.decode(sameReceipt.body(), RedeemAnswer.class).posCode());

            // The box's late redeem of the goodwill voucher finds it used; a box reusing a request id of another
            // voucher gets OTHER and no till code.
            box.publish(topics.redeem(DEVICE), codec.encode(request("r-2", RedeemRequest.Action.REDEEM, goodwill)), 1, false);
            RedeemAnswer second = answers.poll(10, TimeUnit.SECONDS);
            assertNotNull(second);
            assertEquals(RedeemOutcome.ALREADY_REDEEMED, second.outcome());
            assertNull(second.posCode());
            box.publish(topics.redeem(DEVICE), codec.encode(request("r-1", RedeemRequest.Action.REDEEM, goodwill)), 1, false);
            RedeemAnswer reused = answers.poll(10, TimeUnit.SECONDS);
            assertNotNull(reused);
            assertEquals(RedeemOutcome.OTHER, reused.outcome());
            assertNull(reused.posCode());
            await().atMost(Duration.ofSeconds(5)).until(() -> sink.metrics().snapshot().get("vouchers.redeem.REDEEMED") == 4L);
            assertEquals(0L, sink.metrics().snapshot().get("vouchers.posCodesFree"));
            assertTrue(sink.healthCheck().names().contains("redeem"));
            assertEquals(java.util.Optional.empty(), sink.healthCheck().firstProblem());

            Ledger ledger = new Ledger(sink.store());
            assertEquals(ledger.projected(), ledger.derive());
            box.disconnect(500);
            box.close();
        }
    }

    /**
     * A customer with a brand-new wallet card (no stamp yet) gets a goodwill voucher by the card's scanned code
     * (CLI and API); the card then shows it and takes its first stamp as usual. Meanwhile the shop loads new
     * till codes into the file, and the running sink picks them up when its clock says a check is due.
     */
    @Test
    void aNewCardGetsAGoodwillVoucherByItsCodeAndNewTillCodesArriveWithoutARestart() throws Exception {
        Path codes = dir.resolve("till-codes.txt");
        Files.writeString(codes, "TILL-1\n", StandardCharsets.UTF_8);
        Files.setLastModifiedTime(codes, java.nio.file.attribute.FileTime.from(Instant.now().minusSeconds(60)));
        TestSink config = TestSink.in(dir).vectorKey().program("coffee", 2).set("vouchers.posCodes", codes.toString())
                .set("vouchers.poolLowWarning", "1").set("admin.token", TOKEN);
        app.sevenstamp.autopilot.protocol.testing.MutableClock clock =
                new app.sevenstamp.autopilot.protocol.testing.MutableClock(Instant.now());
        try (SinkServer sink = config.start(clock)) {
            int port = sink.httpPort();
            Path cliConfig = config.set("http.port", Integer.toString(port)).write();
            String newCard = "NEWCARD2345ABCDE";
            String newCode = Vectors.signer().sign("coffee", newCard);
            assertEquals(404, get(port, "/api/v1/cards/" + newCard, false).statusCode(), "no stamp, no card yet");

            // The bare id is refused with what to give instead; the scanned code works (typed into --card, as a
            // scanner would).
            Result bare = cli("vouchers", "issue", "--title", "Sorry", "--reason", "rude barista", "--card", newCard,
                    "--config", cliConfig.toString());
            assertEquals(SinkCli.REFUSED, bare.status(), bare.err());
            assertTrue(bare.err().contains("--card-code"), bare.err());
            Result issued = cli("vouchers", "issue", "--title", "Sorry", "--reason", "rude barista", "--card", newCode,
                    "--operator", "ana", "--config", cliConfig.toString());
            assertEquals(SinkCli.OK, issued.status(), issued.err());
            String first = issued.out().strip();
            JsonNode card = json.readTree(get(port, "/api/v1/cards/" + newCard, false).body());
            assertEquals(0, card.path("stamps").asInt(), card.toString());
            assertEquals(1, card.path("vouchers").size(), card.toString());
            assertEquals(first, card.path("vouchers").get(0).path("code").asText());
            assertTrue(new String(get(port, "/cards/" + newCard, false).body(), StandardCharsets.UTF_8).contains(first));

            // The API: a forged code and a card of a program this sink does not run are refused (409).
            HttpResponse<String> forged = postVoucher(port, "{\"title\":\"Sorry\",\"reason\":\"x\",\"cardCode\":\""
                    + Vectors.cardText("altered card id") + "\"}");
            assertEquals(409, forged.statusCode(), forged.body());
            assertTrue(forged.body().contains("BAD_SIGNATURE"), forged.body());
            HttpResponse<String> tea = postVoucher(port, "{\"title\":\"Sorry\",\"reason\":\"x\",\"cardCode\":\""
                    + Vectors.signer().sign("tea", "TEACARD234567ABC") + "\"}");
            assertEquals(409, tea.statusCode(), tea.body());
            assertEquals(400, postVoucher(port, "{\"title\":\"Sorry\",\"reason\":\"x\",\"cardId\":\"" + newCode
                    + "\"}").statusCode(), "a scanned code in cardId is a client error");

            // The pool had one code, the first voucher took it: the next one goes without.
            HttpResponse<String> second = postVoucher(port, "{\"title\":\"Sorry again\",\"reason\":\"x\","
                    + "\"cardCode\":\"" + newCode + "\"}");
            assertEquals(201, second.statusCode(), second.body());
            assertTrue(json.readTree(second.body()).path("posCode").isMissingNode()
                    || json.readTree(second.body()).path("posCode").isNull(), second.body());
            assertEquals(0L, sink.metrics().snapshot().get("vouchers.posCodesFree"));

            // The shop loads two new codes into its till and the file; the sink's next check reads them.
            Files.writeString(codes, "TILL-1\nTILL-2\nTILL-3\n", StandardCharsets.UTF_8);
            Files.setLastModifiedTime(codes, java.nio.file.attribute.FileTime.from(clock.instant().minusSeconds(5)));
            clock.advance(Duration.ofSeconds(31));
            await().atMost(Duration.ofSeconds(10)).until(() -> sink.metrics().snapshot().get("vouchers.posCodesFree") == 2L);
            HttpResponse<String> third = postVoucher(port, "{\"title\":\"Cake\",\"reason\":\"x\",\"cardCode\":\""
                    + newCode + "\"}");
            assertEquals("TILL-2", json.readTree(third.body()).path("posCode").asText(), third.body());

            // The card's first stamps arrive from a box: counted from 0 on the row the voucher made.
            BlockingQueue<StampAck> acks = new LinkedBlockingQueue<>();
            MqttClient box = new MqttClient(sink.brokerUrl(), "it-new-card-box", new MemoryPersistence());
            box.connect();
            box.subscribe(topics.acks(DEVICE), 1, (t, m) -> acks.add(codec.decodeAck(m.getPayload())));
            for (int seq = 1; seq <= 2; seq++) {
                box.publish(topics.stamps(DEVICE), codec.encode(new app.sevenstamp.autopilot.protocol.StampEvent(
                        WireCodec.SCHEMA, TestIds.event("new-card-" + seq), DEVICE, seq, newCode, "coffee", newCard, "shop-1",
                        Instant.now(), seq, "boot", true, app.sevenstamp.autopilot.protocol.EventKind.STAMP)), 1, false);
                StampAck ack = acks.poll(10, TimeUnit.SECONDS);
                assertNotNull(ack);
                assertEquals(AckOutcome.ACCEPTED, ack.outcome(), ack.toString());
                assertEquals(seq == 1 ? 1 : 0, ack.card().stamps());
            }
            card = json.readTree(get(port, "/api/v1/cards/" + newCard, false).body());
            assertEquals(1, card.path("rewardsAvailable").asInt(), card.toString());
            assertEquals(4, card.path("vouchers").size(), "three goodwill vouchers and the reward's: " + card);
            assertEquals(1L, sink.store().countCards());
            Ledger ledger = new Ledger(sink.store());
            assertEquals(ledger.projected(), ledger.derive());
            box.disconnect(500);
            box.close();
        }
    }

    private HttpResponse<String> postVoucher(int port, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/vouchers"))
                .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
