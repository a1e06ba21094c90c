package app.sevenstamp.autopilot.gateway.uplink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.Backoff;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The retry schedule of failed deletes, in virtual time; the jitter is fixed at the middle of its range. */
class UndeletedAcksTest {
    private static final long MS = 1_000_000L;

    private final UndeletedAcks acks = new UndeletedAcks(new Backoff(Duration.ofMillis(250), Duration.ofSeconds(5),
            () -> 0.5));

    @Test
    void aFailedDeleteIsAskedAgainWhenItsWaitIsOverAndTheWaitGrowsWhileItKeepsFailing() {
        acks.deleting("a");
        assertEquals(Duration.ofMillis(250), acks.failed(1, "a", 0));
        assertEquals(OptionalLong.of(250 * MS), acks.retryAt());
        assertEquals(List.of(), acks.due(249 * MS));
        assertEquals(List.of(new UndeletedAcks.Acked(1, "a")), acks.due(250 * MS));
        assertEquals(OptionalLong.empty(), acks.retryAt(), "asked again: nothing scheduled until it answers");

        acks.deleting("a");
        assertEquals(Duration.ofMillis(375), acks.failed(1, "a", 300 * MS)); // uniform in 250..500 ms
        acks.deleting(acks.due(675 * MS).get(0).eventId());
        assertEquals(Duration.ofMillis(625), acks.failed(1, "a", 700 * MS)); // uniform in 250..1000 ms
        assertTrue(acks.holds("a"));
    }

    @Test
    void theWaitStopsGrowingAtItsMaximum() {
        Duration wait = null;
        for (int i = 0; i < 10; i++) {
            acks.deleting("a");
            wait = acks.failed(1, "a", 0);
            acks.due(Long.MAX_VALUE);
        }
        assertEquals(Duration.ofMillis(2625), wait); // uniform in 250..5000 ms
    }

    @Test
    void aBatchThatFailsTogetherGrowsTheWaitOnce() {
        List.of("a", "b", "c").forEach(acks::deleting);
        assertEquals(Duration.ofMillis(250), acks.failed(1, "a", 0));
        assertNull(acks.failed(2, "b", 0));
        assertNull(acks.failed(3, "c", MS));
        assertEquals(List.of(new UndeletedAcks.Acked(1, "a"), new UndeletedAcks.Acked(2, "b"), new UndeletedAcks.Acked(3, "c")),
                acks.due(250 * MS));
    }

    @Test
    void anAcknowledgedEventIsHeldFromResendingUntilItsDeleteAnswers() {
        acks.deleting("a");
        assertTrue(acks.holds("a"), "acknowledged, delete under way");
        acks.failed(1, "a", 0);
        assertTrue(acks.holds("a"), "waiting for the retry");
        acks.deleting(acks.due(250 * MS).get(0).eventId());
        assertTrue(acks.holds("a"), "retry under way");
        acks.deleted("a");
        assertFalse(acks.holds("a"));
        assertEquals(0, acks.size());
        assertEquals(OptionalLong.empty(), acks.retryAt());
    }

    @Test
    void aDeleteThatWorksAgainResetsTheWait() {
        acks.deleting("a");
        acks.failed(1, "a", 0);
        acks.deleting(acks.due(250 * MS).get(0).eventId());
        acks.failed(1, "a", 250 * MS);
        acks.deleting(acks.due(Long.MAX_VALUE).get(0).eventId());
        acks.deleted("a");
        acks.deleting("b");
        assertEquals(Duration.ofMillis(250), acks.failed(2, "b", 0), "the outbox worked in between: the shortest wait");
    }
}
