package app.sevenstamp.autopilot.sink;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.sink.testing.ArtemisCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.tinylog.Logger;

/**
 * The wire contract on a clustered broker: two Apache ActiveMQ Artemis nodes (static connectors,
 * {@code ON_DEMAND} load balancing, redistribution delay 0), one sink on each with the unchanged
 * {@code $share/sinks/7stamp/v1/gw/+/stamps} subscription, boxes on both nodes with persistent MQTT 3.1.1
 * sessions, one PostgreSQL. What holds (every stamp once, every ack to its box across the nodes) and what does
 * not carry over from one node to the other (retained messages; a session's subscriptions) are both asserted:
 * docs/performance.md "Beyond one broker" is written from this test.
 */
@Execution(ExecutionMode.CONCURRENT) // mostly waiting (Artemis nodes starting, fair time for what must not arrive): runs beside the other ITs (pom.xml, failsafe)
class ClusteredBrokerIT {
    /** The box whose ack address keeps Artemis's default redistribution delay (-1: never). */
    private static final String DEFAULT_DELAY_BOX = "box-default-delay";
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);

    @TempDir
    static Path clusterDir;
    @TempDir
    Path dir;
    private static ArtemisCluster cluster;
    private final List<AutoCloseable> clients = new ArrayList<>();

    @BeforeAll
    static void startCluster() {
        long t0 = System.nanoTime();
        // MQTT topic 7stamp/v1/gw/X/acks is Artemis address 7stamp.v1.gw.X.acks
        cluster = ArtemisCluster.start(clusterDir, 2, "<address-setting match=\"7stamp.v1.gw." + DEFAULT_DELAY_BOX
                + ".acks\"><redistribution-delay>-1</redistribution-delay></address-setting>");
        Logger.info("two Artemis nodes active and bridged in {} ms", (System.nanoTime() - t0) / 1_000_000);
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : clients) {
            c.close();
        }
    }

    @Test
    void sinksOnBothNodesCountEveryStampOnceAndEveryAckCrossesToItsBox() throws Exception {
        ClusterTraffic.run(cluster, dir, (a, b, gateways) -> {
            // The member of the share group on node 1 dies as soon as it has committed its first batch,
            // with the rest of its 100 of these 200 events taken from the broker or still queued for it.
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10)).until(() -> b.accepted() > 0);
            b.kill();
            return "sink on node 1 killed";
        });
    }

    /** A retained message stays on the node it was published to: a subscriber on the other node never gets it. */
    @Test
    void aRetainedMessageIsNotSeenOnTheOtherNode() throws Exception {
        String topic = TOPICS.status("retained-probe");
        MqttClient box = client(0, "gw-retained-probe", true);
        box.publish(topic, "{\"online\":true}".getBytes(StandardCharsets.UTF_8), 1, true);

        Recorder sameNode = new Recorder();
        Recorder otherNode = new Recorder();
        MqttClient here = client(0, "sink-here", true);
        here.setCallback(sameNode);
        here.subscribe(TOPICS.prefix() + "/gw/+/status", 1);
        MqttClient there = client(1, "sink-there", true);
        there.setCallback(otherNode);
        there.subscribe(TOPICS.prefix() + "/gw/+/status", 1);

        await().atMost(Duration.ofSeconds(5)).until(() -> sameNode.retained.size() == 1);
        Thread.sleep(2000); // asserting an absence: give the other node a fair time to deliver it
        assertEquals(List.of(), otherNode.retained, "retained messages are not replicated between Artemis nodes");
        // The subscription on node 1 works: a live message published on node 0 crosses over.
        box.publish(topic, "{\"online\":true,\"live\":1}".getBytes(StandardCharsets.UTF_8), 1, false);
        await().atMost(Duration.ofSeconds(5)).until(() -> otherNode.live.size() == 1);
        assertEquals(List.of(), otherNode.retained);
    }

    /**
     * A box with a persistent session that comes back on the other node finds no session there
     * (session present = false, no subscription), but once it subscribes again (the gateway does on every
     * connect), the answers queued for it on the first node move over, because redistribution delay is 0.
     */
    @Test
    void aSessionDoesNotMoveButItsQueuedAcksFollowTheBoxWithRedistribution() throws Exception {
        assertEquals(List.of(0, 20), moveBox("box-moving", 20), "acks on node 1 before and after subscribing there");
    }

    /** With Artemis's default redistribution delay (-1) the answers stay behind until the box returns to node 0. */
    @Test
    void withoutRedistributionTheQueuedAcksWaitOnTheFirstNode() throws Exception {
        assertEquals(List.of(0, 0), moveBox(DEFAULT_DELAY_BOX, 20), "nothing on node 1, before or after subscribing there");
        Recorder r = new Recorder();
        MqttClient back = new MqttClient(cluster.mqttUrl(0), "gw-" + DEFAULT_DELAY_BOX, new MemoryPersistence());
        closeAfter(back);
        back.setCallback(r);
        assertTrue(back.connectWithResult(options(false)).getSessionPresent(), "node 0 kept the session");
        back.subscribe(TOPICS.acks(DEFAULT_DELAY_BOX), 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> r.live.size() == 20);
    }

    /**
     * Connects box {@code device} on node 0 with a persistent session and its acks subscription, leaves, lets
     * a sink on node 1 answer {@code acks} times, then comes back on node 1. Returns how many answers it got
     * there before subscribing again and after.
     */
    private List<Integer> moveBox(String device, int acks) throws Exception {
        String clientId = "gw-" + device;
        MqttClient first = client(0, clientId, false);
        first.subscribe(TOPICS.acks(device), 1);
        first.disconnect();

        MqttClient sink = client(1, "sink-" + device, true);
        for (int i = 0; i < acks; i++) {
            sink.publish(TOPICS.acks(device), ("ack-" + i).getBytes(StandardCharsets.UTF_8), 1, false);
        }

        MqttClient moved = new MqttClient(cluster.mqttUrl(1), clientId, new MemoryPersistence());
        closeAfter(moved);
        Recorder r = new Recorder();
        moved.setCallback(r);
        boolean sessionPresent = moved.connectWithResult(options(false)).getSessionPresent();
        assertFalse(sessionPresent, "node 1 knows nothing of the session the box had on node 0");
        Thread.sleep(1500); // asserting an absence: nothing may arrive without a subscription
        int before = r.live.size();
        moved.subscribe(TOPICS.acks(device), 1);
        if (!device.equals(DEFAULT_DELAY_BOX)) {
            await().atMost(Duration.ofSeconds(5)).until(() -> r.live.size() >= acks);
        } else {
            Thread.sleep(2000); // asserting an absence: without redistribution nothing may arrive after subscribing either
        }
        int after = r.live.size();
        moved.disconnect();
        return List.of(before, after);
    }

    /** The same client id on the other node takes the connection over, as on one broker. */
    @Test
    void theSameClientIdOnTheOtherNodeTakesTheConnectionOver() throws Exception {
        MqttClient first = client(0, "gw-twin", false);
        AtomicBoolean lost = new AtomicBoolean();
        first.setCallback(new Recorder() {
            @Override
            public void connectionLost(Throwable cause) {
                lost.set(true);
            }
        });
        MqttClient second = client(1, "gw-twin", false);
        await().atMost(Duration.ofSeconds(5)).untilTrue(lost);
        assertFalse(first.isConnected());
        Thread.sleep(1000); // asserting an absence: nothing (a takeover back, say) may cut the newer connection
        assertTrue(second.isConnected(), "the newer connection, on node 1, stays");
    }

    private MqttClient client(int node, String clientId, boolean clean) throws Exception {
        return client(node, clientId, clean, new Recorder());
    }

    /** The callback is set before connecting: what a kept session holds arrives right after CONNACK. */
    private MqttClient client(int node, String clientId, boolean clean, MqttCallback callback) throws Exception {
        MqttClient c = new MqttClient(cluster.mqttUrl(node), clientId, new MemoryPersistence());
        c.setCallback(callback);
        closeAfter(c);
        c.connect(options(clean));
        return c;
    }

    private void closeAfter(MqttClient c) {
        clients.add(() -> {
            if (c.isConnected()) {
                c.disconnectForcibly(500);
            }
            c.close();
        });
    }

    private static MqttConnectOptions options(boolean clean) {
        MqttConnectOptions o = new MqttConnectOptions();
        o.setCleanSession(clean);
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setAutomaticReconnect(false);
        return o;
    }

    /** Records what arrives, retained or live. */
    private static class Recorder implements MqttCallback {
        final List<String> retained = new CopyOnWriteArrayList<>();
        final List<String> live = new CopyOnWriteArrayList<>();

        @Override
        public void connectionLost(Throwable cause) {
        }

        @Override
        public void messageArrived(String topic, MqttMessage message) {
            (message.isRetained() ? retained : live).add(topic + " " + new String(message.getPayload(), StandardCharsets.UTF_8));
        }

        @Override
        public void deliveryComplete(IMqttDeliveryToken token) {
        }
    }
}
