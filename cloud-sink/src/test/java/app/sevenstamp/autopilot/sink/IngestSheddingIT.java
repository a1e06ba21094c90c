package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A broker that hands the sink more than its ingest queue holds (an in-flight limit above the queue's size;
 * Mosquitto 2.0.11 also sends everything queued once the sink has PUBACKed anything), a
 * box that sends 18,500 stamps at once (more than the queue's 16,384), and a slow database (1 ms per
 * stored event) that holds the first insert until the queue has overflowed. The sink must never stop reading from the broker
 * (Paho's one callback thread also completes the answers; when it waited for queue space, answers and
 * PUBACKs stalled, seen with 1,000 simulated boxes): what does not fit is let go unanswered and counted,
 * and the box's resends (every 10 s for what is unanswered, as the outbox does) bring every stamp in,
 * stored exactly once.
 */
class IngestSheddingIT {
    private static final int EVENTS = 18_500;

    @TempDir
    Path dir;

    @Test
    void aFloodBeyondTheQueueIsShedAndResentNeverStalled() throws Exception {
        try (MosquittoProcess broker = MosquittoProcess.start(dir.resolve("mosquitto"),
                "allow_anonymous true\nmax_inflight_messages 20000\nmax_queued_messages 100000\n");
                SinkServer sink = TestSink.in(dir).vectorKey().broker(broker.url()).program("coffee", 100).start()) {
            try (Connection c = sink.store().connection(); Statement st = c.createStatement()) {
                st.execute("CREATE TRIGGER slow_inserts BEFORE INSERT ON events FOR EACH ROW CALL \""
                        + SlowInserts.class.getName() + "\"");
            }
            Topics topics = new Topics(Topics.DEFAULT_PREFIX);
            WireCodec codec = new WireCodec();
            String card = Vectors.signer().sign("coffee", CardSigner.newCardId(new SecureRandom()));
            String[] parts = card.split("\\.");
            Set<String> answered = ConcurrentHashMap.newKeySet();
            MqttClient box = new MqttClient(broker.url(), "counter-1", new MemoryPersistence());
            MqttConnectOptions o = new MqttConnectOptions();
            o.setMaxInflight(EVENTS + 10);
            box.connect(o);
            box.subscribe(topics.acks("counter-1"), 1, (t, m) -> answered.add(codec.decode(m.getPayload(), StampAck.class).eventId()));
            StampEvent[] events = new StampEvent[EVENTS];
            for (int i = 0; i < EVENTS; i++) {
                long seq = i + 1;
                events[i] = new StampEvent(WireCodec.SCHEMA, String.format("5eed0000-0000-4000-8000-%012d", seq), "counter-1", seq,
                        card, parts[2], parts[3], "shop-1", Instant.parse("2026-12-03T08:00:00Z").plusSeconds(seq), seq, "boot-1",
                        true, EventKind.STAMP);
            }
            for (StampEvent e : events) {
                box.publish(topics.stamps("counter-1"), codec.encode(e), 1, false);
            }
            // The database holds the first insert until the queue has overflowed: a fast machine's ingest must not
            // empty the queue meanwhile (a CI run on a quiet machine kept up with the flood and shed nothing). The
            // sink PUBACKs only what it stored, so the broker's in-flight limit (20,000) is what lets the whole
            // flood through to a sink that answers nothing yet.
            await("the flood overflows the queue and is shed, not waited for").atMost(Duration.ofMinutes(2))
                    .until(() -> sink.metrics().shed() > 0);
            SlowInserts.HOLD.countDown();
            await().atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofSeconds(10)).until(() -> {
                for (StampEvent e : events) {
                    if (!answered.contains(e.eventId())) {
                        box.publish(topics.stamps("counter-1"), codec.encode(e), 1, false); // the outbox's resend
                    }
                }
                return answered.size() == EVENTS;
            });
            assertEquals(EVENTS, sink.store().countEvents(), "every stamp stored once");
            assertEquals(EVENTS, sink.metrics().accepted());
            box.disconnect(500);
            box.close();
        }
    }

    /** H2 calls this for each inserted event: a slow disk. */
    public static final class SlowInserts implements org.h2.api.Trigger {
        /** Released once the queue has overflowed; until then an insert waits (3 minutes at most). */
        static final CountDownLatch HOLD = new CountDownLatch(1);

        @Override
        public void fire(Connection conn, Object[] oldRow, Object[] newRow) {
            try {
                HOLD.await(3, TimeUnit.MINUTES);
                Thread.sleep(1); // the slow disk itself: 1 ms per stored event keeps the queue full while the resends come
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
