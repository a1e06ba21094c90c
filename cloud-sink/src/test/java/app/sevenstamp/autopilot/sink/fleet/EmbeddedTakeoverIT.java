package app.sevenstamp.autopilot.sink.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.sink.broker.EmbeddedBroker;
import java.util.List;
import java.util.Map;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
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
    private Takeover takeover;

    @BeforeEach
    void start() throws Exception {
        access = new EmbeddedAccess(TOPICS, SINK_USER, SINK_PASSWORD, "autopilot-sink", "provision", "provision",
                Map.of());
        access.grant("shop-1-a", "pw-a");
        access.grant("shop-1-b", "pw-b");
        broker = EmbeddedBroker.start("127.0.0.1", 0, new EmbeddedBroker.Access(access, access, EmbeddedAccess.PROVISION_CLIENT_PREFIX));
        takeover = new Takeover(broker.url());
    }

    @AfterEach
    void stop() {
        broker.close();
    }

    @Test
    void theProvisioningLoginCannotTakeOverTheSinksClientIds() throws Exception {
        for (String id : SINK_CLIENT_IDS) {
            Takeover.Victim sink = takeover.victim(id, SINK_USER, SINK_PASSWORD);
            takeover.assertRefused(sink, TOPICS.status("shop-1-a"), "provision", "provision");
            sink.client().disconnect();
            sink.client().close();
        }
    }

    @Test
    void theProvisioningLoginAndOtherDevicesCannotTakeOverADevice() throws Exception {
        Takeover.Victim device = takeover.victim("shop-1-a", "shop-1-a", "pw-a");
        takeover.assertRefused(device, TOPICS.status("shop-1-a"), "provision", "provision");
        takeover.assertRefused(device, TOPICS.status("shop-1-a"), "shop-1-b", "pw-b");
        device.client().disconnect();
    }

    @Test
    void theSinksLoginCannotPresentADevicesClientId() throws Exception {
        // the sink's account is powerful, but a bug or a leaked sink password must not kick boxes either
        Takeover.Victim device = takeover.victim("shop-1-a", "shop-1-a", "pw-a");
        takeover.assertRefused(device, TOPICS.status("shop-1-a"), SINK_USER, SINK_PASSWORD);
        device.client().disconnect();
    }

    @Test
    void theProvisioningLoginConnectsOnlyWithItsOwnPrefix() throws Exception {
        MqttClient box = takeover.connect("prov-0123456789abcdef", "provision", "provision");
        assertTrue(box.isConnected());
        box.disconnect();
        MqttException refused = assertThrows(MqttException.class, () -> takeover.connect("anything", "provision", "provision"));
        assertEquals(MqttException.REASON_CODE_FAILED_AUTHENTICATION, refused.getReasonCode(), refused.toString());
    }
}
