package app.sevenstamp.autopilot.sink.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.testing.WatchedClient;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * Session takeover attempts against one broker (issue 12, item 2): MQTT ends the session of a client whose
 * id someone else presents, so a login that may present another's client id can knock it off the broker.
 * Shared by the tests on the embedded broker and on Mosquitto with dynamic security.
 */
final class Takeover {
    private final String url;

    Takeover(String url) {
        this.url = url;
    }

    /** A connected client that counts the times it lost its connection. */
    record Victim(MqttClient client, AtomicInteger lost) {
    }

    MqttClient connect(String clientId, String user, String password) throws MqttException {
        MqttClient c = new MqttClient(url, clientId, new MemoryPersistence());
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

    Victim victim(String clientId, String user, String password) throws MqttException {
        WatchedClient watched = WatchedClient.watch(connect(clientId, user, password));
        return new Victim(watched.client(), watched.lost());
    }

    /**
     * The attacker's CONNECT must be refused, and afterwards the victim still completes a QoS 1 publish on its
     * own session (the broker answered the attacker before the victim's PUBACK) and saw no loss. Mosquitto
     * answers a publish its ACL denies with a PUBACK too, so the round trip works on any topic.
     */
    void assertRefused(Victim victim, String topic, String user, String password) throws Exception {
        String id = victim.client().getClientId();
        MqttException refused = assertThrows(MqttException.class, () -> connect(id, user, password).disconnect(),
                () -> user + " connected with the client id " + id);
        assertRefusal(refused);
        victim.client().publish(topic, new MqttMessage(new byte[] {1}));
        assertTrue(victim.client().isConnected(), id + " was disconnected");
        assertEquals(0, victim.lost().get(), id + " lost its connection");
    }

    /** A CONNECT refused for its credentials or for the client id they may not use. */
    static void assertRefusal(MqttException refused) {
        assertTrue(refused.getReasonCode() == MqttException.REASON_CODE_FAILED_AUTHENTICATION
                || refused.getReasonCode() == MqttException.REASON_CODE_NOT_AUTHORIZED, refused.toString());
    }
}
