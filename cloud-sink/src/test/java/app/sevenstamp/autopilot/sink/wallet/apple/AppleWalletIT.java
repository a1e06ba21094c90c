package app.sevenstamp.autopilot.sink.wallet.apple;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.cards.SigningKey;
import app.sevenstamp.autopilot.sink.testing.FakeApns;
import app.sevenstamp.autopilot.sink.testing.Pkpass;
import app.sevenstamp.autopilot.sink.testing.TestPki;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Apple Wallet against a whole sink: the download link, the five PassKit routes as a phone calls them,
 * and APNs pushes (to a local HTTP/2 TLS server that requires the pass certificate) after stamps made
 * through the POS route, which runs the same EventProcessor as the boxes.
 */
class AppleWalletIT {
    private static final String POS_KEY = "pos-key-for-shop-1-0123456789abcdef";
    private static final String DEVICE = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    private static final String PUSH = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private final HttpClient http = HttpClient.newHttpClient();
    private final AtomicInteger receipt = new AtomicInteger();
    private int port;

    private TestSink config(FakeApns apns, TestPki pki) {
        return TestSink.in(dir).program("coffee", 10).set("program.coffee.name", "Coffee card")
                .set("program.coffee.passBarcode", "pdf417").set("pos.shop-1.apiKey", POS_KEY)
                .set("wallet.apple.passTypeId", TestPki.PASS_TYPE).set("wallet.apple.teamId", TestPki.TEAM)
                .set("wallet.apple.cert", pki.file("pass.pem").toString()).set("wallet.apple.key", pki.file("pass.key").toString())
                .set("wallet.apple.wwdr", pki.file("wwdr.pem").toString())
                .set("wallet.apple.webServiceUrl", "https://cards.example.com").set("wallet.apple.apnsUrl", apns.url())
                .set("wallet.apple.apnsCa", pki.file("ca.pem").toString());
    }

    private HttpResponse<byte[]> call(String method, String path, String auth, String body, Map<String, String> headers)
            throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (auth != null) {
            b.header("Authorization", auth);
        }
        if (body != null && body.length() > 4096) {
            // as a careful client sends a large body: the 413 comes before the body, not while it is being sent
            b.expectContinue(true);
        }
        headers.forEach(b::header);
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    private HttpResponse<byte[]> call(String method, String path, String auth, String body) throws Exception {
        return call(method, path, auth, body, Map.of());
    }

    private void stamp(String code) throws Exception {
        HttpResponse<byte[]> r = call("POST", "/api/v1/stamps", "Bearer " + POS_KEY, "{\"cardCode\":\"" + code + "\"}",
                Map.of("Idempotency-Key", "receipt-" + receipt.incrementAndGet()));
        assertEquals(200, r.statusCode(), new String(r.body(), StandardCharsets.UTF_8));
    }

    private static JsonNode passJson(byte[] pkpass) throws Exception {
        return Pkpass.passJson(pkpass);
    }

    private static String regPath(String device, String serial) {
        return "/passkit/v1/devices/" + device + "/registrations/" + TestPki.PASS_TYPE + "/" + serial;
    }

