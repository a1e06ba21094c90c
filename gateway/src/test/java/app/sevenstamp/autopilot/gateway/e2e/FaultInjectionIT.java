package app.sevenstamp.autopilot.gateway.e2e;


import app.sevenstamp.autopilot.gateway.StampPipeline;
import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults injected into the real parts: the gateway jar (scans on its stdin), a Mosquitto subprocess and
 * the real sink. Whatever happens, every test ends with the same check: per card, the stamps the sink
 * counted (HTTP API) equal the scans the gateway confirmed (ACCEPTED or ACCEPTED_OFFLINE on its
 * stdout), exactly; and the sink sees no sequence gap for the device.
 */
class FaultInjectionIT {
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final String DEVICE = "fault-counter";
    private static final int REQUIRED = 10;
    /** Scans written and not yet answered; below the pipeline's queue (64), so no scan is dropped. */
    private static final int OUTSTANDING = 24;

    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();

    @TempDir
    Path dir;
    private Path sinkProperties;
    private List<String> cards;
    private String trustedKey;

    @BeforeEach
    void cards() throws Exception {
        sinkProperties = writeSinkProperties(null);
        cards = SinkCli.issue(sinkProperties, "coffee", 50);
        trustedKey = SinkCli.trustedKey(sinkProperties);
    }

    @Test
    void killMinus9DuringAFiveThousandScanBurstLosesAndDoublesNothing() throws Exception {
        try (MosquittoProcess broker = MosquittoProcess.start(dir.resolve("mosquitto"));
             SinkServer sink = SinkServer.start(sinkConfig(broker.url()))) {
            Path config = gatewayConfig(broker.url(), "30s");
            Map<String, Integer> confirmed = new TreeMap<>();
            int next;
            try (GatewayProcess gateway = GatewayProcess.start(config, dir.resolve("gateway-1.log"))) {
                gateway.awaitLog("gateway ready", WAIT);
                next = scan(gateway, 0, 5000, c -> c >= 2000);
                gateway.kill(); // SIGKILL in the middle of the burst: scans still queued, appends in progress
                gateway.awaitStdoutClosed(Duration.ofSeconds(10));
                tally(gateway.seen(), confirmed);
            }
            int beforeKill = total(confirmed);
            assertTrue(beforeKill >= 2000, "confirmed before the kill: " + beforeKill);
            try (GatewayProcess gateway = GatewayProcess.start(config, dir.resolve("gateway-2.log"))) {
                gateway.awaitLog("gateway ready", WAIT);
                scan(gateway, next, 5000 - beforeKill, c -> false);
                tally(gateway.seen(), confirmed);
                assertEquals(5000, total(confirmed), "5,000 confirmed scans over both runs");
                // A kill between a group's fsync and the feedback lines leaves the stamps of one burst (at most
                // StampPipeline.MAX_BURST) stored and sent but never confirmed (their customers saw nothing):
                // each counts once, like any other, and they are the only allowed difference; their sequence
                // numbers are the ones no ACCEPTED line showed (CI saw 15).
                await().atMost(WAIT).until(() -> sinkTotal(sink, confirmed.keySet()) >= 5000);
                JsonNode gaps = new ConfirmedStamps(sink, DEVICE, WAIT).get("/api/v1/devices/" + DEVICE + "/gaps");
                long storedUnconfirmed = gaps.get("lastSeq").asLong() - 5000;
                assertTrue(storedUnconfirmed >= 0 && storedUnconfirmed <= StampPipeline.MAX_BURST,
                        "stored but unconfirmed: " + storedUnconfirmed);
                awaitSinkMatches(sink, confirmed, (int) storedUnconfirmed);
            }
        }
    }

    @Test
    void scanningGoesOnOfflineWhileTheBrokerIsDownAndTheBacklogDrainsWhenItIsBack() throws Exception {
        try (MosquittoProcess broker = MosquittoProcess.start(dir.resolve("mosquitto"));
             SinkServer sink = SinkServer.start(sinkConfig(broker.url()));
             GatewayProcess gateway = GatewayProcess.start(gatewayConfig(broker.url(), "30s"), dir.resolve("gateway.log"))) {
            gateway.awaitLog("gateway ready", WAIT);
            gateway.awaitLog("uplink ready", WAIT);
            int next = scan(gateway, 0, 200, c -> false);
            broker.stop(true);
            gateway.awaitLog("lost the connection", WAIT);
            next = scan(gateway, next, 500, c -> false);
            long offline = gateway.seen().stream().filter(l -> l.startsWith("ACCEPTED_OFFLINE")).count();
            assertTrue(offline >= 450, "scans while the broker was down were confirmed as stored offline: " + offline);
            broker.start();
            scan(gateway, next, 200, c -> false);
            Map<String, Integer> confirmed = new TreeMap<>();
            tally(gateway.seen(), confirmed);
            assertEquals(900, total(confirmed));
            awaitSinkMatches(sink, confirmed);
        }
    }

