package app.sevenstamp.autopilot.sink.broker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.testing.RawMqtt;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
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
 * for CONNACK at all, which lost it every time (46 of 50 here). That case is the one a test can make happen
 * every time: a SUBSCRIBE and a PUBLISH to the same topic right behind the CONNECT are answered, in order (the
 * client gets its own message back).
 */
@Execution(ExecutionMode.CONCURRENT) // 50 connections' round trips: runs beside the other ITs (pom.xml, failsafe)
class EarlySubscribeIT {
    private static final int ROUNDS = 50;

    @Test
    void whatAClientSendsRightBehindItsConnectIsServedInOrder() throws Exception {
        EmbeddedBroker broker = EmbeddedBroker.start("127.0.0.1", 0);
        try {
            List<String> refused = new ArrayList<>();
            for (int i = 0; i < ROUNDS; i++) {
                String topic = "early/" + i;
                try (RawMqtt c = RawMqtt.begin(broker.url(), "early-" + i, null, null)) {
                    // before the CONNACK, as MQTT allows: a SUBSCRIBE, then a PUBLISH to what it subscribed to
                    c.subscribe(topic, 1, 1);
                    c.publishQos1(topic, 2, "x".getBytes(StandardCharsets.UTF_8));
                    c.awaitConnack();
                    RawMqtt.Packet suback = c.read();
                    if (suback.type() != RawMqtt.SUBACK || suback.packetId() != 1) {
                        refused.add(i + ": packet type " + suback.type() + " instead of the SUBACK");
                        continue;
                    }
                    // its PUBACK and its own message back (subscribed first, so it is delivered), in either order
                    Set<Integer> next = new TreeSet<>(List.of(c.read().type(), c.read().type()));
                    if (!next.equals(Set.of(RawMqtt.PUBACK, RawMqtt.PUBLISH))) {
                        refused.add(i + ": packet types " + next + " instead of a PUBACK and the PUBLISH");
                    }
                } catch (IOException e) {
                    refused.add(i + ": " + e.getMessage());
                }
            }
            assertEquals(List.of(), refused, "clients whose packets sent right behind CONNECT were not served");
            assertTrue(broker.heldForConnack() > 0, "nothing arrived before its connection was marked connected: "
                    + "this test tests nothing");
        } finally {
            broker.close();
        }
    }
}