    @Test
    void aStampReachesEveryRegisteredPhoneAndThePhoneFetchesTheNewPass() throws Exception {
        TestPki pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
        try (FakeApns apns = new FakeApns(pki); SinkServer sink = config(apns, pki).start()) {
            port = sink.httpPort();
            SigningKey key = SigningKey.loadOrCreate(dir.resolve("store/signing.key"), "k1");
            String cardId = CardSigner.newCardId(new SecureRandom());
            String code = key.signer().sign("coffee", cardId);
            String link = AppleWallet.downloadPath(key, "coffee", cardId);

            // the download: only with the link's token
            assertEquals(401, call("GET", "/wallet/apple/" + cardId + ".pkpass", null, null).statusCode());
            assertEquals(401, call("GET", link.replace("&t=", "&t=x"), null, null).statusCode());
            String other = CardSigner.newCardId(new SecureRandom());
            assertEquals(401, call("GET", link.replace(cardId, other), null, null).statusCode(), "a link is for its card only");
            HttpResponse<byte[]> download = call("GET", link, null, null);
            assertEquals(200, download.statusCode());
            assertEquals(PassKitRoutes.PKPASS, download.headers().firstValue("Content-Type").orElseThrow());
            JsonNode pass = passJson(download.body());
            assertEquals(cardId, pass.get("serialNumber").asText());
            assertEquals(code, pass.get("barcodes").get(0).get("message").asText(), "the barcode is the card code");
            assertEquals("PKBarcodeFormatPDF417", pass.get("barcodes").get(0).get("format").asText());
            assertEquals("0 of 10", pass.get("storeCard").get("headerFields").get(0).get("value").asText());
            String token = pass.get("authenticationToken").asText();
            assertTrue(token.length() >= 16);
            String auth = "ApplePass " + token;

            // register as Wallet does; bad input first
            String pushBody = "{\"pushToken\":\"" + PUSH + "\"}";
            assertEquals(401, call("POST", regPath(DEVICE, cardId), "ApplePass wrong-token-0123456789", pushBody).statusCode());
            assertEquals(401, call("POST", regPath(DEVICE, cardId), null, pushBody).statusCode());
            assertEquals(404, call("POST", regPath(DEVICE, other), auth, pushBody).statusCode(), "unknown serial");
            assertEquals(404, call("POST", "/passkit/v1/devices/" + DEVICE + "/registrations/pass.other/" + cardId, auth,
                    pushBody).statusCode());
            assertEquals(413, call("POST", regPath(DEVICE, cardId), auth, "{\"pushToken\":\"" + "a".repeat(5000) + "\"}").statusCode());
            assertEquals(201, call("POST", regPath(DEVICE, cardId), auth, pushBody).statusCode());
            assertEquals(200, call("POST", regPath(DEVICE, cardId), auth, pushBody).statusCode(), "registered already");

            HttpResponse<byte[]> list = call("GET", "/passkit/v1/devices/" + DEVICE + "/registrations/" + TestPki.PASS_TYPE, null, null);
            assertEquals(200, list.statusCode());
            JsonNode changed = JSON.readTree(list.body());
            assertEquals(cardId, changed.get("serialNumbers").get(0).asText());
            assertEquals(204, call("GET", "/passkit/v1/devices/ffff/registrations/" + TestPki.PASS_TYPE, null, null).statusCode());

            HttpResponse<byte[]> latest = call("GET", "/passkit/v1/passes/" + TestPki.PASS_TYPE + "/" + cardId, auth, null);
            assertEquals(200, latest.statusCode());
            String lastModified = latest.headers().firstValue("Last-Modified").orElseThrow();
            assertEquals(token, passJson(latest.body()).get("authenticationToken").asText(), "the copy keeps its token");
            HttpResponse<byte[]> same = call("GET", "/passkit/v1/passes/" + TestPki.PASS_TYPE + "/" + cardId, auth, null,
                    Map.of("If-Modified-Since", lastModified));
            assertEquals(304, same.statusCode());
            assertEquals(0, same.body().length);
            assertEquals(401, call("GET", "/passkit/v1/passes/" + TestPki.PASS_TYPE + "/" + cardId, "ApplePass 0123456789abcdefXYZ",
                    null).statusCode());
            assertEquals(0, apns.pushes.size(), "nothing changed yet");

            // a stamp: one push, HTTP/2, with the pass certificate, topic = pass type, empty payload
            stamp(code);
            await().atMost(Duration.ofSeconds(20)).until(() -> apns.pushes.size() >= 1);
            FakeApns.Push push = apns.pushes.get(0);
            assertEquals("/3/device/" + PUSH, push.path());
            assertEquals("HTTP/2.0", push.protocol());
            assertEquals(TestPki.PASS_TYPE, push.topic());
            assertEquals("{}", push.body());
            assertTrue(push.clientCertificate().contains("Pass Type ID"), push.clientCertificate());

            // the phone asks what changed, then fetches it: the new pass, then 304
            JsonNode since = JSON.readTree(call("GET", "/passkit/v1/devices/" + DEVICE + "/registrations/" + TestPki.PASS_TYPE
                    + "?passesUpdatedSince=" + changed.get("lastUpdated").asText(), null, null).body());
            assertEquals(cardId, since.get("serialNumbers").get(0).asText());
            HttpResponse<byte[]> updated = call("GET", "/passkit/v1/passes/" + TestPki.PASS_TYPE + "/" + cardId, auth, null,
                    Map.of("If-Modified-Since", lastModified));
            assertEquals(200, updated.statusCode(), "the pass changed since that Last-Modified");
            assertEquals("1 of 10", passJson(updated.body()).get("storeCard").get("headerFields").get(0).get("value").asText());
            String newer = updated.headers().firstValue("Last-Modified").orElseThrow();
            assertFalse(newer.equals(lastModified));
            assertEquals(304, call("GET", "/passkit/v1/passes/" + TestPki.PASS_TYPE + "/" + cardId, auth, null,
                    Map.of("If-Modified-Since", newer)).statusCode());

            // a burst of ten stamps: a few pushes, not ten
            int before = apns.pushes.size();
            for (int i = 0; i < 10; i++) {
                stamp(code);
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> sink.metrics().snapshot().get("wallet.pending") == 0
                    && apns.pushes.size() > before);
            Thread.sleep(2_500); // nothing more may come: the coalescing window passed
            int burst = apns.pushes.size() - before;
            assertTrue(burst >= 1 && burst <= 3, "ten stamps in a burst caused " + burst + " pushes");
            Map<String, Long> metrics = sink.metrics().snapshot();
            assertTrue(metrics.get("wallet.sent") >= 2, metrics.toString());
            assertEquals(0L, metrics.get("wallet.pending"));

            // the burst filled the card: a reward voucher on the pass's back; redeeming it at the till is a change too
            JsonNode cardJson = JSON.readTree(call("GET", "/api/v1/cards/" + cardId, null, null).body());
            String voucher = cardJson.get("vouchers").get(0).get("code").asText();
            JsonNode full = passJson(call("GET", "/passkit/v1/passes/" + TestPki.PASS_TYPE + "/" + cardId, auth, null).body());
            assertTrue(full.get("storeCard").get("backFields").toString().contains(voucher), full.toString());
            int beforeRedeem = apns.pushes.size();
            HttpResponse<byte[]> redeemed = call("POST", "/api/v1/vouchers/" + voucher + "/redeem", "Bearer " + POS_KEY, null,
                    Map.of("Idempotency-Key", "till-receipt-9"));
            assertEquals(200, redeemed.statusCode(), new String(redeemed.body(), StandardCharsets.UTF_8));
            await().atMost(Duration.ofSeconds(20)).until(() -> apns.pushes.size() > beforeRedeem);
            JsonNode after = passJson(call("GET", "/passkit/v1/passes/" + TestPki.PASS_TYPE + "/" + cardId, auth, null).body());
            assertFalse(after.get("storeCard").get("backFields").toString().contains(voucher), "a redeemed voucher is off the pass");

            // a second phone that APNs no longer knows (410) is dropped after its first push
            String gone = "ab".repeat(32);
            assertEquals(201, call("POST", regPath("device-two", cardId), auth, "{\"pushToken\":\"" + gone + "\"}").statusCode());
            apns.answers.put(gone, 410);
            stamp(code);
            await().atMost(Duration.ofSeconds(20)).until(() -> apns.to(gone).size() == 1);
            await().atMost(Duration.ofSeconds(20)).until(() -> call("GET", "/passkit/v1/devices/device-two/registrations/"
                    + TestPki.PASS_TYPE, null, null).statusCode() == 204);
            int toFirst = apns.to(PUSH).size();
            stamp(code);
            await().atMost(Duration.ofSeconds(20)).until(() -> apns.to(PUSH).size() > toFirst);
            assertEquals(1, apns.to(gone).size(), "no push to a dropped device");

            // unregister: no more pushes for that device
            assertEquals(200, call("DELETE", regPath(DEVICE, cardId), auth, null).statusCode());
            assertEquals(204, call("GET", "/passkit/v1/devices/" + DEVICE + "/registrations/" + TestPki.PASS_TYPE, null, null)
                    .statusCode());

            // the log route, and its bound
            assertEquals(200, call("POST", "/passkit/v1/log", null, "{\"logs\":[\"a line from Wallet\"]}").statusCode());
            assertEquals(413, call("POST", "/passkit/v1/log", null, "{\"logs\":[\"" + "x".repeat(70_000) + "\"]}").statusCode());
        }
    }

