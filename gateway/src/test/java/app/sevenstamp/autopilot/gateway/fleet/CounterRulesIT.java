package app.sevenstamp.autopilot.gateway.fleet;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.Gateway;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.config.GatewayConfig;
import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.DesiredConfig;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.cards.CardIssuer;
import app.sevenstamp.autopilot.sink.cards.SigningKey;
import app.sevenstamp.autopilot.sink.config.SinkConfig;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The counter rules and the live desired config on the real parts: the sink (embedded Moquette) publishes
 * its rules, an in-process gateway (stdin scanner, console feedback, H2 outbox in a temp dir) takes them,
 * and keeps refusing a card within its cooldown with the broker gone, also after its own restart.
 */
class CounterRulesIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();
    /** One client for the polls: a new one per poll opens a connection each time (the sink closes those past 64). */
    private final HttpClient http = HttpClient.newHttpClient();

    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-23T09:00:00Z"));
    private SinkServer sink;
    private Running gateway;
    private String coffee;
    private String tea;
    /** The version the sink published at start: the wall-clock second its rules were first numbered. */
    private long v;

    /** A gateway in this JVM with a pipe for its scanner and its console lines collected. */
    private final class Running implements AutoCloseable {
        final List<String> lines = new CopyOnWriteArrayList<>();
        final PipedOutputStream scans = new PipedOutputStream();
        final Gateway gw;

        Running(String brokerUrl, String trustedKey) throws Exception {
            PipedInputStream in = new PipedInputStream(scans, 64 * 1024);
            GatewayConfig config = GatewayProps.counter("counter-1", trustedKey, dir.resolve("gateway"), brokerUrl)
                    .set("cards.programs", "coffee,tea", "mqtt.reconnect.max", "2s").config("counter-1", dir);
            PrintStream out = new PrintStream(new LineCollector(lines), true, StandardCharsets.UTF_8);
            gw = Gateway.start(config, new Gateway.Environment(clock, Ticker.SYSTEM, in, out, false,
                    "boot-" + System.nanoTime(), () -> true));
        }

        /** Scans {@code code} and returns the console line it got. */
        String scan(String code) throws IOException {
            int before = lines.size();
            scans.write((code + "\n").getBytes(StandardCharsets.US_ASCII));
            scans.flush();
            await().atMost(WAIT).until(() -> lines.size() > before);
            return lines.get(before);
        }

        @Override
        public void close() throws IOException {
            scans.close();
            gw.close();
        }
    }

    /** Console lines, one string each (self-test and other lines included). */
    private static final class LineCollector extends OutputStream {
        private final List<String> lines;
        private final StringBuilder current = new StringBuilder();

        LineCollector(List<String> lines) {
            this.lines = lines;
        }

        @Override
        public synchronized void write(int b) {
            if (b == '\n') {
                lines.add(current.toString());
                current.setLength(0);
            } else {
                current.append((char) b);
            }
        }
    }

    @BeforeEach
    void start() throws Exception {
        SinkConfig config = TestSink.in(dir).program("coffee", 5).set("program.coffee.cooldown", "10m")
                .set("program.coffee.dailyCap", "3").set("program.coffee.timeZone", "Europe/Berlin").program("tea", 8).config();
        sink = SinkServer.start(config);
        assertTrue(sink.fleet().awaitReady(WAIT));
        SigningKey key = SigningKey.loadOrCreate(config.keysFile(), config.keyId());
        CardIssuer issuer = new CardIssuer(key.signer(), new SecureRandom());
        coffee = issuer.issue(config.program("coffee").orElseThrow());
        tea = issuer.issue(config.program("tea").orElseThrow());
        gateway = new Running(sink.brokerUrl(), sink.trustedKey());
        v = sink.fleet().rulesVersion();
        assertTrue(v > 1_700_000_000L, "numbered by the clock: " + v);
        await().atMost(WAIT).until(() -> gateway.gw.counterRules().version() == v);
    }

    @AfterEach
    void stop() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (sink != null) {
            sink.close();
        }
    }

    private int stampsAtSink(String code) throws Exception {
        String id = code.split("\\.")[3];
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + sink.httpPort() + "/api/v1/cards/" + id)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            return 0;
        }
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body()).path("stamps").asInt();
    }

    private void publishRetained(String topic, byte[] payload) throws Exception {
        MqttClient c = new MqttClient(sink.brokerUrl(), "test-" + System.nanoTime(), new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        c.connect(o);
        c.publish(topic, payload, 1, true);
        c.disconnect();
        c.close();
    }

    @Test
    void rulesArriveAndHoldOfflineAndOverARestartWhileTheBrokerIsDown() throws Exception {
        Path stored = dir.resolve("gateway").resolve(StateFiles.RULES);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(stored)));

        String first = gateway.scan(coffee);
        assertTrue(first.startsWith("ACCEPTED "), first);
        await().atMost(WAIT).until(() -> stampsAtSink(coffee) == 1); // acked: the outbox row is gone
        // the status tells the operator which rules the box judges with, and that no voucher cancel is owed
        gateway.gw.fleet().publishStatusNow();
        await().atMost(WAIT).until(() -> sink.fleet().registry().device("counter-1")
                .map(d -> String.valueOf(d.lastStatus())).orElse("").contains("\"rulesVersion\":" + v));
        assertTrue(sink.fleet().registry().device("counter-1").orElseThrow().lastStatus().contains("\"voucherCancels\":0"));

        sink.close(); // the broker with it
        await().atMost(WAIT).until(() -> !gateway.gw.online());
        clock.advance(Duration.ofMinutes(3));
        String soon = gateway.scan(coffee);
        assertTrue(soon.startsWith("TOO_SOON reason=TOO_SOON card "), soon);
        assertTrue(soon.contains("cooldown 600 s (counter rules version " + v + ")"), soon);
        assertTrue(gateway.scan(tea).startsWith("ACCEPTED_OFFLINE "), "tea has no limits");

        // restart while the broker is down: the rules come from the state file, the memory from the outbox
        gateway.close();
        clock.advance(Duration.ofMinutes(3));
        gateway = new Running(sink.brokerUrl(), sink.trustedKey());
        assertEquals(v, gateway.gw.counterRules().version());
        String afterRestart = gateway.scan(coffee);
        assertTrue(afterRestart.startsWith("TOO_SOON reason=TOO_SOON "), afterRestart);
        assertTrue(afterRestart.contains("stamped at this counter 360 s ago"), afterRestart);
        clock.advance(Duration.ofMinutes(5));
        assertTrue(gateway.scan(coffee).startsWith("ACCEPTED_OFFLINE "), "the cooldown is over");
    }

    @Test
    void onlyNewerValidRulesReplaceTheOnesInForceAndTheSinkNumbersPastABoxAhead() throws Exception {
        CounterRulesAgent agent = gateway.gw.counterRules();
        publishRetained(TOPICS.rules(), ("{\"schema\":1,\"version\":" + (v + 6) + ",\"programs\":{\"coffee\":{")
                .concat("\"cooldownSeconds\":-5,\"dailyCap\":0,\"timeZone\":\"UTC\"}}}").getBytes(StandardCharsets.UTF_8));
        publishRetained(TOPICS.rules(), "not json".getBytes(StandardCharsets.UTF_8));
        publishRetained(TOPICS.rules(), codec.encode(new CounterRules(1, v + 7, Map.of("coffee",
                new CounterRules.Limits(60, 0, "Atlantis/Capital")))));
        await().atMost(WAIT).until(() -> agent.refused() == 3);
        assertEquals(v, agent.version(), "malformed rules leave the sink's version in force");

        // a newer version without limits: the box takes it, and its status now reports a version above the
        // sink's (as after the sink's database was restored from a backup); the sink numbers its own rules
        // past it, and the box takes those: the cooldown is back
        publishRetained(TOPICS.rules(), codec.encode(new CounterRules(1, v + 4, Map.of())));
        // (past v+4: v+5, or the sink's clock second if that is later)
        await().atMost(WAIT).until(() -> agent.version() > v + 4 && agent.version() == sink.fleet().rulesVersion());
        long past = agent.version();
        String file = Files.readString(dir.resolve("gateway").resolve(StateFiles.RULES));
        assertTrue(file.contains("\"version\":" + past), file);

        // an older version is ignored (then a refused one, so that the older one was handled before the scans)
        publishRetained(TOPICS.rules(), codec.encode(new CounterRules(1, v + 3, Map.of())));
        publishRetained(TOPICS.rules(), "still not json".getBytes(StandardCharsets.UTF_8));
        await().atMost(WAIT).until(() -> agent.refused() == 4);
        assertTrue(gateway.scan(coffee).startsWith("ACCEPTED"));
        String soon = gateway.scan(coffee);
        assertTrue(soon.startsWith("TOO_SOON "), "version v+3 without limits was ignored: " + soon);
        assertEquals(past, agent.version());
    }

    @Test
    void desiredCardsProgramsApplyToTheNextScanWithoutARestart() throws Exception {
        assertTrue(gateway.scan(tea).startsWith("ACCEPTED"));
        publishRetained(TOPICS.config("counter-1"), codec.encode(new DesiredConfig(1, "counter-1", 1,
                Map.of("cards.programs", "coffee", "mqtt.keepAlive", "45s"))));
        await().atMost(WAIT).until(() -> gateway.gw.fleet().lastApplied() != null);
        FleetAgent.Applied applied = gateway.gw.fleet().lastApplied();
        assertEquals(List.of("cards.programs"), applied.live());
        assertEquals(List.of("mqtt.keepAlive"), applied.atRestart());
        String refused = gateway.scan(tea);
        assertTrue(refused.startsWith("REJECTED reason=UNKNOWN_PROGRAM "), refused);
        assertTrue(gateway.scan(coffee).startsWith("ACCEPTED"));

        // a value the gateway would refuse at start is refused live too, and the policy in force stays
        publishRetained(TOPICS.config("counter-1"), codec.encode(new DesiredConfig(1, "counter-1", 2,
                Map.of("cards.programs", "Not A Program!", "mqtt.keepAlive", "45s"))));
        await().atMost(WAIT).until(() -> gateway.gw.fleet().lastApplied().version() == 2);
        assertEquals(List.of("cards.programs"), gateway.gw.fleet().lastApplied().refused());
        assertTrue(gateway.scan(tea).startsWith("REJECTED reason=UNKNOWN_PROGRAM "));
        assertEquals("coffee", FleetAgent.storedSettings(dir.resolve("gateway")).get("cards.programs"),
                "the refused value is not stored either, so the next start does not fail on it");
    }
}
