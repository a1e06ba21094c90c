package app.sevenstamp.autopilot.gateway.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The benchmark runs and every signal changed an output; the numbers are printed, never asserted. */
class FeedbackLatencyBenchTest {

    @Test
    void everySignalChangesAnOutputAndTheLatencyIsPrinted() throws InterruptedException {
        FeedbackLatencyBench.Result result = FeedbackLatencyBench.measure(100);
        assertEquals(100, result.micros().length);
        assertTrue(result.percentile(50) <= result.percentile(99) && result.percentile(99) <= result.max());
        System.out.println(result.line());
    }
}
