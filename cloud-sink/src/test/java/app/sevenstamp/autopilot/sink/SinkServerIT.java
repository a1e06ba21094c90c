package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.protocol.support.NoDelaySockets;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Logger;

/**
 * The sink in-process with its embedded broker on a free port, driven by a plain Paho client the
 * way a gateway would, and read back over HTTP.
 */
class SinkServerIT {
    private static final String DEVICE = "counter-1";
    private static final String CARD = "ABCDEFGHJKMNPQRS";
    private static final String NAME = "Coffee <&> \"card\"";
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();
    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private final BlockingQueue<StampAck> acks = new LinkedBlockingQueue<>();

    @TempDir
    Path dir;
    private SinkServer sink;
    private MqttClient gateway;

    @BeforeEach
    void start() throws Exception {
        Path storeDir = dir.resolve("store");
        Files.createDirectories(storeDir);
        // The sink signs with the vector key, so the golden event's card code verifies.
        Files.writeString(storeDir.resolve("signing.key"),
                "keyId=k1\nseed=" + Vectors.json("card-codes.json").get("seed").asText() + "\n", StandardCharsets.UTF_8);
        sink = SinkServer.start(config());
        gateway = connect(sink.brokerUrl());
    }

    private SinkConfig config() {
        return TestSink.in(dir).program("coffee", 10).set("program.coffee.name", NAME).config();
    }

