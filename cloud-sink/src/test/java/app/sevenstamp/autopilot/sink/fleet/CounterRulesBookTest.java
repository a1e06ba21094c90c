package app.sevenstamp.autopilot.sink.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.CounterRules;
import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The counter rules' version on both databases: it stays while the rules stay, grows when they change (even
 * with the clock set back), and a fresh database starts ahead of what an older one numbered, so boxes that
 * stored the old numbering still take the new rules.
 */
@ParameterizedClass
@EnumSource(Backend.class)
class CounterRulesBookTest {
    private static final Instant T0 = Instant.parse("2026-11-23T08:00:00Z");

    @Parameter
    Backend backend;

    @TempDir
    Path dir;

    private static Map<String, Program> coffee(Duration cooldown) {
        return Map.of("coffee", new Program("coffee", "Coffee", 5,
                new StampRules(cooldown, 2, Duration.ZERO, ZoneId.of("Europe/Berlin")), RewardPlan.SIMPLE));
    }

    @Test
    void theVersionStaysWithTheRulesAndGrowsWithEveryChangeEvenWhenTheClockGoesBack() {
        MutableClock clock = new MutableClock(T0);
        try (SinkStore store = backend.fixture(dir.resolve("a")).open()) {
            CounterRules first = CounterRulesBook.versioned(store, coffee(Duration.ofMinutes(5)), clock);
            assertEquals(T0.getEpochSecond(), first.version(), "numbered by the second of the change");
            clock.advance(Duration.ofHours(1));
            assertEquals(first.version(), CounterRulesBook.versioned(store, coffee(Duration.ofMinutes(5)), clock).version(),
                    "same rules, same version: the boxes see nothing new");
            CounterRules changed = CounterRulesBook.versioned(store, coffee(Duration.ofMinutes(10)), clock);
            assertEquals(T0.plus(Duration.ofHours(1)).getEpochSecond(), changed.version());
            clock.set(T0.minus(Duration.ofDays(1))); // the clock went back
            CounterRules again = CounterRulesBook.versioned(store, coffee(Duration.ofMinutes(5)), clock);
            assertEquals(changed.version() + 1, again.version(), "a change still gets a newer version");
            assertEquals(300, again.programs().get("coffee").cooldownSeconds());
        }
    }

    @Test
    void aFreshDatabaseStartsAheadAndABoxAheadOfTheSinkIsNumberedPast() {
        MutableClock clock = new MutableClock(T0);
        long old;
        try (SinkStore store = backend.fixture(dir.resolve("old")).open()) {
            CounterRulesBook.versioned(store, coffee(Duration.ofMinutes(5)), clock);
            old = CounterRulesBook.versioned(store, coffee(Duration.ofMinutes(7)), clock).version(); // same second: +1
            assertEquals(T0.getEpochSecond() + 1, old);
        }
        clock.advance(Duration.ofMinutes(2)); // the sink moved to a new database (H2 to PostgreSQL, a restore)
        try (SinkStore store = backend.fixture(dir.resolve("new")).open()) {
            CounterRules fresh = CounterRulesBook.versioned(store, coffee(Duration.ofMinutes(5)), clock);
            assertTrue(fresh.version() > old, fresh.version() + " must be above " + old + " that the boxes keep");

            // a box reports a version above the sink's (a database restored from before a change): past it
            long boxHolds = fresh.version() + 500;
            CounterRules past = CounterRulesBook.numberedPast(store, coffee(Duration.ofMinutes(5)), clock, boxHolds)
                    .orElseThrow();
            assertEquals(boxHolds + 1, past.version());
            assertEquals(past, CounterRulesBook.numberedPast(store, coffee(Duration.ofMinutes(5)), clock, boxHolds)
                    .orElseThrow(), "once past, the same report (another sink's, say) gives the stored rules");
            assertEquals(past.version(), CounterRulesBook.versioned(store, coffee(Duration.ofMinutes(5)), clock).version());
        }
    }

    @Test
    void twoSinksWithDifferentProgramsOnOneDatabaseDoNotNumberPastEachOther() {
        MutableClock clock = new MutableClock(T0);
        try (SinkStore store = backend.fixture(dir.resolve("shared")).open()) {
            long old = CounterRulesBook.versioned(store, coffee(Duration.ofMinutes(5)), clock).version();
            clock.advance(Duration.ofMinutes(1));
            // sink A restarts with a longer cooldown; the boxes take A's version and report it
            long newer = CounterRulesBook.versioned(store, coffee(Duration.ofMinutes(10)), clock).version();
            assertTrue(newer > old);
            // sink B still runs the old programs: it must not put them back over A's with a higher version
            assertTrue(CounterRulesBook.numberedPast(store, coffee(Duration.ofMinutes(5)), clock, newer).isEmpty());
            // a third sink with A's programs adopts A's version as stored, without writing
            CounterRules adopted = CounterRulesBook.numberedPast(store, coffee(Duration.ofMinutes(10)), clock, newer)
                    .orElseThrow();
            assertEquals(newer, adopted.version());
            assertEquals(600, adopted.programs().get("coffee").cooldownSeconds());
            assertEquals(newer, CounterRulesBook.versioned(store, coffee(Duration.ofMinutes(10)), clock).version());
        }
    }
}
