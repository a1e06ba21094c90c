package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.SocatPty;
import app.sevenstamp.autopilot.protocol.testing.TestPki;
import app.sevenstamp.autopilot.sink.SinkServer;
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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stamp over TLS: the real gateway jar -> Mosquitto's TLS listener (client certificates required)
 * -> the real sink, all with certificates this test makes; and a gateway given the wrong CA says so
 * in one log line that names the key, and keeps its stamps in the outbox.
 */
class TlsEndToEndIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private final HttpClient http = HttpClient.newHttpClient();
    private final ObjectMapper json = new ObjectMapper();

    @TempDir
    Path dir;

    private TestPki pki;
    private TestPki.Issued broker;

    @BeforeEach
    void certificates() {
        pki = TestPki.createCa(dir, "Shop Broker CA");
        broker = pki.server("broker", "DNS:localhost,IP:127.0.0.1");
    }

    @Test
    void stampTravelsGatewayToSinkOverMutualTls() throws Exception {
        TestPki.Issued sinkClient = pki.client("sink", "rsa");
        TestPki.Issued gatewayClient = pki.client("counter-1", "ec");
        try (MosquittoProcess mosquitto = MosquittoProcess.start(dir.resolve("mosquitto"),
                MosquittoProcess.tlsConfig(pki.ca(), broker.cert(), broker.key(), true));
             SinkServer sink = sinkConfig(mosquitto.sslUrl(), sinkClient).start()) {
            Path sinkProperties = dir.resolve("sink.properties");
            String card = SinkCli.issue(sinkProperties, "coffee", 1).get(0);
            String cardId = card.split("\\.")[3];
            try (SocatPty pty = SocatPty.start(dir, "scanner");
                 GatewayProcess gateway = GatewayProcess.start(gatewayConfig(mosquitto.sslUrl(), pty.devicePath(),
                         SinkCli.trustedKey(sinkProperties), pki.ca(), gatewayClient), dir.resolve("gateway.log"))) {
                gateway.awaitLog("uplink ready", WAIT);
                pty.scan(card);
                String line = gateway.awaitLine(l -> l.startsWith("ACCEPTED"), WAIT, "ACCEPTED");
                assertTrue(line.contains("card=" + cardId), line);
                await().atMost(WAIT).until(() -> {
                    JsonNode c = cardJson(sink, cardId);
                    return c != null && c.get("stamps").asInt() == 1;
                });
            }
        }
    }

    @Test
    void wrongCaIsReportedByNameWithoutAStackTraceAndTheGatewayKeepsTrying() throws Exception {
        TestPki other = TestPki.createCa(dir, "Not The Broker CA");
        TestPki.Issued gatewayClient = pki.client("counter-2", "rsa");
        try (MosquittoProcess mosquitto = MosquittoProcess.start(dir.resolve("mosquitto"),
                MosquittoProcess.tlsConfig(pki.ca(), broker.cert(), broker.key(), false));
             SocatPty pty = SocatPty.start(dir, "scanner");
             GatewayProcess gateway = GatewayProcess.start(gatewayConfig(mosquitto.sslUrl(), pty.devicePath(),
                     trustedKeyOfAFreshSink(), other.ca(), gatewayClient), dir.resolve("gateway.log"))) {
            String expected = "mqtt.tls.ca: the broker's certificate (CN=broker, issued by CN=Shop Broker CA) is not "
                    + "signed by the CA in " + other.ca() + " (CN=Not The Broker CA); set mqtt.tls.ca to the CA that "
                    + "signed the broker's certificate";
            gateway.awaitLog(expected, WAIT);
            // the connect loop keeps trying with backoff: the second attempt is logged too, without a stack trace
            gateway.awaitLog("attempt 2,", WAIT);
            String log = gateway.log();
            assertTrue(gateway.isAlive(), log);
            assertEquals(-1, log.indexOf("\tat "), "no stack trace for a wrong CA:\n" + log);
            assertTrue(log.contains("WARN") && log.lines().filter(l -> l.contains(expected)).count() >= 2, log);
        }
    }

    @Test
    void aBoxWithOnlyAClaimAndTheCaProvisionsAndStampsOverTls() throws Exception {
        try (MosquittoProcess mosquitto = MosquittoProcess.startWithDynamicSecurity(dir.resolve("mosquitto"), "admin",
                "admin-secret", MosquittoProcess.tlsListener(pki.ca(), broker.cert(), broker.key(), false))) {
            TestSink config = TestSink.in(dir).broker(mosquitto.sslUrl()).set("mqtt.tls.ca", pki.ca().toString())
                    .set("mqtt.username", "admin").set("mqtt.password", "admin-secret").set("fleet.provisioning", "true")
                    .program("coffee", 5);
            Path sinkProperties = config.write();
            String card = SinkCli.issue(sinkProperties, "coffee", 1).get(0);
            String cardId = card.split("\\.")[3];
            try (SinkServer sink = config.start()) {
                // the sink's fleet client reaches the TLS listener with the configured CA, not only its ingest
                assertTrue(sink.fleet().awaitReady(WAIT), "fleet ready over TLS with dynamic security");
                String claim = sink.fleet().createClaim("shop-tls", 1, Duration.ofDays(1)).token();
                Path gatewayConfig = GatewayProps.claim(claim, "hw-tls-1", dir.resolve("state"), mosquitto.sslUrl())
                        .set("mqtt.tls.ca", pki.ca().toString(), "mqtt.reconnect.max", "1s")
                        .write(dir.resolve("gateway.properties"));
                try (GatewayProcess gateway = GatewayProcess.start(gatewayConfig, dir.resolve("gateway.log"))) {
                    await().atMost(WAIT).until(() -> sink.fleet().registry().devices().stream()
                            .anyMatch(d -> d.online() && d.deviceId().startsWith("shop-tls-")));
                    gateway.type(card);
                    assertTrue(gateway.awaitLine(l -> l.startsWith("ACCEPTED"), WAIT, "ACCEPTED").contains("card=" + cardId));
                    await().atMost(WAIT).until(() -> {
                        JsonNode c = cardJson(sink, cardId);
                        return c != null && c.get("stamps").asInt() == 1;
                    });
                }
            }
        }
    }

    private String trustedKeyOfAFreshSink() throws Exception {
        return SinkCli.trustedKey(TestSink.in(dir).program("coffee", 5).write());
    }

    private JsonNode cardJson(SinkServer sink, String cardId) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + sink.httpPort() + "/api/v1/cards/" + cardId)).build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode() == 200 ? json.readTree(response.body()) : null;
    }

    /** The sink on the test's TLS broker, authenticated by {@code client}'s certificate; writes sink.properties. */
    private TestSink sinkConfig(String brokerUrl, TestPki.Issued client) {
        return TestSink.in(dir).broker(brokerUrl).set("mqtt.tls.ca", pki.ca().toString())
                .set("mqtt.tls.cert", client.cert().toString()).set("mqtt.tls.key", client.key().toString())
                .program("coffee", 5);
    }

    private Path gatewayConfig(String brokerUrl, Path port, String trustedKey, Path ca, TestPki.Issued client)
            throws IOException {
        return GatewayProps.minimal(trustedKey).set("device.id", "tls-counter", "scanner.type", "serial",
                "scanner.port", port.toString(), "outbox.dir", dir.resolve("outbox").toString(), "mqtt.url", brokerUrl,
                "mqtt.reconnect.min", "100ms", "mqtt.reconnect.max", "1s", "mqtt.tls.ca", ca.toString(),
                "mqtt.tls.cert", client.cert().toString(), "mqtt.tls.key", client.key().toString())
                .write(dir.resolve("gateway.properties"));
    }
}
