package app.sevenstamp.autopilot.gateway.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.gateway.RecordingFeedback;
import app.sevenstamp.autopilot.gateway.config.MqttSettings;
import app.sevenstamp.autopilot.gateway.outbox.Outbox;
import app.sevenstamp.autopilot.gateway.support.Ticker;
import app.sevenstamp.autopilot.gateway.uplink.Uplink;
import app.sevenstamp.autopilot.protocol.DeviceStatus;
import app.sevenstamp.autopilot.protocol.Topics;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.MqttTls;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the retained status says about the box, built from the real outbox (the uplink is never started). */
class FleetAgentStatusTest {
    @TempDir
    Path dir;

    private Outbox outbox;
    private FleetAgent fleet;

    @BeforeEach
    void open() throws Exception {
        outbox = Outbox.open(dir.resolve("outbox"), Clock.systemUTC());
        MqttSettings mqtt = new MqttSettings("tcp://127.0.0.1:1", Topics.DEFAULT_PREFIX, "counter-1", null, null,
                Duration.ofSeconds(30), Duration.ofSeconds(10), 10, Duration.ofSeconds(1), Duration.ofSeconds(60), MqttTls.NONE);
        Uplink uplink = new Uplink(mqtt, "counter-1", outbox, new RecordingFeedback(), Ticker.SYSTEM, "boot",
                Duration.ofSeconds(30), () -> 0.5, Clock.systemUTC(), () -> true);
        fleet = new FleetAgent("counter-1", new Topics(Topics.DEFAULT_PREFIX), uplink.link(), uplink::wake, outbox, new RecordingFeedback(),
                dir, Clock.systemUTC(), "test", Duration.ofHours(1), () -> "ready stdin", () -> { });
    }

    @AfterEach
    void close() {
        fleet.close();
        outbox.close(Duration.ofSeconds(5));
    }

    @Test
    void theStatusCountsTheScansThePipelineDropped() {
        AtomicLong dropped = new AtomicLong(35);
        fleet.reportDroppedScans(dropped::get);
        DeviceStatus status = fleet.status();
        assertEquals(35L, status.droppedScans());
        String json = new String(new WireCodec().encode(status), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"droppedScans\":35"), json);
        dropped.set(36);
        assertEquals(36L, fleet.status().droppedScans(), "read at each status, not once");
    }

    @Test
    void aGatewayWithoutAPipelineLeavesTheCountUnreported() {
        assertNull(fleet.status().droppedScans());
        assertFalse(new String(new WireCodec().encode(fleet.status()), StandardCharsets.UTF_8).contains("droppedScans"));
    }
}
