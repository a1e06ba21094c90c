package app.sevenstamp.autopilot.sink.broker;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * When one of Moquette's session loops dies (its ref-count bugs, seen in CI), the embedded broker
 * restarts on the same port, and the sink's ingest and a box both come back: a stamp sent after the
 * restart is applied. The first case reports the loop's death as Moquette's intercept handler does (the
 * double release on a PUBACK cannot be produced on demand); the second produces a real one: Moquette 0.17
 * ends a session loop on any QoS 1 PUBLISH marked DUP, which Paho sends when it resends after a reconnect.
 */
@Execution(ExecutionMode.CONCURRENT) // mostly waiting out broker restarts and reconnect backoffs: runs beside the other ITs (pom.xml, failsafe)
class EmbeddedBrokerRestartIT {
    @TempDir
    Path dir;

    @Test
    void aDeadSessionLoopRestartsTheBrokerAndStampsFlowAgain() throws Exception {
        try (SinkServer sink = TestSink.in(dir).vectorKey().program("coffee", 10).start()) {
            EmbeddedBroker broker = sink.embeddedBroker().orElseThrow();
            String card = Vectors.signer().sign("coffee", CardSigner.newCardId(new SecureRandom()));
            MqttClient box = new MqttClient(sink.brokerUrl(), "counter-1", new MemoryPersistence());
            connect(box);
            box.publish(new Topics(Topics.DEFAULT_PREFIX).stamps("counter-1"), stamp(card, 1), 1, false);
            await().atMost(Duration.ofSeconds(20)).until(() -> sink.metrics().accepted() == 1);

            broker.sessionLoopFailed(new IllegalStateException("refCnt: 0, decrement: 1 (reported by the test)"));
            broker.sessionLoopFailed(new IllegalStateException("the same failure, reported by a second loop"));
            await().atMost(Duration.ofSeconds(20)).until(() -> broker.restarts() == 1);

            // the box notices, connects again and sends its next stamp; the sink's ingest came back too
            await().atMost(Duration.ofSeconds(20)).until(() -> !box.isConnected() || sink.metrics().accepted() < 0);
            connect(box);
            // as a box does, it sends again until answered: the sink's own session may subscribe after this box is back
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(2)).until(() -> {
                box.publish(new Topics(Topics.DEFAULT_PREFIX).stamps("counter-1"), stamp(card, 2), 1, false);
                return sink.metrics().accepted() == 2;
            });
            assertEquals(1, broker.restarts(), "the two reports of one failure made one restart");
            box.disconnect(500);
            box.close();
        }
    }

    @Test
    void aPublishMarkedDupKillsAMoquetteLoopAndTheBrokerComesBack() throws Exception {
        try (SinkServer sink = TestSink.in(dir).vectorKey().program("coffee", 10).start()) {
            EmbeddedBroker broker = sink.embeddedBroker().orElseThrow();
            URI url = URI.create(sink.brokerUrl());
            // raw MQTT 3.1.1, since Paho sets DUP only on its own resends: CONNECT (clean), then PUBLISH QoS 1, DUP
            try (Socket socket = new Socket(url.getHost(), url.getPort())) {
                socket.setSoTimeout(10_000);
                OutputStream out = socket.getOutputStream();
                out.write(packet(0x10, concat(new byte[] {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60}, string("dup-box"))));
                out.flush();
                assertEquals(0x20, socket.getInputStream().read(), "CONNACK");
                String topic = new Topics(Topics.DEFAULT_PREFIX).stamps("counter-9");
                out.write(packet(0x30 | 0x08 | 0x02, concat(string(topic), new byte[] {0, 1}, "{junk".getBytes(StandardCharsets.UTF_8))));
                out.flush();
                await().atMost(Duration.ofSeconds(20)).until(() -> broker.restarts() == 1);
            }
            // and stamps flow again, through a box that connects anew
            String card = Vectors.signer().sign("coffee", CardSigner.newCardId(new SecureRandom()));
            MqttClient box = new MqttClient(sink.brokerUrl(), "counter-1", new MemoryPersistence());
            connect(box);
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(2)).until(() -> {
                box.publish(new Topics(Topics.DEFAULT_PREFIX).stamps("counter-1"), stamp(card, 1), 1, false);
                return sink.metrics().accepted() == 1;
            });
            box.disconnect(500);
            box.close();
        }
    }

    /** An MQTT control packet: the first byte, the remaining length (one byte: these are short), the rest. */
    private static byte[] packet(int first, byte[] rest) {
        if (rest.length > 127) {
            throw new IllegalArgumentException("packet too long for a one-byte length: " + rest.length);
        }
        return concat(new byte[] {(byte) first, (byte) rest.length}, rest);
    }

    /** An MQTT UTF-8 string: two bytes of length, then the bytes. */
    private static byte[] string(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return concat(new byte[] {(byte) (b.length >> 8), (byte) b.length}, b);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            all.writeBytes(p);
        }
        return all.toByteArray();
    }

    private static void connect(MqttClient box) throws InterruptedException {
        for (int i = 0; ; i++) {
            try {
                box.connect();
                return;
            } catch (MqttException e) {
                if (i > 100) {
                    throw new AssertionError("the box could not connect again", e);
                }
                Thread.sleep(200);
            }
        }
    }

    private static byte[] stamp(String code, long seq) {
        String[] parts = code.split("\\.");
        return new WireCodec().encode(new StampEvent(WireCodec.SCHEMA, TestIds.event("restart-" + seq), "counter-1", seq, code,
                parts[2], parts[3], "shop-1", Instant.now(), seq, "boot-1", true, EventKind.STAMP));
    }
}
