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
import app.sevenstamp.autopilot.sink.testing.WatchedClient;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * When one of Moquette's session loops dies, it gets a new thread and no client notices but for the
 * one failed command: the first case ends a box's loop for real, with a command that throws routed
 * to it the way Moquette routes its own. Where no new thread can be given, the broker restarts on the
 * same port, and the sink's ingest and a box both come back: a stamp sent after the restart is
 * applied. Attacks that end a loop: {@link DupPublishIT}, {@link PubackTakeoverIT}.
 */
@Execution(ExecutionMode.CONCURRENT) // mostly waiting out broker restarts and reconnect backoffs: runs beside the other ITs (pom.xml, failsafe)
class EmbeddedBrokerRestartIT {
    @TempDir
    Path dir;

    @Test
    void aLoopEndedForRealGetsANewThreadAndNoClientIsDisconnected() throws Exception {
        try (SinkServer sink = TestSink.in(dir).vectorKey().program("coffee", 10).start()) {
            EmbeddedBroker broker = sink.embeddedBroker().orElseThrow();
            String card = Vectors.signer().sign("coffee", CardSigner.newCardId(new SecureRandom()));
            MqttClient box = new MqttClient(sink.brokerUrl(), "counter-1", new MemoryPersistence());
            WatchedClient watched = WatchedClient.watch(box);
            connect(box);
            box.publish(new Topics(Topics.DEFAULT_PREFIX).stamps("counter-1"), stamp(card, 1), 1, false);
            await().atMost(Duration.ofSeconds(20)).until(() -> sink.metrics().accepted() == 1);

            endLoopOf(broker, "counter-1");
            await().atMost(Duration.ofSeconds(20)).until(() -> broker.revivals() == 1);
            // the box's session is served again: its next stamp goes through the same connection
            box.publish(new Topics(Topics.DEFAULT_PREFIX).stamps("counter-1"), stamp(card, 2), 1, false);
            await().atMost(Duration.ofSeconds(20)).until(() -> sink.metrics().accepted() == 2);
            assertEquals(1, broker.loopFailures(), "loop deaths reported");
            assertEquals(0, broker.restarts(), "broker restarts");
            assertEquals(0, watched.lost().get(), "the box lost its connection");
            box.disconnect(500);
            box.close();
        }
    }

    @Test
    void whereNoLoopCanGetANewThreadTheBrokerRestartsAndStampsFlowAgain() throws Exception {
        try (SinkServer sink = TestSink.in(dir).vectorKey().program("coffee", 10).start()) {
            EmbeddedBroker broker = sink.embeddedBroker().orElseThrow();
            String card = Vectors.signer().sign("coffee", CardSigner.newCardId(new SecureRandom()));
            MqttClient box = new MqttClient(sink.brokerUrl(), "counter-1", new MemoryPersistence());
            connect(box);
            box.publish(new Topics(Topics.DEFAULT_PREFIX).stamps("counter-1"), stamp(card, 1), 1, false);
            await().atMost(Duration.ofSeconds(20)).until(() -> sink.metrics().accepted() == 1);

            broker.restartAfter(new IllegalStateException("a loop that could not get a new thread (the test)"));
            broker.restartAfter(new IllegalStateException("the same failure, reported by a second loop"));
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

    /**
     * Ends the session loop {@code clientId} is served by, the way Moquette's bugs do: a command routed
     * to it (Moquette's own {@code SessionEventLoopGroup.routeCommand}) throws.
     */
    private static void endLoopOf(EmbeddedBroker broker, String clientId) throws Exception {
        Object group = MoquetteInsides.sessionLoopGroup(broker.moquette());
        Method route = group.getClass().getDeclaredMethod("routeCommand", String.class, String.class, Callable.class);
        route.setAccessible(true);
        Callable<String> failing = () -> {
            throw new IllegalStateException("a command that throws (the test)");
        };
        route.invoke(group, clientId, "test", failing);
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