    @Test
    void restartingTheSinkDuringADrainCountsEveryStampOnce() throws Exception {
        try (MosquittoProcess broker = MosquittoProcess.start(dir.resolve("mosquitto"))) {
            broker.stop(true);
            try (GatewayProcess gateway = GatewayProcess.start(gatewayConfig(broker.url(), "30s"), dir.resolve("gateway.log"))) {
                gateway.awaitLog("gateway ready", WAIT);
                scan(gateway, 0, 1500, c -> false); // a backlog, all offline
                Map<String, Integer> confirmed = new TreeMap<>();
                tally(gateway.seen(), confirmed);
                assertEquals(1500, total(confirmed));
                broker.start();
                SinkServer first = SinkServer.start(sinkConfig(broker.url()));
                try {
                    await().atMost(WAIT).until(() -> first.metrics().accepted() >= 300);
                } finally {
                    first.close(); // in the middle of the drain
                }
                try (SinkServer second = SinkServer.start(sinkConfig(broker.url()))) {
                    awaitSinkMatches(second, confirmed);
                }
            }
        }
    }

    /**
     * Writes {@code count} scans (round robin over the cards, starting at {@code from}) keeping at most
     * {@link #OUTSTANDING} unanswered, and stops early once {@code stop} holds for the number of confirmed
     * scans. Returns the index after the last scan written.
     */
    private int scan(GatewayProcess gateway, int from, int count, Predicate<Integer> stop) throws IOException {
        OutputStream in = gateway.stdin();
        int written = 0;
        int answered = 0;
        int confirmed = 0;
        while (written < count && !stop.test(confirmed)) {
            in.write((cards.get((from + written) % cards.size()) + "\n").getBytes(StandardCharsets.US_ASCII));
            written++;
            if (written - answered >= OUTSTANDING || written == count) {
                in.flush();
            }
            while (written - answered >= OUTSTANDING || (written == count && answered < written)) {
                String line = gateway.awaitLine(FaultInjectionIT::isAnswer, WAIT, "feedback for scan " + (answered + 1));
                answered++;
                if (line.startsWith("ACCEPTED")) {
                    confirmed++;
                }
                if (stop.test(confirmed)) {
                    break;
                }
            }
        }
        in.flush();
        return from + written;
    }

    private static boolean isAnswer(String line) {
        return line.startsWith("ACCEPTED") || line.startsWith("REJECTED") || line.startsWith("STORAGE_FAULT");
    }

    private static void tally(List<String> lines, Map<String, Integer> out) {
        ConfirmedStamps.tally(lines, out);
    }

    private static int total(Map<String, Integer> confirmed) {
        return ConfirmedStamps.total(confirmed);
    }

    private void awaitSinkMatches(SinkServer sink, Map<String, Integer> confirmed) throws IOException, InterruptedException {
        awaitSinkMatches(sink, confirmed, 0);
    }

    private void awaitSinkMatches(SinkServer sink, Map<String, Integer> confirmed, int unconfirmed)
            throws IOException, InterruptedException {
        new ConfirmedStamps(sink, DEVICE, WAIT).awaitMatches(confirmed, unconfirmed);
    }

    private int sinkTotal(SinkServer sink, Iterable<String> cardIds) throws Exception {
        return ConfirmedStamps.total(new ConfirmedStamps(sink, DEVICE, WAIT).counts(cardIds));
    }

    private Path writeSinkProperties(String brokerUrl) throws IOException {
        return FaultSinkFiles.write(dir, brokerUrl, REQUIRED);
    }

    private SinkConfig sinkConfig(String brokerUrl) throws IOException {
        return FaultSinkFiles.config(dir, brokerUrl, REQUIRED);
    }

    private Path gatewayConfig(String brokerUrl, String keepAlive) throws IOException {
        return GatewayProps.counter(DEVICE, trustedKey, dir.resolve("outbox"), brokerUrl)
                .set("device.location", "test-shop", "mqtt.keepAlive", keepAlive, "mqtt.inflight", "50",
                        "mqtt.reconnect.max", "1s")
                .write(dir.resolve("gateway.properties"));
    }
}
