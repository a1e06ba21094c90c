package app.sevenstamp.autopilot.sink.fleet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.DeviceStatus;
import app.sevenstamp.autopilot.protocol.ProvisionGrant;
import app.sevenstamp.autopilot.protocol.ProvisionRequest;
import app.sevenstamp.autopilot.protocol.ProvisionResponse;
import app.sevenstamp.autopilot.protocol.ProvisionSeal;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.CapturedLog;
import app.sevenstamp.autopilot.sink.SinkServer;
import app.sevenstamp.autopilot.sink.testing.MoquetteRetry;
import app.sevenstamp.autopilot.sink.testing.RawMqtt;
import app.sevenstamp.autopilot.sink.testing.TestSink;
import app.sevenstamp.autopilot.sink.broker.EmbeddedBroker;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
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
import org.tinylog.Level;

/**
 * A stranger with the public provisioning login floods the sink with provisioning requests for six
 * seconds (bogus ones at QoS 1, a thousand a connection as fast as the socket takes them, the PUBACKs left
 * unread, connecting again when cut).
 * The broker cuts the stranger's connections before Moquette's queues overflow (it drops whatever does
 * not fit, the sink's own PUBACKs too); a box's status sent in the middle of the flood reaches the
 * registry; the sink answers every request it lets through, at most its rate, and counts the rest; the
 * log gets a handful of lines, not one per request; and a real box provisions right after, asking again
 * while the broker still cuts its public login (as a box does).
 */
