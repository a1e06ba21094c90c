package app.sevenstamp.autopilot.sink.metrics;

import app.sevenstamp.autopilot.sink.testing.Scrape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.DeviceStatus;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.sink.fleet.FleetRegistry;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The per-device series' bound, with a fleet larger than it in a real store (about 10 s of provisioning: an IT). */
@Tag("quick")
class DeviceSeriesCapIT {
    @TempDir
    Path dir;

    @Test
    void perDeviceSeriesStopAtAThousandBoxesThoseWithTheLargestBacklog() throws Exception {
        SinkStore store = Backend.H2.fixture(dir).open();
        try {
            FleetRegistry fleet = new FleetRegistry(store);
            Instant now = Instant.parse("2026-12-03T12:00:00Z");
            int boxes = SinkCollector.DEVICE_SERIES + 3;
            fleet.createClaim(new FleetRegistry.Claim("clm_many", "shop-9", boxes, boxes, now.plusSeconds(3600), now));
            WireCodec codec = new WireCodec();
            for (int i = 0; i < boxes; i++) {
                String id = String.format("box-%04d", i);
                fleet.provision("clm_many", "hw-" + i, null, null, now, "hash", loc -> id);
                // box-0000 holds the most, box-1002 the least
                fleet.noteStatus(id, true, new String(codec.encode(new DeviceStatus(1, id, true, now, "1.0", 1, 60,
                        boxes - i, 5, "ready", 1_000_000, Double.NaN)), StandardCharsets.UTF_8), now);
            }
            Scrape s = SinkCollectorTest.scrape(new SinkCollector(new SinkMetrics(), store, fleet));
            assertEquals(SinkCollector.DEVICE_SERIES, s.samples("sevenstamp_device_backlog_events").size());
            assertEquals(3.0, s.value("sevenstamp_device_series_dropped"));
            assertEquals((double) boxes, s.value("sevenstamp_device_backlog_events", "device", "box-0000", "location", "shop-9"));
            assertTrue(s.samples("sevenstamp_device_backlog_events").stream()
                    .noneMatch(x -> x.labels().get("device").equals("box-1002")), "the smallest backlog is left out");
            assertEquals((double) boxes * (boxes + 1) / 2, s.value("sevenstamp_backlog_events"), "the total has every box");
            assertEquals((double) boxes, s.value("sevenstamp_devices_online"));
        } finally {
            store.close();
        }
    }

}
