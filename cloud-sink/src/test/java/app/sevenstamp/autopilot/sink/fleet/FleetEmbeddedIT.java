package app.sevenstamp.autopilot.sink.fleet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.CommandAck;
import app.sevenstamp.autopilot.protocol.DesiredConfig;
import app.sevenstamp.autopilot.protocol.DeviceStatus;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.cli.SinkCli;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * Fleet management on the embedded broker: the CLI and HTTP API behind the admin token, anonymous
 * clients refused, a device limited to its own topics by the embedded authorizer, desired config
 * retained, and a command acknowledged into the registry.
 */
@Execution(ExecutionMode.CONCURRENT) // mostly waiting out the registry's re-read period and the broker's keepalive: runs beside the other ITs (pom.xml, failsafe)
class FleetEmbeddedIT {
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();

    @TempDir
    Path dir;

    private record Run(int status, String out, String err) {
    }

    private Run cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = new SinkCli(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static MqttClient connect(String url, String clientId, String user, String password) throws MqttException {
        MqttClient c = new MqttClient(url, clientId, new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        if (user != null) {
            o.setUserName(user);
            o.setPassword(password.toCharArray());
        }
        c.connect(o);
        return c;
    }

    @Test
    void claimsDevicesConfigAndCommandsOnTheEmbeddedBroker() throws Exception {
        TestSink sinkConfig = TestSink.in(dir).set("fleet.provisioning", "true").program("coffee", 5);
        Path file = sinkConfig.write();
        try (SinkServer sink = sinkConfig.start()) {
            assertTrue(sink.fleet().awaitReady(Duration.ofSeconds(10)));
            Path token = sinkConfig.storeDir().resolve("admin.token");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(token)));
            String url = "http://127.0.0.1:" + sink.httpPort();

            HttpResponse<String> noToken = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create(url + "/api/v1/devices")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(401, noToken.statusCode());

            Run claim = cli("claims", "create", "--location", "shop-3", "--uses", "2", "--expires", "1d",
                    "--config", file.toString(), "--url", url);
            assertEquals(0, claim.status(), claim.err());
            assertTrue(claim.out().trim().startsWith("clm_"), claim.out());
            Run bad = cli("claims", "create", "--location", "shop-3", "--expires", "soon", "--config", file.toString(), "--url", url);
            assertEquals(1, bad.status());
            assertTrue(bad.err().contains("expires"), bad.err());
            // its devices' ids would be client ids of the provisioning account
            Run provLocation = cli("claims", "create", "--location", "prov", "--config", file.toString(), "--url", url);
            assertEquals(1, provLocation.status(), provLocation.out());
            assertTrue(provLocation.err().contains("must not be 'prov' or start with 'prov-'"), provLocation.err());

            // anonymous clients are refused once provisioning is on
            assertThrows(MqttException.class, () -> connect(sink.brokerUrl(), "anon", null, null));

            // a device provisioned over MQTT, as a box does it: provisioning account, sealed grant
            MqttClient prov = connect(sink.brokerUrl(), "prov-1", "provision", "provision");
            String nonce = "nonce-0123456789abcdef";
            String key = app.sevenstamp.autopilot.protocol.ProvisionSeal.newKey(new java.security.SecureRandom());
            LinkedBlockingQueue<byte[]> answers = new LinkedBlockingQueue<>();
            prov.subscribe(TOPICS.provisionResponse(nonce), 1, (t, m) -> answers.add(m.getPayload()));
            prov.publish(TOPICS.provisionRequest(nonce), codec.encode(new app.sevenstamp.autopilot.protocol.ProvisionRequest(
                    1, nonce, claim.out().trim(), "hw-9", key, "test", null, null)), 1, false);
            byte[] answer = answers.poll(10, TimeUnit.SECONDS);
            var response = codec.decode(answer, app.sevenstamp.autopilot.protocol.ProvisionResponse.class);
            assertTrue(response.ok(), String.valueOf(response.error()));
            var grant = codec.decode(app.sevenstamp.autopilot.protocol.ProvisionSeal.open(key, nonce, response.sealed()),
                    app.sevenstamp.autopilot.protocol.ProvisionGrant.class);
            prov.disconnect();
            String id = grant.deviceId();
            assertTrue(id.startsWith("shop-3-"), id);

            LinkedBlockingQueue<String> seen = new LinkedBlockingQueue<>();
            MqttClient device = connect(sink.brokerUrl(), id, grant.username(), grant.password());
            device.subscribe(TOPICS.config(id), 1, (t, m) -> seen.add("config " + new String(m.getPayload(), StandardCharsets.UTF_8)));
            device.subscribe(TOPICS.commands(id), 1, (t, m) -> {
                var cmd = codec.decode(m.getPayload(), app.sevenstamp.autopilot.protocol.DeviceCommand.class);
                seen.add("cmd " + cmd.command());
                new Thread(() -> {
                    try {
                        device.publish(TOPICS.commandAcks(id), codec.encode(new CommandAck(1, cmd.commandId(), id, cmd.command(),
                                true, "done")), 1, false);
                    } catch (MqttException e) {
                        seen.add("ack failed " + e);
                    }
                }).start();
            });
            // a box that judges with older counter rules than the sink publishes, and owes two voucher cancels
            long rules = sink.fleet().rulesVersion();
            device.publish(TOPICS.status(id), codec.encode(new DeviceStatus(1, id, true, Instant.now(), "t", 0, 1, 0, 0,
                    "stdin", 1, Double.NaN, "ok", rules - 1, 2)), 1, true);
            await().atMost(Duration.ofSeconds(10)).until(() -> sink.fleet().registry().device(id).orElseThrow().online());

            Run set = cli("devices", "config", "set", id, "fleet.heartbeat=5s", "--config", file.toString(), "--url", url);
            assertEquals(0, set.status(), set.err());
            DesiredConfig desired = null;
            while (desired == null || desired.version() < 2) {
                String config = seen.poll(10, TimeUnit.SECONDS);
                assertTrue(config != null && config.startsWith("config "), String.valueOf(config));
                desired = codec.decode(config.substring(7).getBytes(StandardCharsets.UTF_8), DesiredConfig.class);
            }
            assertEquals("5s", desired.settings().get("fleet.heartbeat"));
            assertEquals(2, desired.version(), "version 1 was the initial config with the trusted key");

            Run cmd = cli("devices", "cmd", id, "identify", "--config", file.toString(), "--url", url);
            assertEquals(0, cmd.status(), cmd.err() + cmd.out());
            assertTrue(cmd.out().contains("ok identify: done"), cmd.out());

            Run list = cli("devices", "list", "--config", file.toString(), "--url", url);
            assertTrue(list.out().contains(id + "\tonline\tshop-3"), list.out());
            assertTrue(list.out().contains("\trules " + (rules - 1) + "/" + rules + " (behind)\tcancels 2\t"), list.out());
            Run refused = cli("devices", "config", "set", id, "mqtt.password=x", "--config", file.toString(), "--url", url);
            assertEquals(1, refused.status());
            assertTrue(refused.err().contains("cannot be set remotely"), refused.err());

            // the embedded authorizer: a publish on another device's topic never reaches a subscriber
            LinkedBlockingQueue<String> stamps = new LinkedBlockingQueue<>();
            MqttClient observer = connect(sink.brokerUrl(), "autopilot-sink-observer", "autopilot-sink", Files.readString(token).trim());
            observer.subscribe(TOPICS.prefix() + "/gw/+/cmdack", 1, (t, m) -> stamps.add(t));
            // QoS 0: Moquette 0.17 sends no PUBACK for a denied QoS 1 publish, which would block Paho's sync client
            device.publish(TOPICS.commandAcks("someone-else"), "x".getBytes(StandardCharsets.UTF_8), 0, false);
            device.publish(TOPICS.commandAcks(id), codec.encode(new CommandAck(1, "c-none", id, "flush", true, "")), 1, false);
            assertEquals(TOPICS.commandAcks(id), stamps.poll(10, TimeUnit.SECONDS));
            assertTrue(stamps.isEmpty(), stamps.toString());
            observer.disconnect();

            // revoked through the CLI: the embedded broker ends its session and refuses it from then on
            Run revoke = cli("devices", "revoke", id, "--config", file.toString(), "--url", url);
            assertEquals(0, revoke.status(), revoke.err());
            assertTrue(revoke.out().contains(id + " revoked at "), revoke.out());
            await().atMost(Duration.ofSeconds(10)).until(() -> !device.isConnected());
            assertThrows(MqttException.class, () -> connect(sink.brokerUrl(), id, grant.username(), grant.password()));
            assertTrue(cli("devices", "list", "--config", file.toString(), "--url", url).out().contains(id + "\trevoked\tshop-3"));
            Run unknown = cli("devices", "revoke", "no-such-box", "--config", file.toString(), "--url", url);
            assertEquals(1, unknown.status());
            assertTrue(unknown.err().contains("no device no-such-box"), unknown.err());
            device.close();
        }
    }

    @Test
    void aRevocationWrittenByAnotherSinkInstanceIsEnforcedHereWithinTheRereadPeriod() throws Exception {
        try (SinkServer sink = TestSink.in(dir).set("fleet.provisioning", "true").program("coffee", 5).start()) {
            FleetService fleet = sink.fleet();
            String token = fleet.createClaim("shop-r", 1, Duration.ofDays(1)).token();
            FleetRegistry.Decision d = fleet.registry().provision(token, "hw-r", null, null, Instant.now(), "hash",
                    loc -> "shop-r-1");
            assertTrue(d instanceof FleetRegistry.Granted, d.toString());
            assertTrue(fleet.admits("shop-r-1"));
            // another instance on the same database revokes it: only the registry row changes, not this
            // instance's memory
            assertTrue(fleet.registry().revoke("shop-r-1", Instant.now()).isPresent());
            await().atMost(Revocations.REVOKED_REREAD.plusSeconds(20)).pollInterval(Duration.ofMillis(200))
                    .until(() -> !fleet.admits("shop-r-1"));
            assertTrue(fleet.admits("shop-other"), "other devices are still admitted");
        }
    }
}
