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
import app.sevenstamp.autopilot.sink.testing.RawMqtt;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import app.sevenstamp.autopilot.sink.testing.WatchedClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * A PUBLISH marked DUP reaches the embedded broker as an ordinary one. Moquette 0.17 ends a session
 * loop on any QoS 1 or 2 PUBLISH marked DUP whose topic has a subscriber, and the broker then restarts
 * (every client of the shop disconnected for seconds, and the message's buffer never freed). Paho marks
 * its own resends after a reconnect DUP, and a stranger needs only a login that may publish somewhere
 * the sink listens: the provisioning login, whose password is public. Raw MQTT, since Paho will not set
 * DUP on a first send; each case ends with a client that was connected throughout and never lost it.
 */
@Execution(ExecutionMode.CONCURRENT) // a few seconds of broker round trips: runs beside the other ITs (pom.xml, failsafe)
class DupPublishIT {
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);
    private static final int FLOOD = 30;

    @TempDir
    Path dir;

    @Test
    void aStampMarkedDupIsAppliedOnceAndNoClientIsDisconnected() throws Exception {
        try (SinkServer sink = TestSink.in(dir).vectorKey().program("coffee", 10).start()) {
            EmbeddedBroker broker = sink.embeddedBroker().orElseThrow();
            WatchedClient box = WatchedClient.connect(sink.brokerUrl(), "counter-1", null, null);
            String card = Vectors.signer().sign("coffee", CardSigner.newCardId(new SecureRandom()));
            try (RawMqtt dup = RawMqtt.connect(sink.brokerUrl(), "counter-2", null, null)) {
                dup.publishDup(TOPICS.stamps("counter-2"), 1, 1, stamp("counter-2", card, 1));
                assertAcked(dup.read(), RawMqtt.PUBACK, 1);
                await().atMost(Duration.ofSeconds(20)).until(() -> sink.metrics().accepted() == 1);
                // the same stamp again, as Paho resends it: acknowledged, and deduplicated by the sink
                dup.publishDup(TOPICS.stamps("counter-2"), 1, 1, stamp("counter-2", card, 1));
                assertAcked(dup.read(), RawMqtt.PUBACK, 1);
                flood(dup, TOPICS.stamps("counter-2"), FLOOD);
            }
            box.client().publish(TOPICS.stamps("counter-1"), stamp("counter-1", card, 1), 1, false);
            await().atMost(Duration.ofSeconds(20)).until(() -> sink.metrics().accepted() == 2);
            assertEquals(0, broker.restarts(), "broker restarts");
            assertEquals(0, box.lost().get(), "the box connected throughout lost its connection");
            assertEquals(FLOOD + 3, broker.dupPublishes(), "DUP publishes the guard passed on as new ones");
            assertEquals(FLOOD + 3L, sink.metrics().snapshot().get("broker.dupPublishes"), "the same in the sink's metrics");
            box.close();
        }
    }

    @Test
    void theProvisioningLoginCannotBounceTheBroker() throws Exception {
        try (SinkServer sink = TestSink.in(dir).vectorKey().program("coffee", 10).set("fleet.provisioning", "true").start()) {
            EmbeddedBroker broker = sink.embeddedBroker().orElseThrow();
            assertEquals(true, sink.fleet().awaitReady(Duration.ofSeconds(20)), "the fleet service subscribed to requests");
            WatchedClient other = WatchedClient.connect(sink.brokerUrl(), "prov-victim0123456789", "provision", "provision");
            try (RawMqtt stranger = RawMqtt.connect(sink.brokerUrl(), "prov-stranger0123456", "provision", "provision")) {
                // within the public login's budget of messages (MoquetteGuard): CONNECT, 5 publishes, a QoS 2 exchange
                flood(stranger, TOPICS.provisionRequest("stranger0123456789"), 5);
            }
            assertEquals(0, broker.restarts(), "broker restarts");
            assertEquals(6, broker.dupPublishes(), "DUP publishes the guard passed on as new ones");
            assertEquals(0, other.lost().get(), "the client connected throughout lost its connection");
            other.close();
        }
    }

    /** {@code count} QoS 1 publishes marked DUP, then a QoS 2 one, each answered before the next is sent. */
    private static void flood(RawMqtt client, String topic, int count) throws Exception {
        byte[] junk = "{not a stamp".getBytes(StandardCharsets.UTF_8);
        for (int id = 100; id < 100 + count; id++) {
            client.publishDup(topic, 1, id, junk);
            assertAcked(client.read(), RawMqtt.PUBACK, id);
        }
        client.publishDup(topic, 2, 7, junk);
        assertAcked(client.read(), RawMqtt.PUBREC, 7);
        client.pubrel(7);
        assertAcked(client.read(), RawMqtt.PUBCOMP, 7);
    }

    private static void assertAcked(RawMqtt.Packet packet, int type, int packetId) {
        assertEquals(type, packet.type(), "packet type");
        assertEquals(packetId, packet.packetId(), "packet id");
    }

    private static byte[] stamp(String device, String code, long seq) {
        String[] parts = code.split("\\.");
        return new WireCodec().encode(new StampEvent(WireCodec.SCHEMA, TestIds.event(device + "-" + seq), device, seq, code,
                parts[2], parts[3], "shop-1", Instant.now(), seq, "boot-1", true, EventKind.STAMP));
    }
}
