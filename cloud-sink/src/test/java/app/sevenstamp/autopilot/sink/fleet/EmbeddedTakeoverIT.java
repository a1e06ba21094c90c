package app.sevenstamp.autopilot.sink.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.sink.broker.EmbeddedBroker;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, item 2 on the embedded broker: MQTT ends the session of a client whose id someone else
 * presents, so the public provisioning login must not be able to present the sink's or a device's
 * client id, nor a device another device's. Real Moquette, real Paho; each victim is connected when
 * the attacker tries, and must see no connectionLost.
 */
class EmbeddedTakeoverIT {
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);
    private static final String SINK_USER = "autopilot-sink";
    private static final String SINK_PASSWORD = "sink-secret";
    private static final List<String> SINK_CLIENT_IDS = List.of("autopilot-sink", "autopilot-sink-fleet",
            "autopilot-sink-redeem");

    private EmbeddedAccess access;
    private EmbeddedBroker broker;

    /** A connected client that counts the times it lost its connection. */
    private record Victim(MqttClient client, AtomicInteger lost) {
    }

    @BeforeEach
    void start() throws Exception {
        access = new EmbeddedAccess(TOPICS, SINK_USER, SINK_PASSWORD, "autopilot-sink", "provision", "provision",
                Map.of());
        access.grant("shop-1-a", "pw-a");
        access.grant("shop-1-b", "pw-b");
        broker = EmbeddedBroker.start("127.0.0.1", 0, new EmbeddedBroker.Access(access, access));
    }

    @AfterEach
    void stop() {
        broker.close();
    }

    private MqttClient connect(String clientId, String user, String password) throws MqttException {
        MqttClient c = new MqttClient(broker.url(), clientId, new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        o.setAutomaticReconnect(false);
        o.setUserName(user);
        o.setPassword(password.toCharArray());
        try {
            c.connect(o);
        } catch (MqttException e) {
            c.close(true);
            throw e;
        }
        return c;
    }

    private Victim victim(String clientId, String user, String password) throws MqttException {
        MqttClient c = connect(clientId, user, password);
        AtomicInteger lost = new AtomicInteger();
        c.setCallback(new MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
                lost.incrementAndGet();
            }

            @Override
            public void messageArrived(String topic, MqttMessage message) {
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {
            }
        });
        return new Victim(c, lost);
    }

    /**
     * The attacker's CONNECT must be refused, and afterwards the victim still completes a QoS 1 publish
     * on its own session (the broker answered the attacker before the victim's PUBACK) and saw no loss.
     */
    private void assertTakeoverRefused(Victim victim, String topic, String user, String password) throws Exception {
        String id = victim.client().getClientId();
        MqttException refused = assertThrows(MqttException.class, () -> connect(id, user, password).disconnect(),
                () -> user + " connected with the client id " + id);
        assertTrue(refused.getReasonCode() == MqttException.REASON_CODE_FAILED_AUTHENTICATION
                || refused.getReasonCode() == MqttException.REASON_CODE_NOT_AUTHORIZED, refused.toString());
        victim.client().publish(topic, new MqttMessage(new byte[] {1}));
        assertTrue(victim.client().isConnected(), id + " was disconnected");
        assertEquals(0, victim.lost().get(), id + " lost its connection");
    }

    @Test
    void theProvisioningLoginCannotTakeOverTheSinksClientIds() throws Exception {
        for (String id : SINK_CLIENT_IDS) {
            Victim sink = victim(id, SINK_USER, SINK_PASSWORD);
            assertTakeoverRefused(sink, TOPICS.status("shop-1-a"), "provision", "provision");
            sink.client().disconnect();
            sink.client().close();
        }
    }

    @Test
    void theProvisioningLoginAndOtherDevicesCannotTakeOverADevice() throws Exception {
        Victim device = victim("shop-1-a", "shop-1-a", "pw-a");
        assertTakeoverRefused(device, TOPICS.status("shop-1-a"), "provision", "provision");
        assertTakeoverRefused(device, TOPICS.status("shop-1-a"), "shop-1-b", "pw-b");
        device.client().disconnect();
    }

    @Test
    void theSinksLoginCannotPresentADevicesClientId() throws Exception {
        // the sink's account is powerful, but a bug or a leaked sink password must not kick boxes either
        Victim device = victim("shop-1-a", "shop-1-a", "pw-a");
        assertTakeoverRefused(device, TOPICS.status("shop-1-a"), SINK_USER, SINK_PASSWORD);
        device.client().disconnect();
    }

    @Test
    void theProvisioningLoginConnectsOnlyWithItsOwnPrefix() throws Exception {
        MqttClient box = connect("prov-0123456789abcdef", "provision", "provision");
        assertTrue(box.isConnected());
        box.disconnect();
        MqttException refused = assertThrows(MqttException.class, () -> connect("anything", "provision", "provision"));
        assertEquals(MqttException.REASON_CODE_FAILED_AUTHENTICATION, refused.getReasonCode(), refused.toString());
    }
}
