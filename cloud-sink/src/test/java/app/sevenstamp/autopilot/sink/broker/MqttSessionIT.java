package app.sevenstamp.autopilot.sink.broker;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.Backoff;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.testing.FreePorts;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;
import io.moquette.broker.security.IAuthenticator;
import io.moquette.broker.security.IAuthorizatorPolicy;
import io.moquette.broker.subscriptions.Topic;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * The one MQTT session of the sink's features against the real embedded broker: no broker at the start, a
 * broker that comes, goes and comes back empty (no session, no subscription). The waits between attempts are
 * the injected backoff's, jittered and growing; every subscription is back after the restart and messages flow.
 * Only lower bounds on time are asserted (a slow machine makes gaps longer, never shorter).
 */
@Execution(ExecutionMode.CONCURRENT) // mostly waiting out reconnect backoffs (only lower bounds on time are asserted): runs beside the other ITs (pom.xml, failsafe)
class MqttSessionIT {
    private static final Duration MIN = Duration.ofMillis(200);
    private static final Duration MAX = Duration.ofMillis(1_600);
    private static final List<String> FILTERS = List.of("it/a/+", "it/b/#", "it/c");
    private static final List<String> TOPICS = List.of("it/a/one", "it/b/two/three", "it/c");
    private static final String THREAD = "it-session-connect";

    /** Each draw of the backoff's random source: when, and what it gave. */
    private record Draw(long nanos, double value) {
    }

