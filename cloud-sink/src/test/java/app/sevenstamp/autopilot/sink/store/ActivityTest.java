package app.sevenstamp.autopilot.sink.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.testing.Backend;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The live page's counts: per location and per minute, by arrival, the same on H2 and PostgreSQL. */
@ParameterizedClass
@EnumSource(Backend.class)
class ActivityTest {
    private static final Instant T0 = Instant.parse("2026-12-03T10:00:00Z");

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private Backend.Fixture db;

    @BeforeEach
    void database() {
        db = backend.fixture(dir);
    }

    private static void line(SinkStore store, LedgerType type, String location, Instant recorded) {
        store.transaction(tx -> {
            Ledger.append(tx, new LedgerEntry(0, "ABCDEFGHJKMNPQRS", "coffee", type, 1, 0, 0, null, location, recorded, recorded,
                    null, null, "test", null, null));
            return null;
        });
    }

    @Test
    void stampsAreCountedPerLocationAndMinuteSinceTheStart() {
        try (SinkStore store = db.open()) {
            line(store, LedgerType.STAMP, "shop-1", T0.plusSeconds(5));
            line(store, LedgerType.STAMP, "shop-1", T0.plusSeconds(59));
            line(store, LedgerType.STAMP, "shop-1", T0.plusSeconds(61));
            line(store, LedgerType.STAMP, "shop-2", T0.plusSeconds(30));
            line(store, LedgerType.STAMP, null, T0.plusSeconds(30));
            line(store, LedgerType.REWARD, "shop-1", T0.plusSeconds(30));
            line(store, LedgerType.STAMP, "shop-1", T0.minusSeconds(1)); // before the start
            Activity activity = new Activity(store);
            Map<String, Map<Instant, Long>> m = activity.perLocation("STAMP", T0, Duration.ofMinutes(1));
            assertEquals(Map.of(T0, 2L, T0.plusSeconds(60), 1L), m.get("shop-1"));
            assertEquals(Map.of(T0, 1L), m.get("shop-2"));
            assertEquals(Map.of(T0, 1L), m.get(""), "a line without a location");
            assertEquals(5, activity.count("STAMP", T0));
            assertEquals(1, activity.count("REWARD", T0));
        }
    }
}
