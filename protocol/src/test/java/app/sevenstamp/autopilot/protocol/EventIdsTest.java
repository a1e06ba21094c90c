package app.sevenstamp.autopilot.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class EventIdsTest {
    @Test
    void idsAreVersion7AndSortByTime() {
        String earlier = EventIds.next(1_700_000_000_000L);
        String later = EventIds.next(1_700_000_000_001L);
        assertEquals(7, UUID.fromString(earlier).version());
        assertEquals(2, UUID.fromString(earlier).variant());
        assertTrue(earlier.compareTo(later) < 0, earlier + " < " + later);
    }

    @Test
    void idsInTheSameMillisecondDoNotCollide() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 100_000; i++) {
            ids.add(EventIds.next(1_700_000_000_000L));
        }
        assertEquals(100_000, ids.size());
    }
}
