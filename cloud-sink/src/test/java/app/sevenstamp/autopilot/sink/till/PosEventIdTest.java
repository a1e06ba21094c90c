package app.sevenstamp.autopilot.sink.till;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.testing.Vectors;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The POS route's event ids. */
class PosEventIdTest {
    private static final String KEY = "pos-key-for-shop-1-0123456789abcdef";

    /** Issue 12, item 5: POS event ids were SHA-256 of location and Idempotency-Key, computable by anyone. */
    @Test
    void aPosEventIdIsAUuidOnlyTheTillsKeyCanDerive() throws Exception {
        byte[] key = KEY.getBytes(StandardCharsets.UTF_8);
        String id = TillDesk.eventId(key, "shop-1", "receipt-1");
        assertEquals(id, TillDesk.eventId(key, "shop-1", "receipt-1"), "a retry maps to the same event");
        assertNotEquals(id, TillDesk.eventId("another-key".getBytes(StandardCharsets.UTF_8), "shop-1", "receipt-1"));
        assertNotEquals(id, TillDesk.eventId(key, "shop-2", "receipt-1"));
        assertNotEquals(id, TillDesk.eventId(key, "shop-1", "receipt-2"));
        String code = Vectors.cardText("valid");
        String[] p = code.split("\\.");
        StampEvent e = new StampEvent(WireCodec.SCHEMA, id, "pos-shop-1", 1, code, p[2], p[3], "shop-1", Instant.now(), 1,
                "pos", true, EventKind.STAMP);
        WireCodec codec = new WireCodec();
        assertEquals(id, codec.decodeStampEvent(codec.encode(e)).eventId(), "the wire contract takes it");
    }
}