    /** A box that was offline sends its backlog over MQTT at once: the batch ingest writes the pending update too. */
    @Test
    void aBoxBacklogOverMqttIsOnePushAndTheNewPass() throws Exception {
        TestPki pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
        try (FakeApns apns = new FakeApns(pki); SinkServer sink = config(apns, pki).start()) {
            port = sink.httpPort();
            SigningKey key = SigningKey.loadOrCreate(dir.resolve("store/signing.key"), "k1");
            String cardId = CardSigner.newCardId(new SecureRandom());
            String code = key.signer().sign("coffee", cardId);
            String token = passJson(call("GET", AppleWallet.downloadPath(key, "coffee", cardId), null, null).body())
                    .get("authenticationToken").asText();
            assertEquals(201, call("POST", regPath(DEVICE, cardId), "ApplePass " + token, "{\"pushToken\":\"" + PUSH + "\"}")
                    .statusCode());
            Topics topics = new Topics(Topics.DEFAULT_PREFIX);
            WireCodec codec = new WireCodec();
            java.util.concurrent.BlockingQueue<byte[]> acks = new java.util.concurrent.LinkedBlockingQueue<>();
            MqttClient box = new MqttClient(sink.brokerUrl(), "box-" + System.nanoTime(), new MemoryPersistence());
            try {
                MqttConnectOptions o = new MqttConnectOptions();
                o.setCleanSession(true);
                o.setMaxInflight(100);
                box.connect(o);
                box.subscribe(topics.acks("counter-1"), 1, (t, m) -> acks.add(m.getPayload()));
                Instant offline = Instant.now().minus(Duration.ofHours(2));
                for (int seq = 1; seq <= 5; seq++) {
                    StampEvent e = new StampEvent(WireCodec.SCHEMA, EventIds.next(System.currentTimeMillis()), "counter-1", seq,
                            code, "coffee", cardId, "shop-12", offline.plusSeconds(seq * 60L), System.nanoTime(), "boot-it", true,
                            EventKind.STAMP);
                    box.publish(topics.stamps("counter-1"), codec.encode(e), 1, false);
                }
                for (int i = 0; i < 5; i++) {
                    assertNotNull(acks.poll(20, java.util.concurrent.TimeUnit.SECONDS), "ack " + (i + 1));
                }
            } finally {
                box.disconnect(500);
                box.close();
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> apns.to(PUSH).size() >= 1
                    && sink.metrics().snapshot().get("wallet.pending") == 0);
            assertTrue(apns.to(PUSH).size() <= 2, "five late stamps caused " + apns.to(PUSH).size() + " pushes");
            JsonNode pass = passJson(call("GET", "/passkit/v1/passes/" + TestPki.PASS_TYPE + "/" + cardId, "ApplePass " + token,
                    null).body());
            assertEquals("5 of 10", pass.get("storeCard").get("headerFields").get(0).get("value").asText());
        }
    }

