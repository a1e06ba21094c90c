package app.sevenstamp.autopilot.sink.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.web.Problem;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Jazzer target for the {@code expires} field of {@code POST /api/v1/claims}, through the route's own parser
 * ({@link FleetHttp#duration}): refused with an IllegalArgumentException (a 400) or a duration of 1 minute to
 * 3650 days; and the whole body through {@link FleetHttp.ClaimRequest#parse}.
 */
class ClaimBodyFuzzTest {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    @FuzzTest(maxDuration = "10s")
    void expiresIsWithinItsRangeOrRefused(byte[] text) {
        Duration d;
        try {
            d = FleetHttp.duration(new String(text, StandardCharsets.UTF_8));
        } catch (Problem e) {
            assertEquals(400, e.status());
            assertNotNull(e.getMessage());
            return;
        }
        assertTrue(d.compareTo(Duration.ofMinutes(1)) >= 0 && d.compareTo(Duration.ofDays(3650)) <= 0, d.toString());
    }

    /** The whole body of {@code POST /api/v1/claims}: a valid request within its bounds, or a 400 naming the field. */
    @FuzzTest(maxDuration = "10s")
    void aClaimBodyIsValidOrA400(byte[] json) {
        com.fasterxml.jackson.databind.JsonNode body;
        try {
            body = JSON.readTree(json);
        } catch (java.io.IOException notJson) {
            return; // the exchange answers that 400 before the route sees the body
        }
        if (body == null || !body.isObject()) {
            return;
        }
        FleetHttp.ClaimRequest c;
        try {
            c = FleetHttp.ClaimRequest.parse(body);
        } catch (Problem e) {
            assertEquals(400, e.status(), e.getMessage());
            return;
        }
        assertTrue(c.uses() >= 1 && c.uses() <= 100_000, c.toString());
        assertTrue(!c.location().isBlank(), c.toString());
        JsonNode uses = body.get("uses");
        assertTrue(uses == null || uses.isIntegralNumber() && uses.intValue() == c.uses(), "uses read as written: " + body);
    }
}
