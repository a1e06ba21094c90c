package app.sevenstamp.autopilot.gateway.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.uplink.TestBroker;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The retries of the first-start provisioning, against a port nobody listens on, with the waits recorded, not slept. */
class ProvisionerTest {
    @TempDir
    Path stateDir;

    @Test
    void aBrokerThatIsNotThereIsRetriedAfterGrowingJitteredWaitsUpToAMinute() {
        FleetSettings settings = new FleetSettings("claim-token", "provision", "provision-password", "hw-1",
                Duration.ofSeconds(2), Duration.ofMinutes(1), "info");
        List<Duration> waits = new ArrayList<>();
        AtomicInteger draws = new AtomicInteger();
        Provisioner provisioner = new Provisioner(TestBroker.notStarted().url(), new Topics(Topics.DEFAULT_PREFIX), settings,
                "hw-1", new byte[32], "test", MqttTls.NONE, d -> {
                    waits.add(d);
                    if (waits.size() == 9) {
                        throw new InterruptedException("enough"); // how a stopped daemon ends the loop
                    }
                }, () -> {
                    draws.incrementAndGet();
                    return 0.5;
                });

        assertThrows(InterruptedException.class, () -> provisioner.provisionInto(stateDir));

        // 0.5 s plus half of the jitter's range, which doubles from 0.5 s and stops at 60 s: never the same
        // wait on every box (the first retry included), never more than a minute
        assertEquals(List.of(750L, 1250L, 2250L, 4250L, 8250L, 16250L, 30250L, 30250L, 30250L),
                waits.stream().map(Duration::toMillis).toList());
        assertEquals(10, draws.get(), "one draw per wait, and the skipped first one");
        assertTrue(Files.notExists(stateDir.resolve(StateFiles.IDENTITY)), "nothing stored without a grant");
    }
}
