package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * Issue 11 on the sink, as it was found: the sink on its default H2 store sits idle past H2's
 * RETENTION_TIME (45 s), three stamps arrive and are acknowledged (so the box deletes them), the sink
 * is killed with kill -9 and started again on the same store. Before the ingest redo log the card had
 * 0 of the 3 stamps (3 of 3 lost); now the restarted sink replays them and the card has 3.
 */
@Execution(ExecutionMode.CONCURRENT) // mostly waiting out an idle period: runs beside the other ITs (pom.xml, failsafe)
class SinkIdleCrashIT {
    private static final Path JAR = Path.of("target", "autopilot-sink.jar");
    private static final Pattern READY = Pattern.compile(
            "sink ready broker=(tcp://127\\.0\\.0\\.1:\\d+) http=(http://127\\.0\\.0\\.1:\\d+)");
    private static final Duration IDLE = Duration.ofSeconds(50);

    @TempDir
    Path dir;

    @Test
    void stampsAcknowledgedAfterAnIdleMinuteSurviveKillMinus9() throws Exception {
        Path store = VectorStore.create(dir);
        Path config = dir.resolve("sink.properties");
        Files.writeString(config, String.join("\n", "store.dir=" + store, "broker.port=0", "http.port=0",
                "program.coffee.stampsRequired=10", ""), StandardCharsets.UTF_8);
        Process first = null;
        Process second = null;
        try {
            first = serve(config, "first");
            Matcher ready = ready("first");
            Thread.sleep(IDLE.toMillis()); // past RETENTION_TIME: H2 reuses freed space from here on
            List<StampAck> acks = stamp(ready.group(1), 3);
            for (StampAck ack : acks) {
                assertEquals(AckOutcome.ACCEPTED, ack.outcome(), ack.toString());
            }
            first.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // kill -9, right after the acks

            second = serve(config, "second");
            String card = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(ready("second").group(2)
                    + "/api/v1/cards/ABCDEFGHJKMNPQRS")).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(card.contains("\"stamps\":3"), "3 acknowledged stamps, after kill -9: " + card);
            String log = Files.readString(dir.resolve("second.log"));
            assertTrue(log.contains("ingest redo log: 3 acknowledged event(s) replayed"), log);
        } finally {
            for (Process p : new Process[] {first, second}) {
                if (p != null) {
                    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    /** Publishes {@code n} stamps of the golden card as counter-1 (seq 1..n, new event ids) and waits for the acks. */
    private static List<StampAck> stamp(String brokerUrl, int n) throws Exception {
        Topics topics = new Topics(Topics.DEFAULT_PREFIX);
        WireCodec codec = new WireCodec();
        ObjectMapper json = new ObjectMapper();
        BlockingQueue<StampAck> acks = new LinkedBlockingQueue<>();
        MqttClient box = new MqttClient(brokerUrl, "idle-crash-box", new MemoryPersistence());
        try {
            box.connect();
            box.subscribe(topics.acks("counter-1"), 1, (t, m) -> acks.add(codec.decodeAck(m.getPayload())));
            for (int seq = 1; seq <= n; seq++) {
                ObjectNode event = (ObjectNode) json.readTree(Vectors.bytes("stamp-event.json"));
                event.put("eventId", UUID.randomUUID().toString());
                event.put("seq", seq);
                box.publish(topics.stamps("counter-1"), json.writeValueAsBytes(event), 1, false);
            }
            List<StampAck> out = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                StampAck ack = acks.poll(10, TimeUnit.SECONDS);
                assertTrue(ack != null, "no acknowledgement within 10 s");
                out.add(ack);
            }
            box.disconnect(500);
            return out;
        } finally {
            box.close();
        }
    }

    private Process serve(Path config, String name) throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR.toAbsolutePath() + " is built by the package phase");
        Path out = dir.resolve(name + ".out");
        Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar", JAR.toString(),
                "serve", "--config", config.toString()).redirectOutput(out.toFile())
                .redirectError(dir.resolve(name + ".log").toFile()).start();
        await().atMost(Duration.ofSeconds(30)).until(() -> !p.isAlive() || Files.readString(out).endsWith("\n"));
        return p;
    }

    private Matcher ready(String name) throws Exception {
        String line = Files.readString(dir.resolve(name + ".out")).strip();
        Matcher m = READY.matcher(line);
        assertTrue(m.matches(), () -> "stdout: '" + line + "'");
        return m;
    }
}
