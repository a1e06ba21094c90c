package app.sevenstamp.autopilot.sink.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.testing.RawMqtt;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * A SUBSCRIBE that reaches the embedded broker before Moquette 0.17 has marked its connection connected
 * is answered, not punished with a dropped connection. Moquette marks it in a listener on its CONNACK's
 * write, added after the write was handed to the client's event loop: when the write is done first, the
 * listener becomes a later task of that loop, and the client's SUBSCRIBE, read before it, was refused
 * ("SUBSCRIBE received on already closed connection") and the connection closed. Paho subscribes as soon
 * as its CONNACK arrives, so on a busy machine the sink's own sessions, a box's and a provisioning client's
 * lost their first connection now and then; MQTT 3.1.1 (section 3.1.4) lets a client send without waiting
 * for CONNACK at all, which loses it every time.
 */
@Execution(ExecutionMode.CONCURRENT) // a few hundred broker round trips: runs beside the other ITs (pom.xml, failsafe)
class EarlySubscribeIT {
    private static final int ROUNDS = 50;
    private static final int PAHO_CLIENTS = 5;

    @Test
    void aSubscribeSentRightBehindTheConnectIsAnswered() throws Exception {
        EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0);
        try {
            List<String> refused = new ArrayList<>();
            for (int i = 0; i < ROUNDS; i++) {
                try (RawMqtt c = RawMqtt.begin(broker.url(), "early-" + i, null, null)) {
                    c.subscribe("early/" + i, 1, 1); // before the CONNACK, as MQTT allows
                    c.awaitConnack();
                    RawMqtt.Packet suback = c.read();
                    if (suback.type() != RawMqtt.SUBACK || suback.packetId() != 1) {
                        refused.add(i + ": packet type " + suback.type());
                    }
                } catch (IOException e) {
                    refused.add(i + ": " + e.getMessage());
                }
            }
            assertEquals(List.of(), refused, "SUBSCRIBEs sent right behind CONNECT that were not answered");
        } finally {
            broker.close();
        }
    }

    @Test
    void pahoClientsSubscribingAsSoonAsTheyAreConnectedKeepTheirConnections() throws Exception {
        EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0);
        List<String> lost = Collections.synchronizedList(new ArrayList<>());
        ExecutorService clients = Executors.newFixedThreadPool(PAHO_CLIENTS);
        try {
            // several at once: the busier the broker's threads, the likelier the race
            for (int t = 0; t < PAHO_CLIENTS; t++) {
                int client = t;
                clients.submit(() -> {
                    for (int i = 0; i < ROUNDS / PAHO_CLIENTS; i++) {
                        String id = "paho-early-" + client + "-" + i;
                        try {
                            MqttClient c = new MqttClient(broker.url(), id, new MemoryPersistence());
                            c.connect(new MqttConnectOptions());
                            c.subscribe("early/" + id, 1);
                            c.disconnect(0);
                            c.close(true);
                        } catch (MqttException e) {
                            lost.add(id + ": " + e.getMessage());
                        }
                    }
                });
            }
            clients.shutdown();
            assertTrue(clients.awaitTermination(60, TimeUnit.SECONDS), "the clients finished within 60 s");
        } finally {
            clients.shutdownNow();
            broker.close();
        }
        assertEquals(List.of(), lost, "Paho clients that lost their connection at their first SUBSCRIBE");
    }
}
