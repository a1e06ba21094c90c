package app.sevenstamp.autopilot.sink.testing;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.paho.client.mqttv3.IMqttDeliveryToken;
import org.eclipse.paho.client.mqttv3.MqttCallback;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * A Paho client that counts the times it lost its connection and keeps the topics of what arrived: the
 * bystander of an attack on the broker, which must notice nothing.
 */
public record WatchedClient(MqttClient client, AtomicInteger lost, BlockingQueue<String> arrived) {
    /** Connects with a clean session; {@code user} null for an anonymous login. */
    public static WatchedClient connect(String url, String clientId, String user, String password) throws MqttException {
        MqttClient client = new MqttClient(url, clientId, new MemoryPersistence());
        WatchedClient watched = watch(client);
        MqttConnectOptions options = new MqttConnectOptions();
        options.setCleanSession(true);
        if (user != null) {
            options.setUserName(user);
            options.setPassword(password.toCharArray());
        }
        client.connect(options);
        return watched;
    }

    /** Watches a client made elsewhere (its callback is replaced). */
    public static WatchedClient watch(MqttClient client) {
        AtomicInteger lost = new AtomicInteger();
        BlockingQueue<String> arrived = new LinkedBlockingQueue<>();
        client.setCallback(new MqttCallback() {
            @Override
            public void connectionLost(Throwable cause) {
                lost.incrementAndGet();
            }

            @Override
            public void messageArrived(String topic, MqttMessage message) {
                arrived.add(topic);
            }

            @Override
            public void deliveryComplete(IMqttDeliveryToken token) {
            }
        });
        return new WatchedClient(client, lost, arrived);
    }

    public void close() throws MqttException {
        client.disconnect(500);
        client.close();
    }
}
