package app.sevenstamp.autopilot.sink.fleet;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.ProvisionRequest;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.testing.MosquittoProcess;
import java.nio.file.Path;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, item 2 on Mosquitto 2 with dynamic security, as {@link DynSecAccess} sets it up. Binding a
 * device's client id to its dynsec client does not stop another login from presenting that id
 * (measured on Mosquitto 2.0.11: the plugin checks the binding of the connecting user only, and the
 * broker then takes the session over); so the public provisioning login itself is bound to one client
 * id, and the sink's and the devices' ids are out of its reach.
 */
class DynSecTakeoverIT {
    private static final Topics TOPICS = new Topics(Topics.DEFAULT_PREFIX);
    private static final String ADMIN = "admin";
    private static final String ADMIN_PASSWORD = "admin-secret";

    @TempDir
    Path dir;

    private MosquittoProcess mosquitto;
    private Takeover takeover;

    @BeforeEach
    void start() throws Exception {
        mosquitto = MosquittoProcess.startWithDynamicSecurity(dir.resolve("mosquitto"), ADMIN, ADMIN_PASSWORD);
        takeover = new Takeover(mosquitto.url());
        bootstrap();
    }

    /**
     * The sink's bootstrap and two grants, driven as FleetService does; the first bootstrap gives the admin
     * the sink's role, and the plugin then ends the admin's session: connect again and repeat.
     */
    private void bootstrap() throws Exception {
        for (int attempt = 0; attempt < 2; attempt++) {
            MqttClient control = takeover.connect("autopilot-sink-setup", ADMIN, ADMIN_PASSWORD);
            DynSecAccess dynsec = new DynSecAccess(TOPICS, (topic, payload) -> {
                try {
                    control.publish(topic, payload, 1, false);
                } catch (MqttException e) {
                    // the expected kick after the role was added; any other loss shows as no answer
                    System.err.println("control publish: " + e);
                }
            });
            control.subscribe(DynSecAccess.RESPONSE, 1, (t, m) -> dynsec.onResponse(m.getPayload()));
            boolean ready = dynsec.bootstrap(ADMIN, "provision", "provision");
            if (ready) {
                dynsec.grant("shop-1-a1b2c3", "pw-a");
                dynsec.grant("shop-1-d4e5f6", "pw-b");
                control.disconnect();
                control.close();
                return;
            }
            awaitDisconnected(control);
            control.close();
        }
        throw new AssertionError("the sink's role was not in place after a second bootstrap");
    }

    @AfterEach
    void stop() {
        mosquitto.close();
    }

    private static void awaitDisconnected(MqttClient c) throws InterruptedException, MqttException {
        for (int i = 0; i < 100 && c.isConnected(); i++) {
            Thread.sleep(50);
        }
        if (c.isConnected()) {
            c.disconnectForcibly(100, 100, false);
        }
    }

    @Test
    void theProvisioningLoginCannotTakeOverTheSinksClientIds() throws Exception {
        for (String id : new String[] {"autopilot-sink", "autopilot-sink-fleet", "autopilot-sink-redeem"}) {
            Takeover.Victim sink = takeover.victim(id, ADMIN, ADMIN_PASSWORD);
            takeover.assertRefused(sink, TOPICS.status("shop-1-a1b2c3"), "provision", "provision");
            sink.client().disconnect();
            sink.client().close();
        }
    }

    @Test
    void theProvisioningLoginAndOtherDevicesCannotTakeOverADevice() throws Exception {
        Takeover.Victim device = takeover.victim("shop-1-a1b2c3", "shop-1-a1b2c3", "pw-a");
        takeover.assertRefused(device, TOPICS.status("shop-1-a1b2c3"), "provision", "provision");
        takeover.assertRefused(device, TOPICS.status("shop-1-a1b2c3"), "shop-1-d4e5f6", "pw-b");
        device.client().disconnect();
    }

    @Test
    void theProvisioningLoginConnectsOnlyWithItsBoundClientId() throws Exception {
        MqttClient box = takeover.connect(ProvisionRequest.clientId("provision"), "provision", "provision");
        assertTrue(box.isConnected());
        box.disconnect();
        box.close();
        MqttException refused = assertThrows(MqttException.class, () -> takeover.connect("prov-0123456789abcdef", "provision",
                "provision"));
        Takeover.assertRefusal(refused);
    }

    @Test
    void aProvisioningAccountCreatedBeforeTheBindingIsBoundAtTheNextBootstrap() throws Exception {
        // as a sink of the previous version left it: the account without a client id
        MqttClient admin = takeover.connect("autopilot-sink-test", ADMIN, ADMIN_PASSWORD);
        admin.publish(DynSecAccess.CONTROL, ("{\"commands\":[{\"command\":\"setClientId\",\"username\":\"provision\"}]}")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8), 1, false);
        admin.disconnect();
        admin.close();
        MqttClient unbound = null;
        for (int i = 0; i < 50 && unbound == null; i++) {
            try {
                unbound = takeover.connect("prov-0123456789abcdef", "provision", "provision");
            } catch (MqttException e) {
                Thread.sleep(100);
            }
        }
        assertTrue(unbound != null, "the binding was removed");
        unbound.disconnect();
        unbound.close();

        bootstrap();
        MqttException refused = assertThrows(MqttException.class, () -> takeover.connect("prov-0123456789abcdef", "provision",
                "provision"));
        Takeover.assertRefusal(refused);
        takeover.connect(ProvisionRequest.clientId("provision"), "provision", "provision").disconnect();
    }
}
