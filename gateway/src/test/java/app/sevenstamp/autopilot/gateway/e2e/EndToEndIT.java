package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.SocatPty;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spine, on the real parts: scans typed into a socat pty are read by the real gateway jar
 * (jSerialComm), stored in its H2 outbox, published through a real broker (the sink's embedded
 * Moquette, or a Mosquitto subprocess), applied by the real sink, and read back over its HTTP API.
 */
class EndToEndIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void scansBecomeStampsThroughTheEmbeddedBroker() throws Exception {
        try (SinkServer sink = SinkServer.start(sinkConfig(null))) {
            stampsArriveAndRejectsLeaveNoTrace(sink);
        }
    }

    @Test
    void scansBecomeStampsThroughMosquitto() throws Exception {
        try (MosquittoProcess mosquitto = MosquittoProcess.start(dir.resolve("mosquitto"));
             SinkServer sink = SinkServer.start(sinkConfig(mosquitto.url()))) {
            stampsArriveAndRejectsLeaveNoTrace(sink);
        }
    }

    private void stampsArriveAndRejectsLeaveNoTrace(SinkServer sink) throws Exception {
        Path sinkProperties = dir.resolve("sink.properties");
        List<String> coffee = SinkCli.issue(sinkProperties, "coffee", 2);
        String teaCard = SinkCli.issue(sinkProperties, "tea", 1).get(0);
        String card = coffee.get(0);
        String cardId = card.split("\\.")[3];

        try (SocatPty pty = SocatPty.start(dir, "scanner");
             GatewayProcess gateway = GatewayProcess.start(
                     gatewayConfig(sink.brokerUrl(), pty.devicePath(), SinkCli.trustedKey(sinkProperties)),
                     dir.resolve("gateway.log"))) {
            gateway.awaitLog("gateway ready", WAIT);

            pty.scan(card);
            String first = gateway.awaitLine(l -> l.startsWith("ACCEPTED"), WAIT, "ACCEPTED for the first scan");
            assertTrue(first.contains("card=" + cardId), first);
            awaitStamps(sink, cardId, 1);

            // Each of these must give the reject signal, keep the daemon running and store nothing.
            char[] forged = card.toCharArray();
            int at = card.length() - 10;
            forged[at] = forged[at] == 'A' ? 'B' : 'A';
            pty.scan(new String(forged));
            assertReject(gateway, "BAD_SIGNATURE");

            pty.scan(teaCard);
            assertReject(gateway, "UNKNOWN_PROGRAM");

            pty.scan("7".repeat(10_000));
            assertReject(gateway, "MALFORMED");

            byte[] garbage = new byte[300];
            new Random(42).nextBytes(garbage);
            for (int i = 0; i < garbage.length; i++) {
                if (garbage[i] == '\r' || garbage[i] == '\n') {
                    garbage[i] = 0x01; // one frame of garbage, ended by the terminator below
                }
            }
            pty.write(garbage);
            pty.write(new byte[] {'\r'});
            assertReject(gateway, "MALFORMED");
            assertTrue(gateway.isAlive(), "the gateway survives every bad scan");

            // The outbox took nothing from the rejects: the next stamp gets the very next sequence number.
            pty.scan(coffee.get(1));
            String next = gateway.awaitLine(l -> l.startsWith("ACCEPTED"), WAIT, "ACCEPTED for the second card");
            assertTrue(next.contains("seq=2"), "rejects must not consume sequence numbers: " + next);
            awaitStamps(sink, coffee.get(1).split("\\.")[3], 1);
            assertEquals(1, cardJson(sink, cardId).get("stamps").asInt(), "the first card still has exactly one stamp");

            Duration stop = gateway.terminate(Duration.ofSeconds(10));
            assertTrue(stop.compareTo(Duration.ofSeconds(5)) < 0, "SIGTERM to exit took " + stop.toMillis() + " ms");
            int exit = gateway.exitValue();
            assertTrue(exit == 0 || exit == 143, "exit status after SIGTERM was " + exit);
            assertTrue(gateway.log().contains("gateway stopped"), gateway.log());
        }
    }

    private static void assertReject(GatewayProcess gateway, String reason) {
        String line = gateway.awaitLine(l -> l.startsWith("REJECTED") || l.startsWith("ACCEPTED"), WAIT,
                "REJECTED reason=" + reason);
        assertTrue(line.startsWith("REJECTED") && line.contains("reason=" + reason), "expected a " + reason + " reject, got: " + line);
    }

    private void awaitStamps(SinkServer sink, String cardId, int stamps) {
        await().atMost(WAIT).until(() -> {
            JsonNode card = cardJson(sink, cardId);
            return card != null && card.get("stamps").asInt() == stamps;
        });
    }

    private JsonNode cardJson(SinkServer sink, String cardId) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + sink.httpPort() + "/api/v1/cards/" + cardId)).build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode() == 200 ? json.readTree(response.body()) : null;
    }

    private SinkConfig sinkConfig(String externalBroker) {
        TestSink sink = TestSink.in(dir).program("coffee", 5).program("tea", 3);
        return (externalBroker == null ? sink : sink.broker(externalBroker)).config();
    }

    private Path gatewayConfig(String brokerUrl, Path port, String trustedKey) throws IOException {
        return GatewayProps.counter("e2e-counter", trustedKey, dir.resolve("outbox"), brokerUrl)
                .set("device.location", "test-shop").serialScanner(port).write(dir.resolve("gateway.properties"));
    }
}
