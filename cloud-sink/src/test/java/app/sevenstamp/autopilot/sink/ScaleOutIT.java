package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.card.CardSigner;
import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.testing.PostgresCluster;
import app.sevenstamp.autopilot.sink.testing.TestIds;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tinylog.Logger;

/**
 * Two sink processes behind one Mosquitto with a {@code $share} subscription, on one PostgreSQL;
 * gateways that resend what was not acknowledged (as the real gateway's outbox does); one sink
 * killed with SIGKILL mid-stream. At the end every event is acknowledged to its own device and
 * counted exactly once.
 */
class ScaleOutIT {
    private static final Path JAR = Path.of("target", "autopilot-sink.jar");
    private static final Pattern READY = Pattern.compile("sink ready broker=\\S+ http=(http://127\\.0\\.0\\.1:\\d+)");
    private static final int DEVICES = 4;
    private static final int PER_DEVICE = 150;
    private static final int CARDS = 6;
    private static final int STAMPS_REQUIRED = 7;

    @TempDir
    Path dir;
    private final List<Process> sinks = new ArrayList<>();
    private final List<Gateway> gateways = new ArrayList<>();
    private MosquittoProcess broker;

    @AfterEach
    void stop() throws Exception {
        for (Gateway g : gateways) {
            g.client.disconnectForcibly(500);
            g.client.close();
        }
        for (Process p : sinks) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        if (broker != null) {
            broker.close();
        }
    }

    /** A stand-in gateway: publishes its events at QoS 1 and records the sink's answers to its own topic. */
    private static final class Gateway {
        final String device;
        final MqttClient client;
        final Map<String, StampEvent> events = new LinkedHashMap<>();
        final Map<String, StampAck> acks = new ConcurrentHashMap<>();
        final List<String> foreign = new java.util.concurrent.CopyOnWriteArrayList<>();
        final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
        final WireCodec codec = new WireCodec();

        Gateway(String url, String device) throws Exception {
            this.device = device;
            client = new MqttClient(url, "gw-" + device, new MemoryPersistence());
            MqttConnectOptions o = new MqttConnectOptions();
            o.setMaxInflight(1000);
            client.connect(o);
            client.subscribe(topics.acks(device), 1, (t, m) -> {
                StampAck ack = codec.decodeAck(m.getPayload());
                if (!ack.deviceId().equals(device)) {
                    foreign.add(ack.eventId());
                }
                acks.put(ack.eventId(), ack);
            });
        }

        void publish(StampEvent e) throws Exception {
            events.put(e.eventId(), e);
            client.publish(topics.stamps(device), codec.encode(e), 1, false);
        }

        /** What the outbox does: send again whatever has no answer yet. */
        int resendUnanswered() throws Exception {
            int n = 0;
            for (StampEvent e : events.values()) {
                if (!acks.containsKey(e.eventId())) {
                    client.publish(topics.stamps(device), codec.encode(e), 1, false);
                    n++;
                }
            }
            return n;
        }
    }

