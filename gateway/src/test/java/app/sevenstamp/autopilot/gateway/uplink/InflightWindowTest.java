package app.sevenstamp.autopilot.gateway.uplink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import app.sevenstamp.autopilot.gateway.outbox.StoredEvent;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/**
 * The outbox deletes an acknowledged row by its number, which only the window knows: an ack must find its event's
 * entry on this connection and on the one before it (the broker delivers the kept session's acks after a reconnect).
 */
class InflightWindowTest {
    private static StoredEvent event(long seq) {
        return new StoredEvent(seq, "event-" + seq, new byte[] {'{', '}'}, Instant.EPOCH, "boot-1", seq);
    }

    @Test
    void anAckFindsItsEventSentOnThisConnectionOrTheOneBefore() {
        InflightWindow window = new InflightWindow(10);
        window.sent(event(1), 0);
        window.sent(event(2), 0);
        assertEquals(1, window.acked("event-1").seq());

        window.resendAll(); // the connection was lost: event 2 is sent again from the outbox
        assertEquals(0, window.size());
        assertEquals(0, window.lastSentSeq());
        window.sent(event(2), 5);
        window.sent(event(3), 5);
        assertEquals(2, window.acked("event-2").seq(), "the ack of the first send");
        assertEquals(2, window.acked("event-2").seq(), "the ack of the second, from the connection before");
        assertNull(window.acked("event-2"), "a third ack is no one's");
        assertNull(window.acked("event-1"), "acknowledged already");

        window.resendAll();
        window.resendAll(); // two connections later event 3's first send is forgotten
        assertNull(window.acked("event-3"));
        assertNull(window.acked("event-9"), "an event this process never sent");
    }

    /**
     * A box that restarts with its broker session kept gets the acks the sink sent its earlier process, before it has
     * sent anything on its first connection: each finds no entry (its event is sent again and that ack deletes it).
     * Until this test, such an ack threw on the uplink thread (an immutable empty map's {@code remove}), logged as an
     * "uplink error" with a stack trace at a restart during a drain.
     */
    @Test
    void anAckBeforeAnythingWasSentFindsNoEntry() {
        InflightWindow window = new InflightWindow(10);
        assertNull(window.acked("event-1"), "an ack to the process before this one");
        window.sent(event(1), 0);
        assertEquals(1, window.acked("event-1").seq());
    }
}