    private MqttClient connect(String url) throws Exception {
        MqttClient client = new MqttClient(url, "it-gateway-" + System.nanoTime(), new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(true);
        o.setMaxInflight(1000); // Paho's in-flight count lags its completed tokens; 10 trips up a tight loop
        o.setSocketFactory(NoDelaySockets.forUrl(url));
        client.connect(o);
        client.subscribe(topics.acks(DEVICE), 1, (topic, message) -> acks.add(codec.decodeAck(message.getPayload())));
        return client;
    }

    @AfterEach
    void stop() throws Exception {
        if (gateway != null && gateway.isConnected()) {
            gateway.disconnect(500);
        }
        if (gateway != null) {
            gateway.close();
        }
        if (sink != null) {
            sink.close();
        }
    }

    private void publish(String device, byte[] payload) throws Exception {
        gateway.publish(topics.stamps(device), payload, 1, false);
    }

    private StampAck nextAck() throws InterruptedException {
        StampAck ack = acks.poll(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        assertNotNull(ack, "no acknowledgement within " + WAIT);
        return ack;
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sink.httpPort() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] event(StampEvent e, WireCodec codec) {
        return codec.encode(e);
    }

    private StampEvent stamp(String code, long seq) {
        String[] parts = code.split("\\.");
        return new StampEvent(WireCodec.SCHEMA, EventIds.next(System.currentTimeMillis()), DEVICE, seq, code, parts[2],
                parts[3], "shop-12", Instant.now(), System.nanoTime(), "boot-it", true, EventKind.STAMP);
    }

    /** A first start whose signing key lives elsewhere ({@code keys.file}): the start makes the store's directory. */
    @Test
    void aFirstStartMakesTheStoreDirectoryWithTheKeyElsewhere() throws Exception {
        Path config = Files.createDirectories(dir.resolve("fresh"));
        Path storeDir = config.resolve("not-made-yet").resolve("store");
        try (SinkServer fresh = TestSink.in(config).program("coffee", 10).set("store.dir", storeDir.toString())
                .set("keys.file", config.resolve("keys").resolve("signing.key").toString()).start()) {
            assertTrue(fresh.awaitIngestReady(WAIT));
            assertTrue(Files.isRegularFile(storeDir.resolve("sink.mv.db")), "no store in " + storeDir);
        }
    }

    @Test
    void theGoldenEventIsAcceptedOnceAndItsRedeliveryIsAnsweredDuplicate() throws Exception {
        byte[] golden = Vectors.bytes("stamp-event.json");
        publish(DEVICE, golden);
        StampAck first = nextAck();
        assertEquals(AckOutcome.ACCEPTED, first.outcome());
        assertEquals("019ab0f2-5c3e-7a41-9c1d-2f6b8e4a7d10", first.eventId());
        assertEquals(1, first.card().stamps());
        assertFalse(first.rewardEarned());

        publish(DEVICE, golden);
        StampAck second = nextAck();
        assertEquals(AckOutcome.DUPLICATE, second.outcome());
        assertEquals(first.card(), second.card(), "a duplicate reports the card as it is, unchanged");

        HttpResponse<String> card = get("/api/v1/cards/" + CARD);
        assertEquals(200, card.statusCode());
        assertTrue(card.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
        JsonNode body = json.readTree(card.body());
        assertEquals(CARD, body.get("cardId").asText());
        assertEquals("coffee", body.get("programId").asText());
        assertEquals(NAME, body.get("programName").asText());
        assertEquals(1, body.get("stamps").asInt());
        assertEquals(10, body.get("stampsRequired").asInt());
        assertEquals(0, body.get("rewardsAvailable").asInt());
        assertEquals("2026-11-23T07:02:11.345Z", body.get("lastStampAt").asText());

        HttpResponse<String> page = get("/cards/" + CARD);
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertTrue(page.body().contains("Coffee &lt;&amp;&gt; &quot;card&quot;"), page.body());
        assertFalse(page.body().contains(NAME), "the program name is escaped");
        assertTrue(page.body().contains("1 of 10 stamps"), page.body());

        assertEquals(1, sink.metrics().accepted());
        assertEquals(1, sink.metrics().duplicates());
    }

    @Test
    void theHttpApiAnswersUnknownAndInvalidCardsAndHealth() throws Exception {
        HttpResponse<String> unknown = get("/api/v1/cards/ZZZZ2222YYYY3333");
        assertEquals(404, unknown.statusCode());
        assertEquals("card ZZZZ2222YYYY3333 has no stamps yet", json.readTree(unknown.body()).get("detail").asText());

        HttpResponse<String> invalid = get("/api/v1/cards/not-a-card");
        assertEquals(400, invalid.statusCode());
        assertTrue(json.readTree(invalid.body()).get("detail").asText().startsWith("'not-a-card' is not a card id"));

        assertEquals(404, get("/cards/ZZZZ2222YYYY3333").statusCode());
        assertEquals(400, get("/cards/%3Cscript%3E").statusCode());
        assertFalse(get("/cards/%3Cscript%3E").body().contains("<script>"));

        HttpResponse<String> health = get("/healthz");
        assertEquals(200, health.statusCode());
        assertEquals("ok", health.body().trim());

        assertEquals(404, get("/nothing-here").statusCode());
        HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sink.httpPort()
                + "/api/v1/cards/" + CARD)).POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(405, post.statusCode());

        JsonNode metrics = json.readTree(get("/api/v1/metrics").body());
        assertEquals(0, metrics.get("accepted").asInt());
    }

    @Test
    void malformedPayloadsAreCountedAndTheSinkKeepsWorking() throws Exception {
        List<Vectors.MalformedCase> cases = Vectors.malformedCases();
        for (Vectors.MalformedCase c : cases) {
            publish(DEVICE, c.payload());
        }
        publish("counter-2", Vectors.bytes("stamp-event.json")); // names counter-1: a device in another's name
        StampEvent valid = stamp(Vectors.cardText("valid"), 1);
        publish(DEVICE, event(valid, codec));

        StampAck ack = nextAck();
        assertEquals(valid.eventId(), ack.eventId(), "malformed payloads get no answer; the valid one after them does");
        assertEquals(AckOutcome.ACCEPTED, ack.outcome());
        await().atMost(WAIT).until(() -> sink.metrics().malformed() == cases.size() + 1);
        assertEquals(1, sink.metrics().malformed(SinkMetrics.TOPIC_MISMATCH));
        assertEquals(3, sink.metrics().malformed("json"));
        assertEquals(1, sink.metrics().malformed("size"));
        assertNull(acks.poll(), "no other answer was sent");
        assertTrue(sink.ingestConnected());
    }

    @Test
    void rejectedEventsAreAnsweredWithTheirReason() throws Exception {
        publish(DEVICE, event(stamp(Vectors.cardText("forged: signed by another key under the trusted key id"), 1), codec));
        StampAck forged = nextAck();
        assertEquals(AckOutcome.REJECTED, forged.outcome());
        assertEquals(RejectReason.BAD_SIGNATURE, forged.reason());

        publish(DEVICE, event(stamp(Vectors.cardText("valid signature, program the gateway does not run"), 2), codec));
        StampAck tea = nextAck();
        assertEquals(RejectReason.UNKNOWN_PROGRAM, tea.reason());
        assertNull(tea.card());
        assertEquals(2, sink.metrics().rejected());
        assertEquals(404, get("/api/v1/cards/" + CARD).statusCode(), "rejects create no card");
    }

    @Test
    void theTenthStampEarnsARewardAndStartsANewRound() throws Exception {
        String code = Vectors.cardText("valid");
        StampAck last = null;
        for (int i = 1; i <= 11; i++) {
            publish(DEVICE, event(stamp(code, i), codec));
            last = nextAck();
            assertEquals(i == 10, last.rewardEarned(), "stamp " + i);
        }
        assertEquals(1, last.card().stamps());
        assertEquals(1, last.card().rewardsAvailable());
        JsonNode body = json.readTree(get("/api/v1/cards/" + CARD).body());
        assertEquals(1, body.get("stamps").asInt());
        assertEquals(1, body.get("rewardsAvailable").asInt());
    }

    @Test
    void cardsSurviveARestartAndARedeliveryAfterItIsStillADuplicate() throws Exception {
        byte[] golden = Vectors.bytes("stamp-event.json");
        publish(DEVICE, golden);
        assertEquals(AckOutcome.ACCEPTED, nextAck().outcome());
        gateway.disconnect(500);
        gateway.close();
        sink.close();

        sink = SinkServer.start(config());
        gateway = connect(sink.brokerUrl());
        publish(DEVICE, golden);
        StampAck again = nextAck();
        assertEquals(AckOutcome.DUPLICATE, again.outcome());
        assertEquals(1, again.card().stamps());
        assertEquals(1, json.readTree(get("/api/v1/cards/" + CARD).body()).get("stamps").asInt());
    }

    @Test
    void aBurstWithEveryEventSentTwiceCountsEachStampOnce() throws Exception {
        CardSigner signer = Vectors.signer();
        SecureRandom random = new SecureRandom();
        List<String> codes = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            codes.add(signer.sign("coffee", CardSigner.newCardId(random)));
        }
        int events = 200;
        List<byte[]> payloads = new ArrayList<>();
        for (int i = 0; i < events; i++) {
            payloads.add(event(stamp(codes.get(i % codes.size()), i + 1), codec));
        }
        long t0 = System.nanoTime();
        for (byte[] p : payloads) {
            publish(DEVICE, p);
            publish(DEVICE, p);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> acks.size() >= 2 * events);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        Logger.info("burst: {} events, each sent twice, answered in {} ms ({} answers/s)", events, ms,
                ms == 0 ? "-" : 2L * events * 1000 / ms);

        Map<AckOutcome, Integer> outcomes = new HashMap<>();
        acks.forEach(a -> outcomes.merge(a.outcome(), 1, Integer::sum));
        assertEquals(Map.of(AckOutcome.ACCEPTED, events, AckOutcome.DUPLICATE, events), outcomes);
        assertEquals(events, sink.metrics().accepted());
        int total = 0;
        for (String code : codes) {
            JsonNode card = json.readTree(get("/api/v1/cards/" + code.split("\\.")[3]).body());
            total += card.get("stamps").asInt() + 10 * card.get("rewardsAvailable").asInt();
        }
        assertEquals(events, total, "every stamp counted exactly once across all cards");
    }
}
