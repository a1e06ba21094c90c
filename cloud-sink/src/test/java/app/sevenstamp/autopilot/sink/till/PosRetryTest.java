package app.sevenstamp.autopilot.sink.till;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.config.HttpSettings;
import app.sevenstamp.autopilot.sink.http.PosApi;
import app.sevenstamp.autopilot.sink.ingest.DeviceGate;
import app.sevenstamp.autopilot.sink.ingest.EventProcessor;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.metrics.SinkMetrics;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.web.Credentials;
import app.sevenstamp.autopilot.sink.web.Router;
import app.sevenstamp.autopilot.sink.web.WebServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, item 5: a retry that arrives while the first request with its Idempotency-Key is still
 * being decided is answered 409, not decided a second time; once the first is answered, the retry
 * gets the stored outcome (DUPLICATE of the same stamp).
 */
class PosRetryTest {
    private static final String KEY = "pos-key-for-shop-1-0123456789abcdef";

    @TempDir
    Path dir;

    @Test
    void aRetryDuringTheFirstRequestIsAConflictAndAfterItADuplicate() throws Exception {
        CountDownLatch firstInside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Topics topics = new Topics("7stamp/v1");
        Clock clock = Clock.systemUTC();
        try (SinkStore store = SinkStore.open(dir.resolve("sink"))) {
            EventProcessor processor = new EventProcessor(topics, Vectors.verifier(),
                    Map.of("coffee", new Program("coffee", "Coffee", 10, StampRules.NONE, RewardPlan.SIMPLE)), store, new SinkMetrics(), clock, new WireCodec(), DeviceGate.ANY, LedgerHook.NONE);
            Router router = new Router(new Credentials("admin-token-0123456789abcdefghij", Map.of("shop-1", KEY)));
            // the till's clock holds the first request where it reads the time to bind its key: the key is in
            // flight by then, and nothing of the stamp is decided yet
            Clock holding = new HoldingClock(clock, firstInside, release);
            new PosApi(new TillDesk(Map.of("shop-1", KEY), processor, null, store, topics, holding)).register(router);
            try (WebServer server = WebServer.start(HttpSettings.on("127.0.0.1", 0), router)) {
                HttpClient http = HttpClient.newHttpClient();
                HttpRequest stamp = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/api/v1/stamps"))
                        .header("Authorization", "Bearer " + KEY).header("Idempotency-Key", "receipt-77")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"cardCode\":\"" + Vectors.cardText("valid") + "\"}")).build();
                CompletableFuture<HttpResponse<String>> first = http.sendAsync(stamp, HttpResponse.BodyHandlers.ofString());
                assertTrue(firstInside.await(10, TimeUnit.SECONDS), "the first request reached the decision");

                HttpResponse<String> during = http.send(stamp, HttpResponse.BodyHandlers.ofString());
                assertEquals(409, during.statusCode(), during.body());
                assertTrue(during.body().contains("still in progress"), during.body());

                release.countDown();
                HttpResponse<String> answered = first.get(10, TimeUnit.SECONDS);
                assertEquals(200, answered.statusCode(), answered.body());
                assertEquals(AckOutcome.ACCEPTED, new WireCodec().decodeAck(answered.body().getBytes()).outcome());
                HttpResponse<String> after = http.send(stamp, HttpResponse.BodyHandlers.ofString());
                assertEquals(200, after.statusCode(), after.body());
                assertEquals(AckOutcome.DUPLICATE, new WireCodec().decodeAck(after.body().getBytes()).outcome());
                assertEquals(1, store.card("ABCDEFGHJKMNPQRS").orElseThrow().balance().stamps(), "one stamp in all");
            }
        }
    }

    /** The system clock, except that its first reading waits (up to 10 s) until the test releases it. */
    private static final class HoldingClock extends Clock {
        private final Clock clock;
        private final CountDownLatch inside;
        private final CountDownLatch release;
        private final java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);

        HoldingClock(Clock clock, CountDownLatch inside, CountDownLatch release) {
            this.clock = clock;
            this.inside = inside;
            this.release = release;
        }

        @Override
        public Instant instant() {
            if (first.getAndSet(false)) {
                inside.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return clock.instant();
        }

        @Override
        public java.time.ZoneId getZone() {
            return clock.getZone();
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }
}
