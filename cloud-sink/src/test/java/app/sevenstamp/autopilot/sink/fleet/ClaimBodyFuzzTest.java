package app.sevenstamp.autopilot.sink.fleet;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * Jazzer target for the {@code expires} field of {@code POST /api/v1/claims}, through the route's own parser
 * ({@link FleetHttp#duration}): refused with an IllegalArgumentException (a 400) or a duration of 1 minute to
 * 3650 days. The body's other fields are read inline in FleetHttp's private handler (see docs/fuzzing.md).
 */
class ClaimBodyFuzzTest {

    @FuzzTest(maxDuration = "10s")
    void expiresIsWithinItsRangeOrRefused(byte[] text) {
        Duration d;
        try {
            d = FleetHttp.duration(new String(text, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            assertNotNull(e.getMessage());
            return;
        }
        assertTrue(d.compareTo(Duration.ofMinutes(1)) >= 0 && d.compareTo(Duration.ofDays(3650)) <= 0, d.toString());
    }
}