@Execution(ExecutionMode.CONCURRENT) // seconds of flooding and waiting: runs beside the other ITs (pom.xml, failsafe)
class ProvisioningFloodIT {
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);
    /** Publishes written on each connection (most of them after the broker cut it). */
    private static final int PER_CONNECTION = 1_000;
    private static final int MAX_CONNECTIONS = 2_000;
    private static final long FLOOD_NANOS = 6_000_000_000L;
    private final WireCodec codec = new WireCodec();

    @TempDir
    Path dir;

    @Test
    void aFloodOfBogusRequestsCostsTheFleetNothingElse() throws Exception {
        try (SinkServer sink = TestSink.in(dir).set("fleet.provisioning", "true").program("coffee", 5).start()) {
            FleetService fleet = sink.fleet();
            assertTrue(fleet.awaitReady(Duration.ofSeconds(20)), "fleet ready");
            ProvisionGrant box = provision(sink, fleet.createClaim("shop-f", 2, Duration.ofDays(1)).token(), "hw-flood-1");
            MqttClient device = connect(sink.brokerUrl(), box.deviceId(), box.username(), box.password());
            CapturedLog.clear();
            long refusedBefore = fleet.provisionRefusals();
            long admittedBefore = fleet.provisionRequestsAdmitted();

            byte[] bogus = codec.encode(new ProvisionRequest(WireCodec.SCHEMA, "stranger-nonce-0123456789", "clm_guess",
                    "hw-stranger", ProvisionSeal.newKey(new SecureRandom()), "0.1", null, null));
            long t0 = System.nanoTime();
            int sent = 0;
            int connections = 0;
            boolean statusSent = false;
            // the stranger sends as fast as the socket takes it and connects again whenever it is cut
            while (connections < MAX_CONNECTIONS && System.nanoTime() - t0 < FLOOD_NANOS) {
                connections++;
                try (RawMqtt stranger = RawMqtt.connect(sink.brokerUrl(), "prov-stranger-" + connections, "provision",
                        "provision")) {
                    for (int i = 0; i < PER_CONNECTION; i++) {
                        // QoS 1, so that a broker without the guard queues every one (it may drop QoS 0 to a busy client)
                        stranger.publishQos1(TOPICS.provisionRequest("stranger-nonce-0123456789"), 1 + i, bogus);
                        sent++;
                    }
                } catch (IOException cut) {
                    // closed by the broker's guard (MoquetteGuard): connect again
                }
                if (!statusSent && connections >= MAX_CONNECTIONS / 4) {
                    device.publish(TOPICS.status(box.deviceId()), codec.encode(new DeviceStatus(1, box.deviceId(), true,
                            Instant.now(), "mid-flood", 0, 1, 0, 0, "stdin", 1, Double.NaN, "ok", null, 0)), 1, true);
                    statusSent = true;
                }
            }
            long floodMs = (System.nanoTime() - t0) / 1_000_000;

            await().atMost(Duration.ofSeconds(20)).until(() -> String.valueOf(
                    fleet.registry().device(box.deviceId()).orElseThrow().lastStatus()).contains("mid-flood"));
            // every request let through is answered; beyond the rate they are dropped unread and counted
            await().atMost(Duration.ofSeconds(30)).until(() -> fleet.provisionRefusals() - refusedBefore == fleet.provisionRequestsAdmitted() - admittedBefore);
            long answered = fleet.provisionRefusals() - refusedBefore;
            long seconds = (System.nanoTime() - t0) / 1_000_000_000 + 1;
            EmbeddedBroker broker = sink.embeddedBroker().orElseThrow();
            System.out.printf("ProvisioningFloodIT: %d requests written on %d connections in %d ms; the broker cut %d "
                    + "connections; the sink answered %d and dropped %d%n", sent, connections, floodMs,
                    broker.publicLoginCuts(), answered, fleet.provisionRequestsDropped());
            assertTrue(broker.publicLoginCuts() > 0, "the broker cut the flooding connections");
            assertTrue(statusSent, "the box's status went out during the flood");
            assertEquals(List.of(), CapturedLog.lines(Level.WARN, "Session command queue"),
                    "Moquette's queues overflowed (its commands were dropped)");
            assertTrue(answered <= ProvisionIntake.BURST + ProvisionIntake.RATE_PER_SECOND * seconds,
                    answered + " answered in " + seconds + " s");

            ProvisionGrant second = provision(sink, fleet.createClaim("shop-f", 1, Duration.ofDays(1)).token(), "hw-flood-2");
            assertTrue(second.deviceId().startsWith("shop-f-"), second.deviceId());
            int refusalLines = CapturedLog.lines(Level.WARN, "refused provisioning").size();
            int dropLines = CapturedLog.lines(Level.WARN, "fleet").size() - refusalLines;
            int errorLines = CapturedLog.lines(Level.ERROR, "fleet").size();
            assertTrue(refusalLines <= 10, refusalLines + " refusal lines logged");
            assertTrue(dropLines <= 10, dropLines + " other fleet warnings logged");
            assertEquals(0, errorLines, "fleet errors logged");
            device.disconnect(500);
            device.close();
        }
    }

    /**
     * A box's provisioning over MQTT, asked again with a fresh nonce and sealing key when the broker cuts the
     * connection, as {@code Provisioner} does: right after the flood the public login's budget (shared by every
     * {@code prov-} client, MoquetteGuard) may still be spent on what the broker has yet to read of it. Fails
     * unless granted.
     */
    private ProvisionGrant provision(SinkServer sink, String claim, String hardwareId) throws Exception {
        return MoquetteRetry.retry(() -> provisionOnce(sink, claim, hardwareId));
    }

    private ProvisionGrant provisionOnce(SinkServer sink, String claim, String hardwareId) throws Exception {
        String nonce = "nonce-" + hardwareId + "-" + System.nanoTime();
        String key = ProvisionSeal.newKey(new SecureRandom());
        MqttClient prov = connect(sink.brokerUrl(), "prov-" + hardwareId, "provision", "provision");
        try {
            LinkedBlockingQueue<byte[]> answers = new LinkedBlockingQueue<>();
            prov.subscribe(TOPICS.provisionResponse(nonce), 1, (t, m) -> answers.add(m.getPayload()));
            prov.publish(TOPICS.provisionRequest(nonce), codec.encode(new ProvisionRequest(WireCodec.SCHEMA, nonce, claim,
                    hardwareId, key, "test", null, null)), 1, false);
            // a request the budget cut was never read (MoquetteGuard drops it unread), so asking again cannot spend
            // the claim twice; one it let through is answered before anything else of this client is read
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            byte[] answer = null;
            while (answer == null && prov.isConnected() && System.nanoTime() < deadline) {
                answer = answers.poll(100, TimeUnit.MILLISECONDS);
            }
            if (answer == null && !prov.isConnected()) {
                throw new MqttException(MqttException.REASON_CODE_CONNECTION_LOST);
            }
            assertTrue(answer != null, "no answer to " + hardwareId + "'s provisioning request");
            ProvisionResponse response = codec.decode(answer, ProvisionResponse.class);
            assertTrue(response.ok(), String.valueOf(response.error()));
            return codec.decode(ProvisionSeal.open(key, nonce, response.sealed()), ProvisionGrant.class);
        } finally {
            if (prov.isConnected()) {
                prov.disconnect(500);
            }
            prov.close();
        }
    }

    private static MqttClient connect(String url, String clientId, String user, String password) throws Exception {
        MqttClient c = new MqttClient(url, clientId, new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setUserName(user);
        o.setPassword(password.toCharArray());
        c.connect(o);
        return c;
    }
}
