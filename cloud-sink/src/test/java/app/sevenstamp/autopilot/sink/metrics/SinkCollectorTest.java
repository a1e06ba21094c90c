package app.sevenstamp.autopilot.sink.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

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
}
