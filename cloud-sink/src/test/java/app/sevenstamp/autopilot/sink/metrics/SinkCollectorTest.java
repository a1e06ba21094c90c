package app.sevenstamp.autopilot.sink.metrics;

import app.sevenstamp.autopilot.sink.testing.Scrape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.fleet.FleetRegistry;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a part's key (SinkMetrics.include) becomes a Prometheus name and type, without the collector knowing it. */
class SinkCollectorTest {
    @Test
    void keysBecomeSnakeCaseNames() {
        assertEquals("wallet_sent", SinkCollector.promName("wallet.sent"));
        assertEquals("wallet_latency_ms_last", SinkCollector.promName("wallet.latencyMsLast"));
        assertEquals("fleet_provision_refusals", SinkCollector.promName("fleet.provisionRefusals"));
        assertEquals("vouchers_redeem_already_redeemed", SinkCollector.promName("vouchers.redeem.ALREADY_REDEEMED"));
        assertEquals("odd_key_with_spaces", SinkCollector.promName("odd key/with spaces"));
    }

    @Test
    void aLevelIsAGaugeAndEverythingElseACounter() {
        assertTrue(SinkCollector.level("wallet.pending"));
        assertTrue(SinkCollector.level("vouchers.posCodesFree"));
        assertTrue(SinkCollector.level("wallet.latencyMsLast"));
        assertTrue(SinkCollector.level("wallet.latencyMsMax"));
        assertFalse(SinkCollector.level("wallet.sent"));
        assertFalse(SinkCollector.level("wallet.failed"));
        assertFalse(SinkCollector.level("vouchers.posCodesLowWarnings"));
        assertFalse(SinkCollector.level("vouchers.redeem.EXPIRED"));
    }

    @TempDir
    Path dir;

    @Test
    void aStoreThatIsGoneLeavesOutItsSeriesButNotTheCounters() throws Exception {
        SinkStore store = Backend.H2.fixture(dir).open();
        SinkMetrics metrics = new SinkMetrics();
        metrics.include(() -> Map.of("wallet.sent", 3L, "wallet.pending", 2L));
        SinkCollector collector = new SinkCollector(metrics, store, new FleetRegistry(store));
        metrics.countAccepted();
        Scrape up = scrape(collector);
        assertEquals(0.0, up.value("sevenstamp_gaps_open"));
        assertEquals(0.0, up.value("sevenstamp_devices_online"));
        assertEquals(3.0, up.value("sevenstamp_wallet_sent_total"));
        assertEquals("gauge", up.type("sevenstamp_wallet_pending"));

        store.close(); // the database is gone: every read fails
        metrics.countAccepted();
        Scrape down = scrape(collector);
        assertEquals(2.0, down.value("sevenstamp_ingest_events_total", "outcome", "accepted"));
        assertEquals(3.0, down.value("sevenstamp_wallet_sent_total"));
        assertTrue(down.samples("sevenstamp_gaps_open").isEmpty());
        assertTrue(down.samples("sevenstamp_devices_online").isEmpty());
        assertEquals(1.0, down.value("sevenstamp_scrape_errors_total", "source", "store"));
        assertEquals(1.0, down.value("sevenstamp_scrape_errors_total", "source", "fleet"));
    }

    static Scrape scrape(SinkCollector c) throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, c.collect());
        return Scrape.parse(out.toString(java.nio.charset.StandardCharsets.UTF_8));
    }
}
