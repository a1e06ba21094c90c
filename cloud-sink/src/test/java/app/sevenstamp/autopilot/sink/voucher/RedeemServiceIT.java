package app.sevenstamp.autopilot.sink.voucher;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.RedeemAnswer;
import app.sevenstamp.autopilot.protocol.RedeemOutcome;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.protocol.testing.StallingProxy;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import app.sevenstamp.autopilot.sink.broker.EmbeddedBroker;
import app.sevenstamp.autopilot.sink.ingest.DeviceGate;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/** The redeem thread on a real broker and H2 file: it outlives a failed request, and an Error ends it visibly. */
@Execution(ExecutionMode.CONCURRENT) // mostly waiting out Paho's connection timeouts against a silent broker: runs beside the other ITs (pom.xml, failsafe)
class RedeemServiceIT {
    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();

    @TempDir
    Path dir;

    @Test
    void aFailedRequestLeavesTheWorkerRunningAndAnErrorEndsItSoTheHealthCheckSeesIt() throws Exception {
        // The device gate is the first thing the worker asks about a request: a seam to make one fail.
        DeviceGate gate = device -> switch (device) {
            case "boom-runtime" -> throw new IllegalStateException("simulated failure of one request");
            case "boom-error" -> throw new Error("simulated failure of the JVM");
            default -> true;
        };
        MutableClock clock = new MutableClock(Instant.parse("2026-11-23T08:00:00Z"));
        VoucherMetrics metrics = new VoucherMetrics();
        try (SinkStore store = SinkStore.open(dir.resolve("sink"));
                EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0);
                RedeemService redeem = RedeemService.start(new RedeemService.Settings(broker.url(), "it-redeem", null, null,
                        topics.allRedeems(), MqttTls.NONE), topics, new Redemptions(store, metrics, clock, LedgerHook.NONE), store, gate,
                        metrics, clock)) {
            assertTrue(redeem.awaitSubscribed(Duration.ofSeconds(15)));
            MqttClient box = new MqttClient(broker.url(), "it-redeem-box", new MemoryPersistence());
            box.connect();
            try {
                BlockingQueue<RedeemAnswer> answers = new LinkedBlockingQueue<>();
                box.subscribe(topics.redeemAnswers("counter-1"), 1, (t, m) -> answers.add(codec.decode(m.getPayload(),
                        RedeemAnswer.class)));
                byte[] any = "{}".getBytes(StandardCharsets.UTF_8);
                box.publish(topics.redeem("boom-runtime"), any, 1, false);
                String unknown = VoucherCode.random(new SecureRandom()).text();
                box.publish(topics.redeem("counter-1"), codec.encode(new RedeemRequest(WireCodec.SCHEMA, "r1", "counter-1",
                        RedeemRequest.Action.REDEEM, unknown, "shop-1", clock.instant())), 1, false);
                RedeemAnswer a = answers.poll(10, TimeUnit.SECONDS);
                assertNotNull(a, "the request after the failed one is still answered");
                assertEquals(RedeemOutcome.UNKNOWN, a.outcome());
                assertTrue(redeem.workerAlive());

                box.publish(topics.redeem("boom-error"), any, 1, false);
                await().atMost(Duration.ofSeconds(10)).until(() -> !redeem.workerAlive());
            } finally {
                box.disconnect(500);
                box.close();
            }
        }
    }

    /*
     * A broker (or a proxy, or a hostile host) that accepts the TCP connection and never answers the CONNECT,
     * at the first connect and at a reconnect after a loss (both the session's connect loop): Paho's
     * connection timeout does not bound the CONNACK wait, so either attempt would stay pending for good.
     */
    @Test
    void aBrokerThatAcceptsAndNeverAnswersIsGivenUpOnAtTheFirstConnectAndAfterALoss() throws Exception {
        MutableClock clock = new MutableClock(Instant.parse("2026-11-23T08:00:00Z"));
        VoucherMetrics metrics = new VoucherMetrics();
        try (SinkStore store = SinkStore.open(dir.resolve("sink"));
                EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0);
                StallingProxy proxy = StallingProxy.silentOn(n -> n == 1 || n == 3, broker.url());
                RedeemService redeem = RedeemService.start(new RedeemService.Settings(proxy.url(), "it-redeem", null, null,
                        topics.allRedeems(), MqttTls.NONE), topics, new Redemptions(store, metrics, clock, LedgerHook.NONE), store,
                        device -> true, metrics, clock)) {
            // given up after twice Paho's 10 s connection timeout, then the retry's 0.5 s and 10 s to spare
            assertTrue(redeem.awaitSubscribed(Duration.ofSeconds(2 * 10 + 1 + 10)),
                    "the stalled first connect is given up and retried");
            MqttClient box = new MqttClient(broker.url(), "it-redeem-box", new MemoryPersistence());
            box.connect();
            try {
                BlockingQueue<RedeemAnswer> answers = new LinkedBlockingQueue<>();
                box.subscribe(topics.redeemAnswers("counter-1"), 1, (t, m) -> answers.add(codec.decode(m.getPayload(),
                        RedeemAnswer.class)));
                assertNotNull(ask(box, answers, clock, Duration.ofSeconds(10)), "answered before the loss");
                proxy.dropForwarded(); // the broker goes away; the session reconnects into connection 3, which stays silent
                await().atMost(Duration.ofSeconds(10)).until(() -> proxy.accepted() >= 3);
                // the attempt is given up after twice Paho's connection timeout, then the next one follows after
                // at most 1 s of backoff (0.5 s, doubled once); 15 s to spare
                assertNotNull(ask(box, answers, clock, Duration.ofSeconds(2 * 10 + 1 + 2 + 15)),
                        "answered again after the stalled reconnect was given up");
                assertEquals(4, proxy.accepted());
                assertEquals(0, proxy.silentOpen(), "the stalled connections are closed");
            } finally {
                box.disconnect(500);
                box.close();
            }
        }
    }

    /** Sends a request every 2 s (a request sent while the service is away is lost) until one is answered. */
    private RedeemAnswer ask(MqttClient box, BlockingQueue<RedeemAnswer> answers, MutableClock clock, Duration within)
            throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        int n = 0;
        while (System.nanoTime() - deadline < 0) {
            String unknown = VoucherCode.random(new SecureRandom()).text();
            box.publish(topics.redeem("counter-1"), codec.encode(new RedeemRequest(WireCodec.SCHEMA, "ask-" + n++,
                    "counter-1", RedeemRequest.Action.REDEEM, unknown, "shop-1", clock.instant())), 1, false);
            RedeemAnswer a = answers.poll(2, TimeUnit.SECONDS);
            if (a != null) {
                answers.clear();
                return a;
            }
        }
        return null;
    }
}
