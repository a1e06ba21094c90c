package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.DeviceStatus;
import app.sevenstamp.autopilot.protocol.RejectReason;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry;
import app.sevenstamp.autopilot.sink.testing.MoquetteRetry;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.core.ConditionTimeoutException;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14, item 2, "Programs", over real HTTP on a real sink and its embedded broker: an owner changes a
 * program's rules; new counter rules are retained on the broker and reach a box (a Paho client doing what
 * the gateway does: take the retained rules, report their version in its retained status); the page
 * shows the box applied them; the sink's own stamping follows the change at once and after a restart.
 * Bad input is refused naming the field, a form without the session's token is refused, staff cannot open
 * the page and a manager sees it without changing anything.
 */
class ProgramsPageIT {
    private static final String KEY = "pos-key-for-shop-1-0123456789abcdef";
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);
    private static final WireCodec CODEC = new WireCodec();

    @TempDir
    Path dir;
    private ConsoleHttp console;
    private MqttClient box;
    private final LinkedBlockingQueue<CounterRules> rulesSeen = new LinkedBlockingQueue<>();

    @AfterEach
    void close() throws Exception {
        if (box != null) {
            if (box.isConnected()) {
                box.disconnectForcibly(0, 0, false);
            }
            box.close();
        }
    }

    private HttpResponse<String> stamp(String idempotencyKey) throws Exception {
        return console.send(console.at("/api/v1/stamps").header("Authorization", "Bearer " + KEY).header("Idempotency-Key", idempotencyKey)
                .POST(HttpRequest.BodyPublishers.ofString("{\"cardCode\":\"" + Vectors.cardText("valid") + "\"}")));
    }

    /** What a gateway does on the broker: keeps the newest retained counter rules it is sent. */
    private void boxOnline(String url, String deviceId) throws Exception {
        // a box reconnects when the embedded broker drops it (MoquetteRetry), and so does this one
        box = MoquetteRetry.retry(() -> {
            MqttClient c = new MqttClient(url, deviceId, new MemoryPersistence());
            MqttConnectOptions o = new MqttConnectOptions();
            o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
            try {
                c.connect(o);
                c.subscribe(TOPICS.rules(), 1, (t, m) -> rulesSeen.add(CODEC.decode(m.getPayload(), CounterRules.class)));
                return c;
            } catch (MqttException e) {
                c.close();
                throw e;
            }
        });
    }

    private CounterRules nextRules() throws InterruptedException {
        CounterRules r = rulesSeen.poll(20, TimeUnit.SECONDS);
        assertNotNull(r, "counter rules on " + TOPICS.rules());
        return r;
    }

    /** The box's retained status, as the gateway reports it, with the rules version it holds. */
    private void report(String deviceId, long rulesVersion) throws Exception {
        box.publish(TOPICS.status(deviceId), CODEC.encode(new DeviceStatus(WireCodec.SCHEMA, deviceId, true, Instant.now(), "0.1.0",
                1, 60, 0, 0, "serial", 1_000_000_000L, 45.0, "ok", rulesVersion, 0)), 1, true);
    }

    private String awaitPage(String[] s, String text) {
        AtomicReference<String> last = new AtomicReference<>("");
        try {
            return await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        last.set(console.page(s, "/console/programs").body());
                        return last.get();
                    }, body -> body.contains(text));
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("the programs page never said '" + text + "':\n" + last.get(), e);
        }
    }

    @Test
    void anOwnerChangesTheRulesAndTheBoxesAndTheSinkFollow() throws Exception {
        TestSink config = TestSink.in(dir).vectorKey().program("coffee", 10).set("program.coffee.dailyCap", "3")
                .set("program.coffee.timeZone", "Europe/Berlin").set("pos.shop-1.apiKey", KEY)
                .set("web.publicUrl", "https://stamps.example.com");
        String deviceId;
        long changedVersion;
        try (SinkServer sink = config.start()) {
            console = new ConsoleHttp(sink.httpPort());
            assertTrue(sink.fleet().awaitReady(Duration.ofSeconds(10)));
            String token = Files.readString(config.storeDir().resolve("admin.token")).trim();
            for (String account : List.of(
                    "{\"name\":\"olga\",\"role\":\"owner\",\"password\":\"olga owns every shop\"}",
                    "{\"name\":\"mia\",\"role\":\"manager\",\"locations\":[\"shop-1\"],\"password\":\"mia manages shop one\"}",
                    "{\"name\":\"max\",\"role\":\"manager\",\"locations\":[\"shop-2\"],\"password\":\"max manages shop two\"}",
                    "{\"name\":\"sam\",\"role\":\"staff\",\"locations\":[\"shop-1\"],\"password\":\"sam is at the counter\"}")) {
                assertEquals(201, console.send(console.at("/api/v1/operators").header("Authorization", "Bearer " + token)
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(account))).statusCode());
            }
            FleetRegistry registry = sink.fleet().registry();
            String claim = sink.fleet().createClaim("shop-1", 1, Duration.ofDays(1)).token();
            deviceId = ((FleetRegistry.Granted) registry.provision(claim, "hw-1", null, null, Instant.now(), "x",
                    loc -> loc + "-box1")).deviceId();

            // the box takes the rules the sink retained at start, and says so
            boxOnline(sink.brokerUrl(), deviceId);
            CounterRules first = nextRules();
            assertEquals(new CounterRules.Limits(0, 3, "Europe/Berlin"), first.programs().get("coffee"));
            report(deviceId, first.version());
            String[] olga = console.session("olga", "olga owns every shop");
            String before = awaitPage(olga, "1 of 1 boxes enforce version " + first.version());
            assertTrue(before.contains("As the configuration file sets it."), before);
            assertTrue(before.contains("<label for=\"p-coffee-cooldown\">"), "labelled fields: " + before);

            // a till stamp under the file's rules
            assertEquals(200, stamp("till-1").statusCode());

            // bad input: refused, naming the field and what is allowed, and nothing published
            for (String[] bad : List.of(
                    new String[] {"stampsRequired=0&milestones=&cooldown=60&dailyCap=5&stampExpiry=30",
                            "stampsRequired: &#39;0&#39; is not allowed; allowed: a whole number from 1 to 100"},
                    new String[] {"stampsRequired=8&milestones=4%2C3&cooldown=60&dailyCap=5&stampExpiry=30",
                            "milestones: &#39;4,3&#39; is not allowed; allowed: increasing whole numbers from 1 to 7"},
                    new String[] {"stampsRequired=8&milestones=8&cooldown=60&dailyCap=5&stampExpiry=30",
                            "milestones: &#39;8&#39; is not allowed"},
                    new String[] {"stampsRequired=8&milestones=&cooldown=ten&dailyCap=5&stampExpiry=30",
                            "cooldown: &#39;ten&#39; is not allowed; allowed: a whole number from 0 to 86400"},
                    new String[] {"stampsRequired=8&milestones=&cooldown=60&dailyCap=101&stampExpiry=30",
                            "dailyCap: &#39;101&#39; is not allowed; allowed: a whole number from 0 to 100"},
                    new String[] {"stampsRequired=8&milestones=&cooldown=60&dailyCap=5&stampExpiry=-1",
                            "stampExpiry: &#39;-1&#39; is not allowed; allowed: a whole number from 0 to 3650"},
                    new String[] {"stampsRequired=8&milestones=&cooldown=60&dailyCap=5",
                            "stampExpiry: &#39;&#39; is not allowed"},
                    new String[] {"stampsRequired=%3Cscript%3Ealert(1)%3C%2Fscript%3E&milestones=&cooldown=60&dailyCap=5&stampExpiry=1",
                            "stampsRequired: &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39; is not allowed"})) {
                HttpResponse<String> r = console.post(olga, "/console/programs/coffee", bad[0]);
                assertEquals(400, r.statusCode(), bad[0]);
                assertTrue(r.body().contains(bad[1]), bad[1] + " in\n" + r.body());
                assertTrue(r.body().contains("role=\"alert\""), "the error is announced");
                assertFalse(r.body().contains("<script>"), "the value is shown escaped");
            }
            assertEquals(404, console.post(olga, "/console/programs/nope", "stampsRequired=8").statusCode());
            HttpResponse<String> noCsrf = console.send(console.at("/console/programs/coffee").header("Cookie", "7s_session=" + olga[0])
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString("stampsRequired=2&milestones=&cooldown=0&dailyCap=0&stampExpiry=0")));
            assertEquals(403, noCsrf.statusCode(), "a form without the session's token");
            assertEquals(first.version(), sink.fleet().rulesVersion(), "nothing refused was published");

            // staff cannot open the page; a manager sees it (their boxes only) and changes nothing
            String[] sam = console.session("sam", "sam is at the counter");
            assertEquals(403, console.page(sam, "/console/programs").statusCode());
            // the counter's new-customer QR is for staff too
            assertTrue(console.page(sam, "/console/counter").body().contains("data-overlay=\"join-coffee\""));
            HttpResponse<byte[]> qr = console.sendBytes(console.at("/console/counter/join/coffee").header("Cookie", "7s_session=" + sam[0]));
            assertEquals(200, qr.statusCode());
            assertEquals("image/png", qr.headers().firstValue("Content-Type").orElse(""));
            assertEquals("https://stamps.example.com/join/coffee", app.sevenstamp.autopilot.sink.join.QrDecode.text(qr.body()));
            assertEquals(404, console.page(sam, "/console/counter/join/tea").statusCode());
            assertEquals(303, console.send(console.at("/console/counter/join/coffee")).statusCode(), "no session: to the sign-in page");
            assertEquals(403, console.post(sam, "/console/programs/coffee", "stampsRequired=2&milestones=&cooldown=0&dailyCap=0&stampExpiry=0")
                    .statusCode());
            String[] mia = console.session("mia", "mia manages shop one");
            HttpResponse<String> asMia = console.page(mia, "/console/programs");
            assertEquals(200, asMia.statusCode());
            assertTrue(asMia.body().contains(deviceId) && !asMia.body().contains("<form method=\"post\" action=\"/console/programs/"),
                    "a manager sees the rules and the boxes of their locations, no form: " + asMia.body());
            assertEquals(403, console.post(mia, "/console/programs/coffee", "stampsRequired=2&milestones=&cooldown=0&dailyCap=0&stampExpiry=0")
                    .statusCode(), "a program's rules hold at every location: only an owner changes them");
            String[] max = console.session("max", "max manages shop two");
            assertFalse(console.page(max, "/console/programs").body().contains(deviceId), "a manager of shop-2 sees no box of shop-1");

            // the change: published to the box at once, live for the sink's own stamping
            HttpResponse<String> changed = console.post(olga, "/console/programs/coffee",
                    "stampsRequired=8&milestones=4&cooldown=60&dailyCap=5&stampExpiry=30");
            assertEquals(303, changed.statusCode(), changed.body());
            CounterRules pushed = nextRules();
            assertTrue(pushed.version() > first.version(), pushed.version() + " after " + first.version());
            assertEquals(new CounterRules.Limits(60, 5, "Europe/Berlin"), pushed.programs().get("coffee"));
            changedVersion = pushed.version();
            String waiting = console.page(olga, "/console/programs").body();
            assertTrue(waiting.contains("0 of 1 boxes enforce version " + changedVersion), waiting);
            assertTrue(waiting.contains("<tr class=\"behind\" id=\"box-" + deviceId + "\">"), waiting);
            report(deviceId, pushed.version());
            String applied = awaitPage(olga, "1 of 1 boxes enforce version " + changedVersion);
            assertTrue(applied.contains("<tr class=\"applied\" id=\"box-" + deviceId + "\">"), applied);
            assertTrue(applied.contains("Changed on the console by olga"), applied);
            for (String row : List.of("Stamps required</th><td>8</td><td>10</td>", "Milestones</th><td>4</td><td>none</td>",
                    "Cooldown</th><td>60 s</td><td>off</td>", "Daily cap</th><td>5 a day</td><td>3 a day</td>",
                    "Stamp expiry</th><td>30 days</td><td>never</td>")) {
                assertTrue(applied.contains("<tr><th scope=\"row\">" + row + "</tr>"), "in force, then the file's: " + row + "\n" + applied);
            }

            HttpResponse<String> second = stamp("till-2");
            assertEquals(422, second.statusCode(), "the new cooldown of 60 s holds at the sink at once: " + second.body());
            assertEquals(RejectReason.TOO_SOON, CODEC.decodeAck(second.body().getBytes(StandardCharsets.UTF_8)).reason());
            String card = console.send(console.at("/api/v1/cards/ABCDEFGHJKMNPQRS")).body();
            assertTrue(card.contains("\"stampsRequired\":8"), "the card shows the new goal: " + card);

            String audit = console.send(console.at("/api/v1/audit").header("Authorization", "Bearer " + token)).body();
            assertTrue(audit.contains("\"actor\":\"olga\",\"action\":\"program-change\",\"target\":\"program coffee\","
                    + "\"detail\":\"stampsRequired=10 milestones=none cooldown=0s dailyCap=3 stampExpiry=0d -> stampsRequired=8 "
                    + "milestones=4 cooldown=60s dailyCap=5 stampExpiry=30d; counter rules version " + changedVersion + "\""), audit);
            assertEquals(1, audit.split("program-change", -1).length - 1, "refused changes leave no audit line");
        }

        // a restart on the same file: the console's change still wins, with the same version (the boxes see nothing new)
        try (SinkServer sink = config.start()) {
            console = new ConsoleHttp(sink.httpPort());
            assertEquals(changedVersion, sink.fleet().rulesVersion());
            assertTrue(console.send(console.at("/api/v1/cards/ABCDEFGHJKMNPQRS")).body().contains("\"stampsRequired\":8"));
            String[] olga = console.session("olga", "olga owns every shop");
            assertTrue(console.page(olga, "/console/programs").body().contains("Changed on the console by olga"));

            // back to the file's values: new rules again, older than nothing
            assertEquals(303, console.post(olga, "/console/programs/coffee/reset", "x=1").statusCode());
            assertTrue(sink.fleet().rulesVersion() > changedVersion);
            String reset = console.page(olga, "/console/programs").body();
            assertTrue(reset.contains("As the configuration file sets it."), reset);
            assertTrue(reset.contains("<tr><th scope=\"row\">Cooldown</th><td>off</td></tr>"), reset);
            assertTrue(reset.contains("<tr><th scope=\"row\">Stamps required</th><td>10</td></tr>"), reset);
            assertTrue(console.send(console.at("/api/v1/cards/ABCDEFGHJKMNPQRS")).body().contains("\"stampsRequired\":10"));
        }
    }
}
