package app.sevenstamp.autopilot.sink.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.testing.MoquetteRetry;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sink keeps its programs' counter rules retained on PREFIX/rules, on the embedded broker and on an
 * external Mosquitto; the version stays across a restart with the same rules and grows when they change.
 */
class CounterRulesPublishIT {
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);

    @TempDir
    Path dir;

    private TestSink sink(String cooldown) {
        return TestSink.in(dir).program("coffee", 5).set("program.coffee.cooldown", cooldown)
                .set("program.coffee.dailyCap", "2").set("program.coffee.timeZone", "Europe/Berlin").program("tea", 8);
    }

    /**
     * The retained rules as a new subscriber (a box) gets them: it subscribes after the sink published, so
     * only a retained message can reach it. Moquette delivers stored retained messages without the retain
     * flag (measured here), Mosquitto with it; {@code flag} checks the flag too.
     */
    private static CounterRules retained(String url, boolean flag) throws Exception {
        return MoquetteRetry.retry(() -> retainedOnce(url, flag)); // a box reconnects, and so does this reader
    }

    private static CounterRules retainedOnce(String url, boolean flag) throws Exception {
        LinkedBlockingQueue<org.eclipse.paho.client.mqttv3.MqttMessage> got = new LinkedBlockingQueue<>();
        MqttClient c = new MqttClient(url, "reader-" + System.nanoTime(), new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        c.connect(o);
        try {
            c.subscribe(TOPICS.rules(), 1, (t, m) -> got.add(m));
            var m = got.poll(20, TimeUnit.SECONDS);
            assertNotNull(m, "retained counter rules on " + TOPICS.rules());
            assertTrue(!flag || m.isRetained(), "delivered as a retained message");
            return new WireCodec().decode(m.getPayload(), CounterRules.class);
        } finally {
            if (c.isConnected()) {
                c.disconnect();
            }
            c.close();
        }
    }

    @Test
    void embeddedBrokerCarriesTheRulesAndTheVersionGrowsOnlyWhenTheyChange() throws Exception {
        CounterRules first;
        long startedAt = java.time.Instant.now().getEpochSecond();
        try (SinkServer sink = sink("5m").start()) {
            assertTrue(sink.fleet().awaitReady(Duration.ofSeconds(10)));
            first = retained(sink.brokerUrl(), false);
        }
        assertTrue(first.version() >= startedAt && first.version() <= java.time.Instant.now().getEpochSecond(),
                "the first version is the second it was numbered: " + first.version());
        assertEquals(new CounterRules.Limits(300, 2, "Europe/Berlin"), first.programs().get("coffee"));
        assertEquals(new CounterRules.Limits(0, 0, "UTC"), first.programs().get("tea"));

        try (SinkServer sink = sink("5m").start()) {
            assertTrue(sink.fleet().awaitReady(Duration.ofSeconds(10)));
            assertEquals(first, retained(sink.brokerUrl(), false), "same rules after a restart: same version");
        }
        try (SinkServer sink = sink("10m").start()) {
            assertTrue(sink.fleet().awaitReady(Duration.ofSeconds(10)));
            CounterRules changed = retained(sink.brokerUrl(), false);
            assertTrue(changed.version() > first.version(), "changed rules: a newer version");
            assertEquals(600, changed.programs().get("coffee").cooldownSeconds());
        }
    }

    @Test
    void externalMosquittoCarriesTheRulesToo() throws Exception {
        try (MosquittoProcess mosquitto = MosquittoProcess.start(dir.resolve("mosquitto"))) {
            try (SinkServer sink = sink("90s").broker(mosquitto.url()).start()) {
                assertTrue(sink.fleet().awaitReady(Duration.ofSeconds(10)));
                CounterRules r = retained(mosquitto.url(), true);
                assertTrue(r.version() > 1_700_000_000L, "numbered by the clock: " + r.version());
                assertEquals(new CounterRules.Limits(90, 2, "Europe/Berlin"), r.programs().get("coffee"));
            }
        }
    }
}
