package app.sevenstamp.autopilot.gateway.fleet;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import app.sevenstamp.autopilot.protocol.testing.StallingProxy;
import java.time.Duration;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** One provisioning attempt against a host that accepts the connection and never answers the CONNECT. */
@Tag("quick")
class ProvisionerIT {
    @Test
    void aBrokerThatNeverAnswersFailsTheAttemptInTimeAndLeavesNoConnectionOpen() throws Exception {
        try (StallingProxy proxy = StallingProxy.silentForever()) {
            Duration timeout = Duration.ofSeconds(2);
            FleetSettings settings = new FleetSettings("claim-token", "provision", "provision-password", "hw-1", timeout,
                    Duration.ofMinutes(1), "info");
            Provisioner provisioner = new Provisioner(proxy.url(), new Topics(Topics.DEFAULT_PREFIX), settings, "hw-1",
                    new byte[32], "test", MqttTls.NONE, Provisioner.Sleeper.REAL, () -> 0.5);
            long start = System.nanoTime();
            assertThrows(MqttException.class, provisioner::attempt);
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertTrue(took.compareTo(timeout.plusSeconds(10)) < 0, "bounded by provision.timeout, took " + took);
            // the attempt is retried for as long as the host stalls: each one must close its socket (and Paho's
            // threads with it), or a box left provisioning for a day runs out of both
            await().atMost(Duration.ofSeconds(10)).until(() -> proxy.silentOpen() == 0);
        }
    }
}