    @Test
    void reconnectsWithGrowingJitteredDelaysAndEverySubscriptionIsBackAfterABrokerRestart() throws Exception {
        int port = FreePorts.pick();
        String url = "tcp://127.0.0.1:" + port;
        long seed = new Random().nextLong();
        Random random = new Random(seed);
        List<Draw> draws = new CopyOnWriteArrayList<>();
        // in [0.5, 1): each wait is then longer than the one before, until MAX
        DoubleSupplier source = () -> {
            double v = 0.5 + 0.5 * random.nextDouble();
            draws.add(new Draw(System.nanoTime(), v));
            return v;
        };
        BlockingQueue<String> arrived = new LinkedBlockingQueue<>();
        List<Integer> drawsAtReady = new CopyOnWriteArrayList<>();
        AtomicInteger lost = new AtomicInteger();
        MqttSession.Builder builder = MqttSession.builder("it", THREAD)
                .client(url, "it-session", MqttSession.options(url, MqttTls.NONE, null, null, true))
                .backoff(new Backoff(MIN, MAX, source))
                .handler(new MqttSession.Handler() {
                    @Override
                    public void messageArrived(String topic, MqttMessage message) {
                        arrived.add(topic + "=" + new String(message.getPayload(), StandardCharsets.UTF_8));
                    }

                    @Override
                    public void ready(long connection, boolean sessionKept) {
                        drawsAtReady.add(draws.size());
                    }

                    @Override
                    public void lost(Throwable cause) {
                        lost.incrementAndGet();
                    }
                });
        FILTERS.forEach(f -> builder.subscribe(f, 1));
        String context = "seed " + seed;
        try (MqttSession session = builder.build().start()) {
            // no broker: the first connect is retried, with the backoff's waits
            await().atMost(Duration.ofSeconds(20)).until(() -> draws.size() >= 5);
            assertFalse(session.awaitReady(Duration.ZERO), "no broker yet");
            assertEquals(MqttSession.State.CONNECTING, session.state());
            try (EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", port)) {
                assertTrue(session.awaitReady(Duration.ofSeconds(10)), context);
                assertFlows(url, TOPICS, arrived, "first");
                assertEquals(MqttSession.State.READY, session.state());
            }
            List<Draw> beforeFirst = List.copyOf(draws.subList(0, drawsAtReady.get(0)));
            assertWaitedOut(beforeFirst, context + ", first connect");

            // the broker goes away: the session is lost and keeps trying, again with growing waits
            await().atMost(Duration.ofSeconds(10)).until(() -> lost.get() == 1);
            int fromLoss = drawsAtReady.get(0);
            await().atMost(Duration.ofSeconds(20)).until(() -> draws.size() - fromLoss >= 5);
            assertEquals(MqttSession.State.CONNECTING, session.state());
            assertFalse(session.isReady());

            // a new, empty broker on the same port: only subscribing again brings the messages back
            try (EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", port)) {
                await().atMost(Duration.ofSeconds(10)).until(session::isReady);
                assertWaitedOut(List.copyOf(draws.subList(fromLoss, drawsAtReady.get(1))), context + ", after the loss");
                assertFlows(url, TOPICS, arrived, "second");
                MqttSession.Status status = session.status();
                assertEquals(2, status.connects(), status.toString());
                assertEquals(1, status.lost(), status.toString());
                assertTrue(status.failedAttempts() >= 8, status.toString());

                // the broker ends the session while it stays up (a revocation, a takeover): back, subscribed again
                broker.disconnect("it-session");
                await().atMost(Duration.ofSeconds(10)).until(() -> lost.get() == 2);
                await().atMost(Duration.ofSeconds(10)).until(session::isReady);
                assertFlows(url, TOPICS, arrived, "third");
                assertEquals(3, session.status().connects(), session.status().toString());
            }
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().startsWith(THREAD)));
    }

    /**
     * Between two draws the session waited at least the delay the first draw made: attempt n (from 0 since the
     * last success) waits MIN + value * (min(MAX, MIN * 2^n) - MIN). Without the backoff the attempts would
     * follow each other within milliseconds (a refused connection fails at once).
     */
    private static void assertWaitedOut(List<Draw> draws, String context) {
        assertTrue(draws.size() >= 5, context + ": " + draws.size() + " attempts");
        List<Long> expected = new ArrayList<>();
        for (int n = 0; n < draws.size(); n++) {
            long cap = Math.min(MAX.toMillis(), MIN.toMillis() << Math.min(n, 20));
            expected.add(MIN.toMillis() + (long) (draws.get(n).value() * (cap - MIN.toMillis())));
        }
        for (int n = 0; n + 1 < draws.size(); n++) {
            long waited = TimeUnit.NANOSECONDS.toMillis(draws.get(n + 1).nanos() - draws.get(n).nanos());
            assertTrue(waited >= expected.get(n) - 2, context + ": attempt " + n + " waited " + waited
                    + " ms, the backoff said " + expected.get(n) + " ms; all: " + expected);
            if (n > 0 && expected.get(n - 1) < MAX.toMillis()) {
                assertTrue(expected.get(n) > expected.get(n - 1) || expected.get(n) >= MAX.toMillis() / 2, context
                        + ": the waits grow: " + expected);
            }
        }
    }

    /**
     * With Mosquitto's dynamic security the fleet subscribes before its role allows most of its filters: some
     * refused is not a failure (the rest work). All refused is (the ingest's one filter): retried with backoff.
     */
    @Test
    void someFiltersRefusedStillConnectsButAllRefusedIsRetriedWithBackoff() throws Exception {
        IAuthenticator anyone = (clientId, user, password) -> true;
        IAuthorizatorPolicy policy = new IAuthorizatorPolicy() {
            @Override
            public boolean canWrite(Topic topic, String user, String client) {
                return true;
            }

            @Override
            public boolean canRead(Topic topic, String user, String client) {
                return !topic.toString().startsWith("denied/");
            }
        };
        try (EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0, new EmbeddedBroker.Access(anyone, policy, null))) {
            String url = broker.url();
            BlockingQueue<String> arrived = new LinkedBlockingQueue<>();
            AtomicInteger someDraws = new AtomicInteger();
            AtomicInteger noneDraws = new AtomicInteger();
            try (MqttSession some = session(url, "it-some", arrived, someDraws, "it/c", "denied/x").build().start();
                    MqttSession none = session(url, "it-none", new LinkedBlockingQueue<>(), noneDraws, "denied/y").build()
                            .start()) {
                assertTrue(some.awaitReady(Duration.ofSeconds(10)), some.status().toString());
                assertFlows(url, List.of("it/c"), arrived, "allowed");
                assertEquals(0, someDraws.get(), "no retry: " + some.status());

                await().atMost(Duration.ofSeconds(20)).until(() -> noneDraws.get() >= 4);
                assertFalse(none.awaitReady(Duration.ZERO));
                MqttSession.Status status = none.status();
                assertEquals(0, status.connects(), status.toString());
                assertTrue(status.failedAttempts() >= 4, status.toString());
                assertEquals(MqttSession.State.CONNECTING, status.state());
            }
        }
    }

    private static MqttSession.Builder session(String url, String clientId, BlockingQueue<String> arrived,
            AtomicInteger draws, String... filters) {
        MqttSession.Builder b = MqttSession.builder(clientId, clientId + "-connect")
                .client(url, clientId, MqttSession.options(url, MqttTls.NONE, "it", "it-secret", true))
                .backoff(new Backoff(MIN, MAX, () -> {
                    draws.incrementAndGet();
                    return 0.5;
                }))
                .handler((topic, message) -> arrived.add(topic + "=" + new String(message.getPayload(),
                        StandardCharsets.UTF_8)));
        for (String f : filters) {
            b.subscribe(f, 1);
        }
        return b;
    }

    /** One message on each topic, from a separate client; all arrive. */
    private static void assertFlows(String url, List<String> topics, BlockingQueue<String> arrived, String round)
            throws Exception {
        MqttClient sender = new MqttClient(url, "it-session-sender", new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setUserName("it");
        o.setPassword("it-secret".toCharArray());
        sender.connect(o);
        try {
            Set<String> sent = new TreeSet<>();
            for (String topic : topics) {
                String text = topic + "=" + round;
                sender.publish(topic, round.getBytes(StandardCharsets.UTF_8), 1, false);
                sent.add(text);
            }
            Set<String> got = new TreeSet<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (got.size() < sent.size() && System.nanoTime() < deadline) {
                String m = arrived.poll(200, TimeUnit.MILLISECONDS);
                if (m != null) {
                    got.add(m);
                }
            }
            assertEquals(sent, got, "every subscription delivers (" + round + " broker)");
        } finally {
            sender.disconnect(500);
            sender.close();
        }
    }
}
