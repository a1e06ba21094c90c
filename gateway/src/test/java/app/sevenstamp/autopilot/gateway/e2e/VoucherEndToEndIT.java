package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.SocatPty;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reward's whole way on the real parts: card scans typed into a socat pty and read by the real gateway jar,
 * stamps through a Mosquitto subprocess into the real sink, which turns the reward into a voucher with a
 * till code from its pool; the voucher scanned at the same counter is redeemed once by the sink's redeem
 * service, refused the second time, and a goodwill voucher scanned while the broker is down gets
 * "cannot check now" and stays unused in the sink.
 */
class VoucherEndToEndIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    /** REWARD_DUE follows the completing stamp only when the sink answers within a second: not waited for. */
    private static final java.util.function.Predicate<String> NOT_REWARD = l -> !l.startsWith("REWARD_DUE");
    private static final String TOKEN = "voucher-e2e-admin-token-0123456789";

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();

    @Test
    void aRewardBecomesAVoucherTheCounterRedeemsOnceAndNeverWhileOffline() throws Exception {
        Files.writeString(dir.resolve("till-codes.txt"), "# codes the till accepts\nTILL-0001\nTILL-0002\n",
                StandardCharsets.UTF_8);
        try (MosquittoProcess mosquitto = MosquittoProcess.start(dir.resolve("mosquitto"))) {
            TestSink config = sinkConfig(mosquitto.url());
            Path sinkConfig = config.write();
            String card = SinkCli.issue(sinkConfig, "coffee", 1).get(0);
            String cardId = card.split("\\.")[3];
            String trustedKey = SinkCli.trustedKey(sinkConfig);
            try (SinkServer sink = config.start();
                 SocatPty pty = SocatPty.start(dir, "scanner");
                 GatewayProcess gateway = GatewayProcess.start(gatewayConfig(mosquitto.url(), pty.devicePath(), trustedKey),
                         dir.resolve("gateway.log"))) {
                gateway.awaitLog("uplink ready", WAIT);

                // two stamps complete the card: the sink issues a voucher with the first till code
                for (int i = 0; i < 2; i++) {
                    pty.scan(card);
                    String line = gateway.awaitLine(NOT_REWARD, WAIT, "the answer to stamp " + (i + 1));
                    assertTrue(line.startsWith("ACCEPTED card=" + cardId), line);
                }
                JsonNode voucher = await().atMost(WAIT).until(() -> vouchers(sink, cardId), v -> v.size() == 1).get(0);
                String code = voucher.path("code").asText();
                assertEquals("ACTIVE", voucher.path("state").asText(), voucher.toString());
                assertEquals("Free coffee", voucher.path("title").asText());
                assertEquals("TILL-0001", voucher.path("posCode").asText());

                pty.scan(code);
                String ok = gateway.awaitLine(NOT_REWARD, WAIT, "VOUCHER_OK");
                assertTrue(ok.startsWith("VOUCHER_OK voucher=" + code + " title=\"Free coffee\" posCode=TILL-0001 ms="), ok);
                assertEquals("REDEEMED", vouchers(sink, cardId).get(0).path("state").asText());

                pty.scan(code);
                assertEquals("REJECTED reason=ALREADY_REDEEMED voucher=" + code,
                        gateway.awaitLine(l -> true, WAIT, "REJECTED for the used voucher"));

                // the command line reads the sink's own file; it now names the port the sink took
                Path cli = config.set("http.port", Integer.toString(sink.httpPort())).write();
                String goodwill = SinkCli.run(cli, "vouchers", "issue", "--title", "Sorry for the wait", "--reason",
                        "queue at 7 am", "--card", cardId, "--valid", "30d").get(0).trim();
                assertTrue(goodwill.startsWith("7V-"), goodwill);

                mosquitto.stop(false);
                gateway.awaitLog("lost the connection", WAIT);
                pty.scan(goodwill);
                assertEquals("CANNOT_CHECK voucher=" + goodwill + " reason=OFFLINE",
                        gateway.awaitLine(l -> true, WAIT, "CANNOT_CHECK"));
                JsonNode kept = voucher(sink, goodwill);
                assertEquals("ACTIVE", kept.path("state").asText(), "nothing was redeemed offline: " + kept);
                assertEquals("TILL-0002", kept.path("posCode").asText(), "the goodwill voucher took the next till code");
                assertTrue(gateway.isAlive());
            }
        }
    }

    private JsonNode vouchers(SinkServer sink, String cardId) throws IOException, InterruptedException {
        return get(sink, "/api/v1/cards/" + cardId + "/vouchers").path("vouchers");
    }

    private JsonNode voucher(SinkServer sink, String code) throws IOException, InterruptedException {
        return get(sink, "/api/v1/vouchers/" + code);
    }

    private JsonNode get(SinkServer sink, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sink.httpPort() + path))
                .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return json.readTree(r.body());
    }

    /** The sink on the test's Mosquitto, with its voucher till codes. */
    private TestSink sinkConfig(String brokerUrl) {
        return TestSink.in(dir).broker(brokerUrl).set("admin.token", TOKEN).program("coffee", 2)
                .set("program.coffee.voucherTitle", "Free coffee").set("vouchers.posCodes", dir.resolve("till-codes.txt").toString());
    }

    private Path gatewayConfig(String brokerUrl, Path port, String trustedKey) throws IOException {
        return GatewayProps.counter("voucher-e2e", trustedKey, dir.resolve("outbox"), brokerUrl)
                .set("device.location", "test-shop").serialScanner(port).set("scanner.debounce", "0ms")
                .write(dir.resolve("gateway.properties"));
    }
}