    private Process sink(String name, String pgUrl, Path key) throws Exception {
        Path config = dir.resolve(name + ".properties");
        Path store = dir.resolve(name);
        Files.createDirectories(store);
        Files.copy(key, store.resolve("signing.key"));
        Files.writeString(config, String.join("\n", "store.dir=" + store, "store.url=" + pgUrl, "store.user=sink",
                "broker.mode=external", "broker.url=" + broker.url(), "mqtt.clientId=sink-" + name,
                "mqtt.shareGroup=sinks", "http.port=0", "program.coffee.stampsRequired=" + STAMPS_REQUIRED, ""),
                StandardCharsets.UTF_8);
        Path out = dir.resolve(name + ".out");
        Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-jar", JAR.toString(),
                "serve", "--config", config.toString()).redirectOutput(out.toFile())
                .redirectError(dir.resolve(name + ".log").toFile()).start();
        sinks.add(p);
        await().atMost(Duration.ofSeconds(30)).until(() -> !p.isAlive() || Files.readString(out).endsWith("\n"));
        assertTrue(p.isAlive(), () -> name + " exited: " + read(dir.resolve(name + ".log")));
        return p;
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return "(" + e.getMessage() + ")";
        }
    }

    private String http(String name) {
        Matcher m = READY.matcher(read(dir.resolve(name + ".out")).strip());
        assertTrue(m.matches());
        return m.group(1);
    }

    private long accepted(String name) throws Exception {
        String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(http(name) + "/api/v1/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("\"accepted\":(\\d+)").matcher(body);
        assertTrue(m.find(), body);
        return Long.parseLong(m.group(1));
    }

    private static long query(String url, String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(url, "sink", ""); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void twoSinksShareTheEventsAndOneKilledMidStreamLosesAndDoublesNothing() throws Exception {
        run(null);
    }

    /**
     * The same with a broker that lets each sink have 1000 events in flight, so that a sink's
     * batches hold up to {@code IngestService.BATCH} events each (with Mosquitto's default of 20,
     * they hold 20 at most): the kill lands in the middle of big batches, whose events are neither
     * half-applied nor lost.
     */
    @Test
    void aSinkKilledDuringLargeBatchesLosesAndDoublesNothing() throws Exception {
        run("allow_anonymous true\nmax_inflight_messages 1000\nmax_queued_messages 100000\n");
    }

    private void run(String brokerConfig) throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR.toAbsolutePath() + " is built by the package phase");
        broker = brokerConfig == null ? MosquittoProcess.start(dir.resolve("mosquitto"))
                : MosquittoProcess.start(dir.resolve("mosquitto"), brokerConfig);
        String pgUrl = PostgresCluster.shared().newDatabase();
        Path key = dir.resolve("signing.key");
        Files.writeString(key, "keyId=k1\nseed=" + Vectors.json("card-codes.json").get("seed").asText() + "\n",
                StandardCharsets.UTF_8);
        Process a = sink("a", pgUrl, key);
        sink("b", pgUrl, key);

        CardSigner signer = Vectors.signer();
        SecureRandom random = new SecureRandom();
        List<String> cards = new ArrayList<>();
        for (int i = 0; i < CARDS; i++) {
            cards.add(signer.sign("coffee", CardSigner.newCardId(random)));
        }
        for (int d = 0; d < DEVICES; d++) {
            gateways.add(new Gateway(broker.url(), "counter-" + d));
        }
        int total = DEVICES * PER_DEVICE;
        Instant t0 = Instant.parse("2026-11-23T08:00:00Z");
        int n = 0;
        for (int i = 1; i <= PER_DEVICE; i++) {
            for (Gateway g : gateways) {
                String code = cards.get(n % CARDS);
                String[] parts = code.split("\\.");
                g.publish(new StampEvent(WireCodec.SCHEMA, TestIds.event(g.device + "-" + i), g.device, i, code, parts[2], parts[3],
                        "shop-1", t0.plusMillis(n), i, "boot", true, EventKind.STAMP));
                n++;
            }
            if (i == PER_DEVICE / 3) {
                // Mid-stream: once sink a has applied some, kill it like a crash would.
                await().atMost(Duration.ofSeconds(30)).until(() -> accepted("a") > 0);
                long before = accepted("a");
                a.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                Logger.info("killed sink a after it had accepted {} events", before);
            }
        }
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofSeconds(2)).until(() -> {
            int resent = 0;
            for (Gateway g : gateways) {
                resent += g.resendUnanswered();
            }
            if (resent > 0) {
                Logger.info("gateways resent {} unanswered events", resent);
            }
            return resent == 0;
        });

        long answered = 0;
        for (Gateway g : gateways) {
            assertEquals(List.of(), g.foreign, "acks of other devices on " + g.device + "'s topic");
            assertEquals(g.events.keySet(), g.acks.keySet(), "every event of " + g.device + " answered");
            for (StampAck ack : g.acks.values()) {
                assertTrue(ack.outcome() == AckOutcome.ACCEPTED || ack.outcome() == AckOutcome.DUPLICATE, ack.toString());
            }
            answered += g.acks.size();
        }
        assertEquals(total, answered);
        assertEquals(total, query(pgUrl, "SELECT COUNT(*) FROM events WHERE outcome = 'ACCEPTED'"), "each event once");
        assertEquals(total, query(pgUrl, "SELECT COUNT(*) FROM events"));
        assertEquals(total, query(pgUrl, "SELECT SUM(stamps + " + STAMPS_REQUIRED + " * rewards_earned_total) FROM cards"),
                "every stamp on its card exactly once");
        assertEquals(CARDS, query(pgUrl, "SELECT COUNT(*) FROM cards"));
        assertEquals(total, query(pgUrl, "SELECT COUNT(*) FROM ledger WHERE entry_type = 'STAMP'"),
                "one ledger line per stamp: no half-applied event");
        long byB = accepted("b");
        Logger.info("sink b accepted {} of {} events; sink a the rest before it was killed", byB, total);
        assertTrue(byB > 0 && byB < total, "both instances took part: b accepted " + byB + " of " + total);
    }
}