    @Test
    void anApnsOutageIsRetriedUntilThePushGetsThrough() throws Exception {
        TestPki pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
        try (FakeApns apns = new FakeApns(pki); SinkServer sink = config(apns, pki).start()) {
            port = sink.httpPort();
            SigningKey key = SigningKey.loadOrCreate(dir.resolve("store/signing.key"), "k1");
            String cardId = CardSigner.newCardId(new SecureRandom());
            String token = passJson(call("GET", AppleWallet.downloadPath(key, "coffee", cardId), null, null).body())
                    .get("authenticationToken").asText();
            assertEquals(201, call("POST", regPath(DEVICE, cardId), "ApplePass " + token, "{\"pushToken\":\"" + PUSH + "\"}")
                    .statusCode());
            apns.answerAll = 500;
            stamp(key.signer().sign("coffee", cardId));
            await().atMost(Duration.ofSeconds(20)).until(() -> sink.metrics().snapshot().get("wallet.failed") >= 1);
            assertEquals(1L, sink.metrics().snapshot().get("wallet.pending"), "kept for the next try");
            apns.answerAll = 200;
            await().atMost(Duration.ofSeconds(30)).until(() -> sink.metrics().snapshot().get("wallet.sent") == 1
                    && sink.metrics().snapshot().get("wallet.pending") == 0);
            assertTrue(apns.to(PUSH).size() >= 2, "the failed push and the one that got through");
            assertEquals(1, call("GET", "/passkit/v1/devices/" + DEVICE + "/registrations/" + TestPki.PASS_TYPE, null, null)
                    .statusCode() / 200, "a 500 is no reason to drop the device");
        }
    }

