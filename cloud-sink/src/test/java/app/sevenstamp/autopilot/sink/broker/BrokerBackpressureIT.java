package app.sevenstamp.autopilot.sink.broker;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.CapturedLog;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.testing.RawMqtt;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import app.sevenstamp.autopilot.sink.testing.WatchedClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.tinylog.Level;

/**
 * One client with a login floods the embedded broker (a stolen box's credentials, or a bug): QoS 1
 * publishes as fast as a socket takes them, their PUBACKs left unread. Moquette 0.17 queues every
 * client's commands on a few session loops and drops what does not fit, whoever it belongs to; a PUBACK
 * of the sink's own ingest dropped that way leaves its in-flight window full for good, and no stamp
 * reaches the sink again. Eight flooding clients here share their session loop with the sink's ingest, while
 * a box stamps throughout. The broker must hold the flood back instead of dropping: no command dropped,
 * every one of the box's stamps applied, and the ingest still takes stamps afterwards. Once more with the
 * flood written right behind each CONNECT, before its CONNACK (as MQTT allows): it then waits in the broker's
 * guard until Moquette has marked the connection connected (MoquetteGuard), with the client's reading paused,
 * so that wait must not let the flood past the backpressure, nor stall anyone else.
 */
@Execution(ExecutionMode.CONCURRENT) // seconds of flooding and waiting: runs beside the other ITs (pom.xml, failsafe)
class BrokerBackpressureIT {
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);
    /** Four filled the loop's queue only 0 to 4 times a run beside the other ITs, once not at all (7 Dec CI). */
    private static final int FLOODERS = 8;
    private static final int FLOOD = 60_000;
    private static final int STAMPS = 100;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "flood right behind the CONNECT: {0}")
    @ValueSource(booleans = {false, true})
    void aFloodingClientIsHeldBackAndNothingOfAnyoneElseIsDropped(boolean behindConnect) throws Exception {
        try (SinkServer sink = TestSink.in(dir).vectorKey().program("coffee", 10).start()) {
            CapturedLog.clear();
            WatchedClient box = WatchedClient.connect(sink.brokerUrl(), "counter-1", null, null);
            box.client().setTimeToWait(20_000); // a publish the broker dropped is never acknowledged
            String card = Vectors.signer().sign("coffee", CardSigner.newCardId(new SecureRandom()));
            byte[] noise = "{noise}".getBytes(StandardCharsets.UTF_8);
            Thread stamping = new Thread(() -> {
                try {
                    for (int seq = 1; seq <= STAMPS; seq++) {
                        box.client().publish(TOPICS.stamps("counter-1"), stamp(card, seq), 1, false);
                        Thread.sleep(20); // a box's pace: its stamps keep coming all through the flood, not before it
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, "test-box");
            long heldBefore = sink.embeddedBroker().orElseThrow().heldForConnack(); // the sink's and the box's own
            long t0 = System.nanoTime();
            List<Thread> flooders = new ArrayList<>();
            for (String id : onTheSinksLoop("autopilot-sink", FLOODERS)) {
                flooders.add(new Thread(() -> {
                    try (RawMqtt flood = behindConnect ? RawMqtt.begin(sink.brokerUrl(), id, null, null)
                            : RawMqtt.connect(sink.brokerUrl(), id, null, null)) {
                        for (int i = 0; i < FLOOD; i++) {
                            flood.publishQos1("noise/flood", 1 + i % 60_000, noise);
                        }
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                }, "test-" + id));
            }
            stamping.start();
            flooders.forEach(Thread::start);
            for (Thread t : flooders) {
                t.join();
            }
            stamping.join();
            long floodMs = (System.nanoTime() - t0) / 1_000_000;
            await().atMost(Duration.ofSeconds(60)).until(() -> sink.metrics().accepted() + sink.metrics().duplicates() >= STAMPS);
            EmbeddedBroker broker = sink.embeddedBroker().orElseThrow();
            System.out.printf("BrokerBackpressureIT: %d clients wrote %d publishes each in %d ms beside %d stamps%s; "
                    + "clients held back %d times, %d held for their CONNACK%n", FLOODERS, FLOOD, floodMs, STAMPS,
                    behindConnect ? ", right behind their CONNECTs" : "", broker.heldBack(), broker.heldForConnack() - heldBefore);
            assertEquals(List.of(), CapturedLog.lines(Level.WARN, "Session command queue").stream().limit(3).toList(),
                    "Moquette dropped commands");
            assertTrue(broker.heldBack() > 0, "the flood never filled a queue: this test tests nothing");
            if (behindConnect) {
                // 46 of 50 connections were read on before Moquette marked them connected (EarlySubscribeIT)
                assertTrue(broker.heldForConnack() > heldBefore, "no flood was read before its CONNACK: this case tests nothing");
                assertEquals(0, broker.loopFailures(), "a session loop died");
            }
            // the ingest still takes stamps
            box.client().publish(TOPICS.stamps("counter-1"), stamp(card, STAMPS + 1), 1, false);
            await().atMost(Duration.ofSeconds(20)).until(() -> sink.metrics().accepted() + sink.metrics().duplicates() > STAMPS);
            assertEquals(0, box.lost().get(), "the box lost its connection");
            box.close();
        }
    }

    /** {@code n} client ids Moquette serves on the same session loop as {@code clientId} (it hashes ids onto its loops). */
    private static List<String> onTheSinksLoop(String clientId, int n) {
        int loops = Runtime.getRuntime().availableProcessors();
        List<String> ids = new ArrayList<>();
        for (int i = 0; ids.size() < n; i++) {
            String candidate = "flood-" + i;
            if (Math.abs(candidate.hashCode()) % loops == Math.abs(clientId.hashCode()) % loops) {
                ids.add(candidate);
            }
        }
        return ids;
    }

    private static byte[] stamp(String code, long seq) {
        String[] parts = code.split("\\.");
        return new WireCodec().encode(new StampEvent(WireCodec.SCHEMA, TestIds.event("flood-" + seq), "counter-1", seq, code,
                parts[2], parts[3], "shop-1", Instant.now(), seq, "boot-1", true, EventKind.STAMP));
    }
}
