package app.sevenstamp.autopilot.sink;

import static org.junit.jupiter.api.Assertions.assertNotNull;

import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.testing.MoquetteRetry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * A sink store that signs with the golden vectors' key, so the golden stamp event's card code verifies,
 * and the one stamp most process and operator tests begin with.
 */
final class VectorStore {
    private VectorStore() {
    }

    /** Creates {@code dir/store} holding the vectors' signing key; returns the store folder. */
    static Path create(Path dir) throws IOException {
        Path store = dir.resolve("store");
        Files.createDirectories(store);
        Files.writeString(store.resolve("signing.key"),
                "keyId=k1\nseed=" + Vectors.json("card-codes.json").get("seed").asText() + "\n", StandardCharsets.UTF_8);
        return store;
    }

    /** Publishes the golden stamp event as counter-1 through the broker and returns the sink's acknowledgement. */
    static StampAck stampGoldenEvent(String brokerUrl, String clientId) throws Exception {
        Topics topics = new Topics(Topics.DEFAULT_PREFIX);
        WireCodec codec = new WireCodec();
        BlockingQueue<StampAck> acks = new LinkedBlockingQueue<>();
        // connected and subscribed again if the embedded broker drops the fresh connection (MoquetteRetry); the
        // event itself goes once, so its answer stays the one a first delivery gets
        MqttClient gateway = MoquetteRetry.retry(() -> {
            MqttClient c = new MqttClient(brokerUrl, clientId, new MemoryPersistence());
            try {
                c.connect();
                c.subscribe(topics.acks("counter-1"), 1, (t, m) -> acks.add(codec.decodeAck(m.getPayload())));
                return c;
            } catch (Exception e) {
                c.close();
                throw e;
            }
        });
        try {
            gateway.publish(topics.stamps("counter-1"), Vectors.bytes("stamp-event.json"), 1, false);
            StampAck ack = acks.poll(10, TimeUnit.SECONDS);
            assertNotNull(ack, "no acknowledgement within 10 s");
            gateway.disconnect(500);
            return ack;
        } finally {
            gateway.close();
        }
    }
}
