package app.sevenstamp.autopilot.gateway.e2e;

import app.sevenstamp.autopilot.gateway.testing.GatewayProps;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.fleet.DeviceKey;
import app.sevenstamp.autopilot.gateway.fleet.FleetAgent;
import app.sevenstamp.autopilot.gateway.fleet.FleetSettings;
import app.sevenstamp.autopilot.gateway.fleet.Provisioner;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.ProvisionGrant;
import app.sevenstamp.autopilot.protocol.ProvisionRequest;
import app.sevenstamp.autopilot.protocol.ProvisionResponse;
import app.sevenstamp.autopilot.protocol.ProvisionSeal;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.parallel.ResourceLock;

/**
 * Fleet management on the real parts: Mosquitto with the dynamic-security plugin, the sink in this
 * JVM (external broker, provisioning on), and provisioning by the gateway's own Provisioner or by the
 * real gateway jar.
 */
@Execution(ExecutionMode.CONCURRENT) // each case its own Mosquitto and sink, waits of 30 s: runs beside the other ITs (pom.xml, failsafe)
@ResourceLock("FleetIT") // its own cases one after another
class FleetIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);

    @TempDir
    Path dir;
    private MosquittoProcess mosquitto;
    private SinkServer sink;

    @BeforeEach
    void start() throws Exception {
        mosquitto = MosquittoProcess.startWithDynamicSecurity(dir.resolve("mosquitto"), "admin", "admin-secret");
        sink = TestSink.in(dir).set("store.dir", dir.resolve("sink").toString()).broker(mosquitto.url())
                .set("mqtt.username", "admin").set("mqtt.password", "admin-secret").set("fleet.provisioning", "true")
                .program("coffee", 5).start();
        assertTrue(sink.fleet().awaitReady(WAIT), "fleet ready on Mosquitto with dynamic security");
    }

    @AfterEach
    void stop() {
        if (sink != null) {
            sink.close();
        }
        if (mosquitto != null) {
            mosquitto.close();
        }
    }

    /** Each hardware id is one box with one device key, kept for the test's length (as in its state directory). */
    private final Map<String, byte[]> boxKeys = new java.util.concurrent.ConcurrentHashMap<>();

    private Provisioner provisioner(String claim, String hardwareId) {
        return provisioner(claim, hardwareId, boxKeys.computeIfAbsent(hardwareId,
                hw -> app.sevenstamp.autopilot.protocol.support.Ed25519.newSeed(new java.security.SecureRandom())));
    }

    private Provisioner provisioner(String claim, String hardwareId, byte[] deviceKey) {
        Properties p = new Properties();
        p.setProperty("provision.claimToken", claim);
        p.setProperty("provision.timeout", "10s");
        FleetSettings f = FleetSettings.take(p, "test");
        return new Provisioner(mosquitto.url(), TOPICS, f, hardwareId, deviceKey, "test", MqttTls.NONE,
                Provisioner.Sleeper.REAL, () -> ThreadLocalRandom.current().nextDouble());
    }

    /** Publishes a provisioning request as it is (the shared account, its one client id) and returns the sink's answer. */
    private ProvisionResponse ask(byte[] request, String nonce) throws Exception {
        MqttClient prov = connect(mosquitto.url(), ProvisionRequest.clientId("provision"), "provision", "provision");
        try {
            LinkedBlockingQueue<byte[]> answers = new LinkedBlockingQueue<>();
            prov.subscribe(TOPICS.provisionResponse(nonce), 1, (t, m) -> answers.add(m.getPayload()));
            prov.publish(TOPICS.provisionRequest(nonce), request, 1, false);
            byte[] answer = answers.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertTrue(answer != null, "an answer to " + nonce);
            return new WireCodec().decode(answer, ProvisionResponse.class);
        } finally {
            prov.disconnect();
            prov.close();
        }
    }

    /** A device session that notes when the broker ends it. */
    private static MqttClient session(String url, ProvisionGrant g, java.util.concurrent.CountDownLatch lost) throws MqttException {
        MqttClient c = connect(url, g.deviceId(), g.username(), g.password());
        c.setCallback(new org.eclipse.paho.client.mqttv3.MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
                lost.countDown();
            }

            @Override
            public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage message) {
            }

            @Override
            public void deliveryComplete(org.eclipse.paho.client.mqttv3.IMqttDeliveryToken token) {
            }
        });
        return c;
    }

    /**
     * The field attack (issue 12): a used-up claim plus the hardware id printed on the box provisioned an
     * impostor with new credentials and locked the real box out. Neither an old gateway's unsigned request
     * nor one signed with another key gets anything now, and the real box's session stays up.
     */
    @Test
    void anImpostorWithAUsedUpClaimAndTheHardwareIdIsRefusedAndTheRealBoxKeepsWorking() throws Exception {
        String claim = sink.fleet().createClaim("shop-20", 1, Duration.ofDays(1)).token();
        Path state = dir.resolve("real-box");
        byte[] realKey = DeviceKey.loadOrCreate(state, new java.security.SecureRandom());
        ProvisionGrant real = provisioner(claim, "pi-10000000deadbeef", realKey).provisionInto(state);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve("device-key.properties"))));
        java.util.concurrent.CountDownLatch lost = new java.util.concurrent.CountDownLatch(1);
        MqttClient realSession = session(mosquitto.url(), real, lost);
        long refusedBefore = sink.fleet().provisionRefusals();

        // an old gateway's request, or a hand-made one: claim and hardware id only
        String nonce = "impostor-unsigned-000001";
        ProvisionResponse unsigned = ask(new WireCodec().encode(new ProvisionRequest(1, nonce, claim, "pi-10000000deadbeef",
                ProvisionSeal.newKey(new java.security.SecureRandom()), "0.1.0", null, null)), nonce);
        assertEquals(false, unsigned.ok());
        assertEquals("device " + real.deviceId() + " has a device key and this request is not signed; a claim and a "
                + "hardware id do not re-provision a box: it needs its own key or an operator's approval (devices approve "
                + real.deviceId() + ")", unsigned.error());
        // the current gateway software with a key of its own
        Provisioner.RefusedException signed = assertThrows(Provisioner.RefusedException.class,
                () -> provisioner(claim, "pi-10000000deadbeef").attempt());
        assertTrue(signed.getMessage().contains("is provisioned with another device key"), signed.getMessage());
        // a key put into a request signed by another key
        nonce = "impostor-stolen-pubkey-01";
        ProvisionRequest mine = new ProvisionRequest(1, nonce, claim, "pi-10000000deadbeef",
                ProvisionSeal.newKey(new java.security.SecureRandom()), "0.1.0", null, null)
                .signedWith(app.sevenstamp.autopilot.protocol.support.Ed25519.newSeed(new java.security.SecureRandom()));
        String realPublic = registry().device(real.deviceId()).orElseThrow().publicKey();
        ProvisionResponse forged = ask(new WireCodec().encode(new ProvisionRequest(1, nonce, mine.claimToken(), mine.hardwareId(),
                mine.responseKey(), mine.version(), realPublic, mine.signature())), nonce);
        assertEquals("the request's signature does not match its public key", forged.error());
        assertEquals(refusedBefore + 3, sink.fleet().provisionRefusals());

        // the real box was not touched: same session, same credentials
        assertEquals(1, lost.getCount(), "the real box's session is still up");
        assertTrue(realSession.isConnected());
        realSession.publish(TOPICS.status(real.deviceId()), "{}".getBytes(StandardCharsets.UTF_8), 1, false);
        realSession.disconnect();
        connect(mosquitto.url(), real.deviceId(), real.username(), real.password()).disconnect();
        assertEquals(1, registry().devices().size());
    }

    /** Its key, not its claim, lets a box that lost its credentials provision itself again (the claim is used up). */
    @Test
    void aBoxThatLostItsCredentialsProvisionsItselfAgainWithItsOwnKey() throws Exception {
        String claim = sink.fleet().createClaim("shop-21", 1, Duration.ofDays(1)).token();
        Path state = dir.resolve("box");
        ProvisionGrant first = provisioner(claim, "hw-lost", DeviceKey.loadOrCreate(state, new java.security.SecureRandom()))
                .provisionInto(state);
        Files.delete(state.resolve("identity.properties"));
        // the next start finds the same key in the state directory
        ProvisionGrant again = provisioner(claim, "hw-lost", DeviceKey.loadOrCreate(state, new java.security.SecureRandom()))
                .provisionInto(state);
        assertEquals(first.deviceId(), again.deviceId());
        assertNotEquals(first.password(), again.password());
        assertThrows(MqttException.class, () -> connect(mosquitto.url(), first.deviceId(), first.username(), first.password()));
        connect(mosquitto.url(), again.deviceId(), again.username(), again.password()).disconnect();
        assertEquals(0, registry().claims().stream().filter(c -> c.token().equals(claim)).findFirst().orElseThrow().usesLeft());
    }

    /** A box whose state directory is gone (new SD card) has a new key: an operator approves exactly one provisioning. */
    @Test
    void anOperatorsApprovalAllowsExactlyOneReprovisioningWithANewKey() throws Exception {
        String claim = sink.fleet().createClaim("shop-22", 1, Duration.ofDays(1)).token();
        ProvisionGrant old = provisioner(claim, "hw-sd").attempt();
        byte[] newCard = app.sevenstamp.autopilot.protocol.support.Ed25519.newSeed(new java.security.SecureRandom());
        Provisioner.RefusedException refused = assertThrows(Provisioner.RefusedException.class,
                () -> provisioner(claim, "hw-sd", newCard).attempt());
        assertTrue(refused.getMessage().endsWith("(devices approve " + old.deviceId() + ")"), refused.getMessage());

        // the operator approves through the HTTP route the CLI's 'devices approve' calls
        var approved = approve(old.deviceId());
        assertEquals(200, approved.statusCode(), approved.body());
        assertTrue(approved.body().contains("\"reprovisionApprovedUntil\":\"20"), approved.body());
        assertTrue(registry().device(old.deviceId()).orElseThrow().reprovisionApprovedUntil().isAfter(Instant.now()));
        ProvisionGrant replaced = provisioner(claim, "hw-sd", newCard).attempt();
        assertEquals(old.deviceId(), replaced.deviceId());
        assertThrows(MqttException.class, () -> connect(mosquitto.url(), old.deviceId(), old.username(), old.password()));
        connect(mosquitto.url(), replaced.deviceId(), replaced.username(), replaced.password()).disconnect();

        // used up: another key (or the old card found in a drawer) is refused again; the new card's key works
        assertThrows(Provisioner.RefusedException.class, () -> provisioner(claim, "hw-sd",
                app.sevenstamp.autopilot.protocol.support.Ed25519.newSeed(new java.security.SecureRandom())).attempt());
        assertThrows(Provisioner.RefusedException.class, () -> provisioner(claim, "hw-sd").attempt());
        assertEquals(replaced.deviceId(), provisioner(claim, "hw-sd", newCard).attempt().deviceId());
        var unknown = approve("shop-22-000000");
        assertEquals(404, unknown.statusCode(), unknown.body());
        assertTrue(unknown.body().contains("\"detail\":\"no provisioned device shop-22-000000\""), unknown.body());
    }

    private java.net.http.HttpResponse<String> approve(String deviceId) throws Exception {
        String token = Files.readString(dir.resolve("sink").resolve("admin.token")).trim();
        return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                "http://127.0.0.1:" + sink.httpPort() + "/api/v1/devices/" + deviceId + "/approve"))
                .header("Authorization", "Bearer " + token).POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    /** A recorded signed request (its response key inside) sent again gets nothing: the sink remembers granted nonces. */
    @Test
    void aReplayedSignedRequestIsRefused() throws Exception {
        String claim = sink.fleet().createClaim("shop-23", 1, Duration.ofDays(1)).token();
        byte[] key = app.sevenstamp.autopilot.protocol.support.Ed25519.newSeed(new java.security.SecureRandom());
        String nonce = "recorded-request-0000001";
        String responseKey = ProvisionSeal.newKey(new java.security.SecureRandom());
        byte[] recorded = new WireCodec().encode(new ProvisionRequest(1, nonce, claim, "hw-replay", responseKey, "0.1.0",
                null, null).signedWith(key));
        ProvisionResponse granted = ask(recorded, nonce);
        assertTrue(granted.ok(), String.valueOf(granted.error()));
        ProvisionGrant grant = new WireCodec().decode(ProvisionSeal.open(responseKey, nonce, granted.sealed()), ProvisionGrant.class);
        java.util.concurrent.CountDownLatch lost = new java.util.concurrent.CountDownLatch(1);
        MqttClient box = session(mosquitto.url(), grant, lost);

        ProvisionResponse replayed = ask(recorded, nonce);
        assertEquals(false, replayed.ok());
        assertTrue(replayed.error().startsWith("replayed request: nonce " + nonce + " was already used at "), replayed.error());
        assertEquals(1, lost.getCount(), "the box's session is still up");
        box.disconnect();
        connect(mosquitto.url(), grant.deviceId(), grant.username(), grant.password()).disconnect();
    }

    private static MqttClient connect(String url, String clientId, String user, String password) throws MqttException {
        MqttClient c = new MqttClient(url, clientId, new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setUserName(user);
        o.setPassword(password.toCharArray());
        c.connect(o);
        return c;
    }

    @Test
    void aProvisionedDevicePublishesOnlyOnItsOwnTopics() throws Exception {
        String claim = sink.fleet().createClaim("shop-12", 2, Duration.ofDays(7)).token();
        ProvisionGrant a = provisioner(claim, "hw-A").attempt();
        ProvisionGrant b = provisioner(claim, "hw-B").attempt();
        assertNotEquals(a.deviceId(), b.deviceId(), "a second box with the same claim becomes a new device");
        assertEquals("shop-12", a.location());
        assertEquals(sink.trustedKey(), a.config().get("cards.trustedKeys"), "the initial config carries the trusted key");

        LinkedBlockingQueue<String> seen = new LinkedBlockingQueue<>();
        MqttClient observer = connect(mosquitto.url(), "observer", "admin", "admin-secret");
        observer.subscribe(TOPICS.prefix() + "/gw/+/stamps", 1, (topic, m) -> seen.add(topic + " " + new String(m.getPayload(), StandardCharsets.UTF_8)));
        MqttClient deviceA = connect(mosquitto.url(), a.deviceId(), a.username(), a.password());
        // MQTT 3.1.1 has no negative PUBACK: the broker drops a denied publish silently. The allowed one,
        // sent after it on the same connection, arrives; had the first been let through it would have come first.
        deviceA.publish(TOPICS.stamps(b.deviceId()), "forged".getBytes(StandardCharsets.UTF_8), 1, false);
        deviceA.publish(TOPICS.stamps(a.deviceId()), "own".getBytes(StandardCharsets.UTF_8), 1, false);
        String first = seen.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(TOPICS.stamps(a.deviceId()) + " own", first);
        assertTrue(seen.isEmpty(), "the publish on another device's topic never reached a subscriber: " + seen);
        // the sink's counter rules, retained under dynamic security, are readable by the box
        LinkedBlockingQueue<byte[]> rules = new LinkedBlockingQueue<>();
        deviceA.subscribe(TOPICS.rules(), 1, (topic, m) -> rules.add(m.getPayload()));
        byte[] r = rules.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(r != null, "retained counter rules on " + TOPICS.rules());
        CounterRules counterRules = new WireCodec().decode(r, CounterRules.class);
        assertEquals(sink.fleet().rulesVersion(), counterRules.version(), "the version the sink published");
        assertEquals(new CounterRules.Limits(0, 0, "UTC"), counterRules.programs().get("coffee"));
        deviceA.disconnect();

        // the credentials are bound to the device's client id, and a wrong password is refused
        assertThrows(MqttException.class, () -> connect(mosquitto.url(), b.deviceId(), a.username(), a.password()));
        assertThrows(MqttException.class, () -> connect(mosquitto.url(), a.deviceId(), a.username(), "wrong"));
        observer.disconnect();
    }

    /**
     * A stranger floods the public provisioning login on Mosquitto (its one client id, QoS 1, as fast as
     * the socket takes it, for three seconds). Mosquitto has no per-client rate: everything reaches the
     * sink, which takes requests at its own rate apart from the fleet's other messages. A box's status
     * sent in the middle arrives, the excess is counted, not logged line by line, and a box provisions
     * right after.
     */
    @Test
    void aFloodOfTheProvisioningLoginCostsTheFleetNothingElse() throws Exception {
        String claim = sink.fleet().createClaim("shop-f", 2, Duration.ofDays(7)).token();
        ProvisionGrant box = provisioner(claim, "hw-F1").attempt();
        MqttClient device = connect(mosquitto.url(), box.deviceId(), box.username(), box.password());
        long refused = sink.fleet().provisionRefusals();
        byte[] bogus = new WireCodec().encode(new ProvisionRequest(WireCodec.SCHEMA, "stranger-nonce-0123456789",
                "clm_guess", "hw-stranger", ProvisionSeal.newKey(new java.security.SecureRandom()), "0.1", null, null));
        int sent = 0;
        long t0 = System.nanoTime();
        try (app.sevenstamp.autopilot.sink.testing.RawMqtt stranger = app.sevenstamp.autopilot.sink.testing.RawMqtt.connect(
                mosquitto.url(), ProvisionRequest.clientId("provision"), "provision", "provision")) {
            while (System.nanoTime() - t0 < 3_000_000_000L) {
                stranger.publishQos1(TOPICS.provisionRequest("stranger-nonce-0123456789"), 1 + sent % 60_000, bogus);
                sent++;
                if (sent == 20_000) {
                    device.publish(TOPICS.status(box.deviceId()), new WireCodec().encode(new app.sevenstamp.autopilot.protocol
                            .DeviceStatus(1, box.deviceId(), true, Instant.now(), "mid-flood", 0, 1, 0, 0, "stdin", 1,
                                    Double.NaN, "ok", null, 0)), 1, true);
                }
            }
        }
        await().atMost(WAIT).until(() -> String.valueOf(
                sink.fleet().registry().device(box.deviceId()).orElseThrow().lastStatus()).contains("mid-flood"));
        long answered = sink.fleet().provisionRefusals() - refused;
        long dropped = sink.fleet().provisionRequestsDropped();
        System.out.printf("FleetIT flood: %d requests in 3 s; the sink answered %d and dropped %d%n", sent, answered, dropped);
        assertTrue(sent > 20_000, "the flood reached the status line: " + sent);
        assertTrue(dropped > 1_000, "the sink dropped the excess: " + dropped);
        assertTrue(answered <= 40 + 20 * ((System.nanoTime() - t0) / 1_000_000_000 + 1), answered + " answered");
        ProvisionGrant second = provisioner(claim, "hw-F2").attempt();
        assertEquals("shop-f", second.location());
        device.disconnect();
        device.close();
    }

    /**
     * The provisioning account has one client id (so that it can take over nobody else's session): boxes
     * provisioning at the same moment take it from each other, and each must still get its identity.
     */
    @Test
    void boxesProvisioningAtTheSameMomentAllGetTheirIdentity() throws Exception {
        String claim = sink.fleet().createClaim("shop-9", 4, Duration.ofDays(1)).token();
        java.util.concurrent.ExecutorService boxes = java.util.concurrent.Executors.newFixedThreadPool(4);
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        try {
            java.util.List<java.util.concurrent.Future<ProvisionGrant>> grants = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                String hw = "hw-concurrent-" + i;
                Path state = dir.resolve(hw);
                Files.createDirectories(state);
                grants.add(boxes.submit(() -> {
                    go.await();
                    return provisioner(claim, hw).provisionInto(state);
                }));
            }
            go.countDown();
            java.util.Set<String> ids = new java.util.HashSet<>();
            for (var g : grants) {
                ids.add(g.get(90, TimeUnit.SECONDS).deviceId());
            }
            assertEquals(4, ids.size(), "four boxes, four devices: " + ids);
        } finally {
            boxes.shutdownNow();
        }
    }

    @Test
    void expiredAndUsedUpClaimsAreRefusedAndTheSameBoxWithItsKeyOnlyRotatesItsPassword() throws Exception {
        Instant past = Instant.now().minus(Duration.ofHours(1));
        sink.fleet().registry().createClaim(new FleetRegistry.Claim("clm_expired_000000000000", "shop-1", 5, 5, past,
                past.minus(Duration.ofDays(1))));
        Provisioner.RefusedException expired = assertThrows(Provisioner.RefusedException.class,
                () -> provisioner("clm_expired_000000000000", "hw-X").attempt());
        assertTrue(expired.getMessage().contains("expired"), expired.getMessage());

        String claim = sink.fleet().createClaim("shop-2", 1, Duration.ofDays(1)).token();
        ProvisionGrant first = provisioner(claim, "hw-1").attempt();
        Provisioner.RefusedException usedUp = assertThrows(Provisioner.RefusedException.class,
                () -> provisioner(claim, "hw-2").attempt());
        assertTrue(usedUp.getMessage().contains("used up"), usedUp.getMessage());
        assertThrows(Provisioner.RefusedException.class, () -> provisioner("clm_unknown_0000000000000", "hw-3").attempt());

        // the same box again (its key): same device id, a new password; the old one stops working
        ProvisionGrant again = provisioner(claim, "hw-1").attempt();
        assertEquals(first.deviceId(), again.deviceId());
        assertNotEquals(first.password(), again.password());
        assertThrows(MqttException.class, () -> connect(mosquitto.url(), first.deviceId(), first.username(), first.password()));
        connect(mosquitto.url(), again.deviceId(), again.username(), again.password()).disconnect();
    }

    @Test
    void theRealGatewayProvisionsStampsAsItselfTakesConfigAndCommandsAndGoesOfflineByItsWill() throws Exception {
        Path state = dir.resolve("state");
        Path config = claimOnlyConfig("shop-7", "hw-e2e-1", state);
        FleetRegistry registry = sink.fleet().registry();
        String deviceId;
        try (GatewayProcess gw = GatewayProcess.start(config, dir.resolve("gateway-1.log"))) {
            await().atMost(WAIT).until(() -> registry.devices().stream().anyMatch(FleetRegistry.Device::online));
            deviceId = registry.devices().get(0).deviceId();
            assertTrue(deviceId.startsWith("shop-7-"), deviceId);
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve("identity.properties"))));
            // the box made its key pair; the sink pinned the public half, the private half stayed in the file
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve("device-key.properties"))));
            Properties key = new Properties();
            key.load(new java.io.StringReader(Files.readString(state.resolve("device-key.properties"))));
            assertEquals(key.getProperty("ed25519.publicKey"), registry.device(deviceId).orElseThrow().publicKey());

            // a stamp, sent as itself through its ACL
            String card = app.sevenstamp.autopilot.sink.cards.SigningKey.loadOrCreate(dir.resolve("sink").resolve("signing.key"), "k1")
                    .signer().sign("coffee", "ABCDEFGHJKMNPQRS");
            gw.type(card);
            gw.awaitLine(l -> l.startsWith("ACCEPTED"), WAIT, "ACCEPTED");
            await().atMost(WAIT).until(() -> sink.metrics().accepted() == 1);

            // config reaches the online device within 2 s and is reported back
            long version = sink.fleet().setConfig(deviceId, Map.of("fleet.heartbeat", "2s")).desiredVersion();
            await().atMost(Duration.ofSeconds(2)).until(() -> reportedVersion(registry, deviceId) == version);

            // identify, acknowledged with its result
            String cmd = sink.fleet().sendCommand(deviceId, "identify", null);
            await().atMost(WAIT).until(() -> registry.command(cmd).map(c -> Boolean.TRUE.equals(c.ok())).orElse(false));
            gw.awaitLine(l -> l.contains("IDENTIFY"), WAIT, "the identify signal");

            gw.kill();
        }
        // killed with -9: the broker publishes the retained last will
        await().atMost(WAIT).until(() -> !registry.device(deviceId).orElseThrow().online());

        // a change made while it is offline reaches it when it comes back
        long offlineVersion = sink.fleet().setConfig(deviceId, Map.of("cards.programs", "coffee")).desiredVersion();
        try (GatewayProcess gw = GatewayProcess.start(config, dir.resolve("gateway-2.log"))) {
            await().atMost(WAIT).until(() -> reportedVersion(registry, deviceId) == offlineVersion);
            assertEquals(1, registry.devices().size(), "restarting did not provision a second device");
        }
        assertTrue(Files.readString(state.resolve("fleet-config.properties")).contains("cards.programs=coffee"));

        // it loses its credentials: its own key provisions it again, though its one-use claim is used up
        Instant before = registry.device(deviceId).orElseThrow().provisionedAt();
        Files.delete(state.resolve("identity.properties"));
        try (GatewayProcess gw = GatewayProcess.start(config, dir.resolve("gateway-3.log"))) {
            await().atMost(WAIT).until(() -> registry.device(deviceId).orElseThrow().provisionedAt().isAfter(before)
                    && registry.device(deviceId).orElseThrow().online());
            assertEquals(1, registry.devices().size(), "the same device, not a second one");
        }
    }

    @Test
    void flushSelfTestLogLevelAndRestartAreAcknowledgedAndRestartExitsForTheSupervisor() throws Exception {
        Path state = dir.resolve("state");
        Path config = claimOnlyConfig("shop-9", "hw-cmd-1", state);
        FleetRegistry registry = sink.fleet().registry();
        String deviceId;
        try (GatewayProcess gw = GatewayProcess.start(config, dir.resolve("gateway-1.log"))) {
            await().atMost(WAIT).until(() -> registry.devices().stream().anyMatch(FleetRegistry.Device::online));
            deviceId = registry.devices().get(0).deviceId();

            FleetRegistry.Command flush = acked(registry, sink.fleet().sendCommand(deviceId, "flush", null));
            assertEquals(Boolean.TRUE, flush.ok(), flush.result());
            assertTrue(flush.result().startsWith("sending the outbox now; backlog 0"), flush.result());

            FleetRegistry.Command selfTest = acked(registry, sink.fleet().sendCommand(deviceId, "self-test", null));
            assertEquals(Boolean.TRUE, selfTest.ok(), selfTest.result());
            assertTrue(selfTest.result().contains("self-test pattern played; outbox backlog 0"), selfTest.result());
            // the console feedback logs its self-test: once at start, once more for the command
            await().atMost(WAIT).until(() -> gw.log().split("self-test: console feedback", -1).length - 1 == 2);

            FleetRegistry.Command level = acked(registry, sink.fleet().sendCommand(deviceId, "log-level", "debug"));
            assertEquals(Boolean.TRUE, level.ok(), level.result());
            assertTrue(Files.readString(state.resolve("fleet-config.properties")).contains("log.level=debug"));
            FleetRegistry.Command badLevel = acked(registry, sink.fleet().sendCommand(deviceId, "log-level", "loud"));
            assertEquals(Boolean.FALSE, badLevel.ok());
            assertEquals("level 'loud' is not one of trace, debug, info, warn, error", badLevel.result());

            // restart: acknowledged, then the process exits with the status the unit's Restart=on-failure restarts on
            FleetRegistry.Command restart = acked(registry, sink.fleet().sendCommand(deviceId, "restart", null));
            assertEquals(Boolean.TRUE, restart.ok(), restart.result());
            await().atMost(WAIT).until(() -> !gw.isAlive());
            assertEquals(FleetAgent.RESTART_EXIT, gw.exitValue(), gw.log());
        }
        // the supervisor's part (systemd in production, this test here): start it again on the same files
        await().atMost(WAIT).until(() -> !registry.device(deviceId).orElseThrow().online());
        try (GatewayProcess gw = GatewayProcess.start(config, dir.resolve("gateway-2.log"))) {
            await().atMost(WAIT).until(() -> registry.device(deviceId).orElseThrow().online());
            assertEquals(1, registry.devices().size(), "the restarted box is the same device, not a new one");
            gw.awaitLog("as " + deviceId, WAIT);
            String card = app.sevenstamp.autopilot.sink.cards.SigningKey.loadOrCreate(dir.resolve("sink").resolve("signing.key"), "k1")
                    .signer().sign("coffee", "ABCDEFGHJKMNPQRT");
            gw.type(card);
            gw.awaitLine(l -> l.startsWith("ACCEPTED"), WAIT, "ACCEPTED after the restart");
            // log.level=debug, stored by the command, applies from this start on
            gw.awaitLog("DEBUG [uplink] StampSender: sink accepted event", WAIT);
        }
    }

    @Test
    void aRevokedDeviceIsDisconnectedCannotConnectIsRefusedByTheSinkAndNeedsANewClaim() throws Exception {
        String claim = sink.fleet().createClaim("shop-4", 3, Duration.ofDays(1)).token();
        ProvisionGrant a = provisioner(claim, "hw-R").attempt();
        ProvisionGrant other = provisioner(claim, "hw-S").attempt();
        java.util.concurrent.CountDownLatch lost = new java.util.concurrent.CountDownLatch(1);
        MqttClient device = connect(mosquitto.url(), a.deviceId(), a.username(), a.password());
        device.setCallback(new org.eclipse.paho.client.mqttv3.MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
                lost.countDown();
            }

            @Override
            public void messageArrived(String topic, org.eclipse.paho.client.mqttv3.MqttMessage message) {
            }

            @Override
            public void deliveryComplete(org.eclipse.paho.client.mqttv3.IMqttDeliveryToken token) {
            }
        });

        // the operator API, behind the bearer token
        String token = Files.readString(dir.resolve("sink").resolve("admin.token")).trim();
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.URI revoke = java.net.URI.create("http://127.0.0.1:" + sink.httpPort() + "/api/v1/devices/" + a.deviceId() + "/revoke");
        var noToken = http.send(java.net.http.HttpRequest.newBuilder(revoke).POST(java.net.http.HttpRequest.BodyPublishers.noBody())
                .build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(401, noToken.statusCode());
        assertTrue(registry().device(a.deviceId()).orElseThrow().revokedAt() == null, "nothing revoked without the token");
        var revoked = http.send(java.net.http.HttpRequest.newBuilder(revoke).header("Authorization", "Bearer " + token)
                .POST(java.net.http.HttpRequest.BodyPublishers.noBody()).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        assertEquals(200, revoked.statusCode(), revoked.body());
        assertTrue(revoked.body().contains("\"revokedAt\":\"20"), revoked.body());

        // the broker deleted its client: the session ends and the credentials no longer work
        assertTrue(lost.await(WAIT.toSeconds(), TimeUnit.SECONDS), "the revoked device's session was ended");
        MqttException refused = assertThrows(MqttException.class, () -> connect(mosquitto.url(), a.deviceId(), a.username(), a.password()));
        assertEquals(MqttException.REASON_CODE_NOT_AUTHORIZED, refused.getReasonCode(), refused.toString());
        FleetRegistry.Device d = registry().device(a.deviceId()).orElseThrow();
        assertTrue(d.revoked() && d.passwordHash() == null && !d.online(), d.toString());
        // the other device of the same claim is untouched
        connect(mosquitto.url(), other.deviceId(), other.username(), other.password()).disconnect();

        // whatever still arrives in its name (here: published by an admin session) is refused and counted
        MqttClient admin = connect(mosquitto.url(), "forwarder", "admin", "admin-secret");
        admin.publish(TOPICS.stamps(a.deviceId()), "{\"late\":true}".getBytes(StandardCharsets.UTF_8), 1, false);
        admin.disconnect();
        await().atMost(WAIT).until(() -> sink.metrics().malformed(app.sevenstamp.autopilot.sink.ingest.DeviceGate.KIND) == 1);
        assertEquals(0, sink.metrics().accepted());

        // the same box with its old claim is refused; with a new claim it comes back under its device id
        Provisioner.RefusedException old = assertThrows(Provisioner.RefusedException.class, () -> provisioner(claim, "hw-R").attempt());
        assertTrue(old.getMessage().contains("was revoked at") && old.getMessage().contains("needs a new claim"), old.getMessage());
        String fresh = sink.fleet().createClaim("shop-5", 1, Duration.ofDays(1)).token();
        ProvisionGrant back = provisioner(fresh, "hw-R").attempt();
        assertEquals(a.deviceId(), back.deviceId());
        assertEquals("shop-5", back.location());
        connect(mosquitto.url(), back.deviceId(), back.username(), back.password()).disconnect();
        assertTrue(sink.fleet().admits(a.deviceId()), "re-provisioned: its events are taken again");
        assertEquals(0, sink.fleet().registry().claims().stream().filter(c -> c.token().equals(fresh)).findFirst().orElseThrow().usesLeft());
    }

    private FleetRegistry registry() {
        return sink.fleet().registry();
    }

    private static FleetRegistry.Command acked(FleetRegistry registry, String commandId) {
        await().atMost(WAIT).until(() -> registry.command(commandId).map(c -> c.ackedAt() != null).orElse(false));
        return registry.command(commandId).orElseThrow();
    }

    private static long reportedVersion(FleetRegistry registry, String deviceId) throws Exception {
        String status = registry.device(deviceId).orElseThrow().lastStatus();
        return status == null ? -1 : new ObjectMapper().readTree(status).path("configVersion").asLong(-1);
    }


    /** A box as it comes out of the installer: a claim for the location, the broker, nothing else of its own. */
    private Path claimOnlyConfig(String location, String hardwareId, Path state) throws Exception {
        String claim = sink.fleet().createClaim(location, 1, Duration.ofDays(7)).token();
        return GatewayProps.claim(claim, hardwareId, state, mosquitto.url())
                .set("mqtt.reconnect.max", "1s", "fleet.heartbeat", "1s").write(dir.resolve("gateway.properties"));
    }
}
