package app.sevenstamp.autopilot.gateway.uplink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.config.MqttSettings;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The link on its own, against a real broker (Moquette in-process) that goes away and comes back. Time on
 * the link's side is a hand-driven ticker and the jitter a fixed draw, so the waits it chooses are known
 * exactly; the test reads them off by advancing the ticker and counting the draws (one per failure).
 */
class MqttLinkTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Duration MIN = Duration.ofMillis(200);
    private static final Duration MAX = Duration.ofMillis(1600);

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final AtomicInteger draws = new AtomicInteger();
    private final List<AutoCloseable> open = new ArrayList<>();
    private MqttLink link;

    @AfterEach
    void closeAll() throws Exception {
        if (link != null) {
            link.close(Duration.ofSeconds(5));
        }
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private MqttLink link(String url) {
        MqttSettings settings = new MqttSettings(url, "7stamp/v1", "link-test", null, null, Duration.ofSeconds(30), Duration.ofSeconds(2), 10,
                MIN, MAX, MqttTls.NONE);
        link = new MqttLink(settings, now::get, () -> {
            draws.incrementAndGet();
            return 0.5;
        });
        return link;
    }

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void aBrokerThatComesBackIsReconnectedAfterGrowingJitteredWaitsWithEveryFeatureSubscribedAgain() throws Exception {
        TestBroker broker = TestBroker.start();
        open.add(broker);
        link(broker.url());
        BlockingQueue<String> fleet = new LinkedBlockingQueue<>();
        BlockingQueue<String> vouchers = new LinkedBlockingQueue<>();
        link.subscribe("t/fleet", p -> fleet.add(new String(p, StandardCharsets.UTF_8)));
        link.subscribe("t/vouchers", p -> vouchers.add(new String(p, StandardCharsets.UTF_8)));
        AtomicInteger readies = new AtomicInteger();
        link.onReady(readies::incrementAndGet);
        link.start();
        await().atMost(WAIT).until(link::isConnected);
        assertEquals(1, readies.get());
        sendFromOutside(broker.url(), "before");
        assertEquals("before", fleet.poll(WAIT.toSeconds(), TimeUnit.SECONDS));
        assertEquals("before", vouchers.poll(WAIT.toSeconds(), TimeUnit.SECONDS));
        assertEquals(0, draws.get(), "no wait drawn while connected");

        broker.stop();
        await().atMost(WAIT).until(() -> !link.isConnected() && draws.get() == 1);
        // full jitter with the draw 0.5: min, then min + (cap - min) / 2 as the cap doubles up to max
        long[] waits = {200, 300, 500, 900, 900};
        for (int failure = 1; failure < waits.length; failure++) {
            long wait = waits[failure - 1];
            advance(Duration.ofMillis(wait - 20));
            int before = failure;
            // nothing before the wait is over (the link re-reads the ticker at least every wait)
            await().during(Duration.ofMillis(400)).atMost(Duration.ofSeconds(2)).until(() -> draws.get() == before);
            advance(Duration.ofMillis(20));
            await().atMost(WAIT).until(() -> draws.get() == before + 1); // tried, refused, drew the next wait
        }
        assertFalse(link.isConnected());

        broker.startAgain(); // a restarted broker remembers no session: every subscription must be made again
        advance(Duration.ofMillis(waits[waits.length - 1]));
        await().atMost(WAIT).until(link::isConnected);
        assertEquals(2, readies.get());
        assertEquals(waits.length, draws.get(), "a success draws nothing");
        sendFromOutside(broker.url(), "after");
        assertEquals("after", fleet.poll(WAIT.toSeconds(), TimeUnit.SECONDS));
        assertEquals("after", vouchers.poll(WAIT.toSeconds(), TimeUnit.SECONDS));

        // and the backoff started over: the next loss waits min again, not max
        broker.stop();
        await().atMost(WAIT).until(() -> !link.isConnected() && draws.get() == waits.length + 1);
        advance(MIN);
        await().atMost(WAIT).until(() -> draws.get() == waits.length + 2);
    }

    @Test
    void aHandlerThatThrowsCostsNeitherTheConnectionNorTheOtherFeatures() throws Exception {
        TestBroker broker = TestBroker.start();
        open.add(broker);
        link(broker.url());
        AtomicInteger thrown = new AtomicInteger();
        BlockingQueue<String> vouchers = new LinkedBlockingQueue<>();
        link.subscribe("t/fleet", p -> {
            thrown.incrementAndGet();
            throw new IllegalStateException("a bug in one feature");
        });
        link.subscribe("t/vouchers", p -> vouchers.add(new String(p, StandardCharsets.UTF_8)));
        AtomicInteger readies = new AtomicInteger();
        link.onReady(readies::incrementAndGet);
        link.start();
        await().atMost(WAIT).until(link::isConnected);

        sendFromOutside(broker.url(), "one");
        assertEquals("one", vouchers.poll(WAIT.toSeconds(), TimeUnit.SECONDS));
        sendFromOutside(broker.url(), "two");
        assertEquals("two", vouchers.poll(WAIT.toSeconds(), TimeUnit.SECONDS));
        // thrown back into Paho, the exception would drop the connection and the broker would redeliver the message
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(3))
                .until(() -> link.isConnected() && readies.get() == 1 && thrown.get() == 2);
    }

    @Test
    void publishesBeyondTheBoundAreRefusedAtOnceAndTheRestWaitForTheLinkThread() {
        link(TestBroker.notStarted().url()); // never started: nothing is taken off the queue
        List<CompletableFuture<Boolean>> queued = new ArrayList<>();
        for (int i = 0; i < MqttLink.MAX_QUEUED_PUBLISHES; i++) {
            queued.add(link.publish("t/status", new byte[] {1}, true));
        }
        CompletableFuture<Boolean> refused = link.publish("t/status", new byte[] {2}, true);
        assertTrue(refused.isDone() && !refused.join(), "refused at once, not queued without bound");
        assertEquals(1, link.refusedPublishes());
        assertTrue(queued.stream().noneMatch(CompletableFuture::isDone));
    }

    @Test
    void featuresRegisterBeforeTheStartAndOnlyOncePerTopic() {
        link(TestBroker.notStarted().url());
        link.subscribe("t/a", p -> { });
        IllegalStateException twice = assertThrows(IllegalStateException.class, () -> link.subscribe("t/a", p -> { }));
        assertEquals("subscribe t/a: the topic already has a handler", twice.getMessage());
        link.start();
        IllegalStateException late = assertThrows(IllegalStateException.class, () -> link.subscribe("t/b", p -> { }));
        assertEquals("subscribe t/b: register with the link before it starts", late.getMessage());
    }

    /** A retained-free QoS 1 message on each feature's topic from a client of its own. */
    private static void sendFromOutside(String url, String text) throws Exception {
        MqttClient client = new MqttClient(url, "outside-" + System.nanoTime(), new MemoryPersistence());
        MqttConnectOptions options = new MqttConnectOptions();
        options.setCleanSession(true);
        client.connect(options);
        try {
            byte[] payload = text.getBytes(StandardCharsets.UTF_8);
            client.publish("t/fleet", payload, 1, false);
            client.publish("t/vouchers", payload, 1, false);
        } finally {
            client.disconnect();
            client.close();
        }
    }
}
