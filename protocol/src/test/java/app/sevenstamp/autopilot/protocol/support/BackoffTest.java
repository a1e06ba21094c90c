package app.sevenstamp.autopilot.protocol.support;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BackoffTest {
    private static final Duration MIN = Duration.ofSeconds(1);
    private static final Duration MAX = Duration.ofSeconds(60);

    @Test
    void upperBoundDoublesFromMinUntilMax() {
        Backoff highest = new Backoff(MIN, MAX, () -> 0.999_999_999);
        long[] seconds = new long[9];
        for (int i = 0; i < seconds.length; i++) {
            seconds[i] = Math.round(highest.next().toMillis() / 1000.0);
        }
        assertEquals("[1, 2, 4, 8, 16, 32, 60, 60, 60]", java.util.Arrays.toString(seconds));
    }

    @Test
    void lowestDrawWaitsMin() {
        Backoff lowest = new Backoff(MIN, MAX, () -> 0.0);
        for (int i = 0; i < 20; i++) {
            assertEquals(MIN, lowest.next());
        }
    }

    @Test
    void everyWaitLiesBetweenMinAndMax() {
        Random random = new Random(7);
        Backoff backoff = new Backoff(MIN, MAX, random::nextDouble);
        for (int i = 0; i < 1000; i++) {
            Duration d = backoff.next();
            assertTrue(d.compareTo(MIN) >= 0 && d.compareTo(MAX) <= 0, d.toString());
        }
    }

    @Test
    void resetStartsOverAtMin() {
        Backoff backoff = new Backoff(MIN, MAX, () -> 0.999_999_999);
        for (int i = 0; i < 10; i++) {
            backoff.next();
        }
        backoff.reset();
        assertEquals(1, Math.round(backoff.next().toMillis() / 1000.0));
    }
}
