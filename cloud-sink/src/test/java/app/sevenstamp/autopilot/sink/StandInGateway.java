package app.sevenstamp.autopilot.sink;

import app.sevenstamp.autopilot.protocol.StampAck;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;

/**
 * A stand-in gateway for the scale-out tests: publishes its events at QoS 1 on its own stamps topic and
 * records the sink's answers to its own acks topic, as the real gateway's uplink does (client id
 * {@code gw-DEVICE}, MQTT 3.1.1; a persistent session if asked, as {@code uplink/MqttLink} keeps one).
 */
final class StandInGateway implements AutoCloseable {
    final String device;
    private final boolean cleanSession;
    MqttClient client;
    final Map<String, StampEvent> events = new LinkedHashMap<>();
    final Map<String, StampAck> acks = new ConcurrentHashMap<>();
    final List<String> foreign = new CopyOnWriteArrayList<>();
    private final Topics topics = new Topics(Topics.DEFAULT_PREFIX);
    private final WireCodec codec = new WireCodec();

    StandInGateway(String url, String device) throws Exception {
        this(url, device, true);
    }

    StandInGateway(String url, String device, boolean cleanSession) throws Exception {
        this.device = device;
        this.cleanSession = cleanSession;
        client = connect(url);
    }

    private MqttClient connect(String url) throws Exception {
        MqttClient client = new MqttClient(url, "gw-" + device, new MemoryPersistence());
        MqttConnectOptions o = new MqttConnectOptions();
        o.setMaxInflight(1000);
        o.setCleanSession(cleanSession);
        o.setMqttVersion(MqttConnectOptions.MQTT_VERSION_3_1_1);
        client.connect(o);
        client.subscribe(topics.acks(device), 1, (t, m) -> {
            StampAck ack = codec.decodeAck(m.getPayload());
            if (!ack.deviceId().equals(device)) {
                foreign.add(ack.eventId());
            }
            acks.put(ack.eventId(), ack);
        });
        return client;
    }

    String url() {
        return client.getServerURI();
    }

    /** What a box does when its broker is gone and a name now points at another: connect there, same id. */
    void moveTo(String url) throws Exception {
        // the old node is gone, but Paho may not have noticed yet: still "connected", its close() then refuses
        // (32100, seen in CI). Cut the connection first, as the box's own uplink does.
        try {
            client.disconnectForcibly(0, 500);
        } catch (MqttException alreadyGone) {
            // Paho had noticed: nothing to cut
        }
        client.close(true);
        client = connect(url);
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

    @Override
    public void close() throws Exception {
        client.disconnectForcibly(500);
        client.close();
    }
}