    @Test
    void aRegistrationFloodIsRefused() throws Exception {
        TestPki pki = new TestPki(Files.createDirectories(dir.resolve("pki")));
        try (FakeApns apns = new FakeApns(pki); SinkServer sink = config(apns, pki).start()) {
            port = sink.httpPort();
            SigningKey key = SigningKey.loadOrCreate(dir.resolve("store/signing.key"), "k1");
            String cardId = CardSigner.newCardId(new SecureRandom());
            String auth = "ApplePass " + passJson(call("GET", AppleWallet.downloadPath(key, "coffee", cardId), null, null).body())
                    .get("authenticationToken").asText();
            // six first downloads of one new card at once: six passes (two saw no pass row and both inserted it)
            String fresh = CardSigner.newCardId(new SecureRandom());
            java.util.List<java.util.concurrent.CompletableFuture<HttpResponse<byte[]>>> all = new java.util.ArrayList<>();
            for (int i = 0; i < 6; i++) {
                all.add(http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                        + AppleWallet.downloadPath(key, "coffee", fresh))).build(), HttpResponse.BodyHandlers.ofByteArray()));
            }
            for (java.util.concurrent.CompletableFuture<HttpResponse<byte[]>> f : all) {
                assertEquals(200, f.get().statusCode(), new String(f.get().body(), StandardCharsets.UTF_8));
            }
            assertEquals(400, call("GET", "/passkit/v1/devices/" + DEVICE + "/registrations/" + TestPki.PASS_TYPE
                    + "?passesUpdatedSince=9223372036854775807", null, null).statusCode(), "a tag no one gave");
            int refused = 0;
            for (int i = 0; i < 40; i++) {
                int s = call("POST", regPath(DEVICE, cardId), auth, "{\"pushToken\":\"" + PUSH + "\"}").statusCode();
                refused += s == 429 ? 1 : 0;
            }
            assertEquals(10, refused, "30 registrations a minute per device library id");
            int byClient = 0;
            for (int i = 0; i < 150; i++) {
                HttpResponse<byte[]> r = call("POST", "/passkit/v1/log", null, "{\"logs\":[]}");
                if (r.statusCode() == 429) {
                    byClient++;
                    assertEquals("60", r.headers().firstValue("Retry-After").orElseThrow());
                }
            }
            assertTrue(byClient >= 30, "120 requests a minute per client address, " + byClient + " refused");
            assertNotNull(sink.metrics());
        }
    }
}
