package app.sevenstamp.autopilot.sink.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.loyalty.Program;
import app.sevenstamp.autopilot.sink.loyalty.RewardPlan;
import app.sevenstamp.autopilot.sink.loyalty.StampRules;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The console's program changes over the file's, stored in program_overrides, the same on H2 and PostgreSQL. */
@ParameterizedClass
@EnumSource(Backend.class)
class ProgramBookTest {
    private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-12-03T10:00:00Z"), ZoneOffset.UTC);
    private static final Program COFFEE = new Program("coffee", "Coffee card", 10,
            new StampRules(Duration.ofMinutes(5), 3, Duration.ofMinutes(30), ZoneId.of("Europe/Berlin")),
            new RewardPlan(List.of(5), RewardPlan.FullCard.CARRY_OVER, Duration.ZERO));
    private static final Program TEA = new Program("tea", "Tea card", 8, StampRules.NONE, RewardPlan.SIMPLE);

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private Backend.Fixture db;

    @BeforeEach
    void database() {
        db = backend.fixture(dir);
    }

    private static Map<String, Program> file(Program... programs) {
        Map<String, Program> m = new LinkedHashMap<>();
        for (Program p : programs) {
            m.put(p.id(), p);
        }
        return m;
    }

    @Test
    void aChangeWinsOverTheFileLiveAndAfterARestartUntilReset() {
        try (SinkStore store = db.open()) {
            ProgramBook book = ProgramBook.load(store, file(COFFEE, TEA), CLOCK);
            Map<String, Program> live = book.live();
            List<Map<String, Program>> published = new ArrayList<>();
            book.onChange(published::add);
            assertSame(COFFEE, live.get("coffee"));

            Program changed = book.change("coffee", ProgramBook.Rules.parse("8", "3, 6", "60", "5", "30"), "olga");
            assertEquals(8, live.get("coffee").stampsRequired(), "the live view shows the change");
            assertEquals(changed, live.get("coffee"));
            assertEquals(List.of(3, 6), changed.plan().milestones());
            assertEquals(Duration.ofSeconds(60), changed.rules().cooldown());
            assertEquals(5, changed.rules().dailyCap());
            assertEquals(Duration.ofDays(30), changed.plan().stampExpiry());
            // what the page does not set stays the file's
            assertEquals("Coffee card", changed.name());
            assertEquals(Duration.ofMinutes(30), changed.rules().minTravel());
            assertEquals(ZoneId.of("Europe/Berlin"), changed.rules().zone());
            assertEquals(RewardPlan.FullCard.CARRY_OVER, changed.plan().fullCard());
            assertSame(TEA, live.get("tea"));
            assertEquals(1, published.size());
            assertEquals(changed, published.get(0).get("coffee"));
            assertEquals("olga", book.changed("coffee").orElseThrow().by());
            assertEquals(CLOCK.instant(), book.changed("coffee").orElseThrow().at());

            book.change("coffee", ProgramBook.Rules.parse("9", "", "0", "0", "0"), "olga"); // a second change updates the row
            assertEquals(9, live.get("coffee").stampsRequired());

            ProgramBook again = ProgramBook.load(store, file(COFFEE, TEA), CLOCK); // a restart
            assertEquals(9, again.current().get("coffee").stampsRequired());
            assertEquals(List.of(), again.current().get("coffee").plan().milestones());

            assertTrue(again.reset("coffee"));
            assertSame(COFFEE, again.live().get("coffee"));
            assertFalse(again.reset("coffee"), "nothing to reset");
            assertTrue(ProgramBook.load(store, file(COFFEE, TEA), CLOCK).changed("coffee").isEmpty());
        }
    }

    @Test
    void aChangeOfAProgramTheFileDroppedIsIgnored() {
        try (SinkStore store = db.open()) {
            ProgramBook.load(store, file(COFFEE, TEA), CLOCK).change("tea", ProgramBook.Rules.parse("4", "", "0", "0", "0"), "olga");
            ProgramBook without = ProgramBook.load(store, file(COFFEE), CLOCK);
            assertEquals(List.of("coffee"), List.copyOf(without.current().keySet()));
            assertTrue(without.changed("tea").isEmpty());
            assertThrows(IllegalArgumentException.class, () -> without.change("tea", ProgramBook.Rules.parse("4", "", "0", "0", "0"), "x"));
            // the file has it again: the change is still there
            assertEquals(4, ProgramBook.load(store, file(COFFEE, TEA), CLOCK).current().get("tea").stampsRequired());
        }
    }

    @Test
    void badValuesNameTheFieldAndWhatIsAllowed() {
        assertEquals("stampsRequired: '101' is not allowed; allowed: a whole number from 1 to 100",
                assertThrows(IllegalArgumentException.class, () -> ProgramBook.Rules.parse("101", "", "0", "0", "0")).getMessage());
        assertEquals("milestones: '3,3' is not allowed; allowed: increasing whole numbers from 1 to 9 (below stampsRequired), "
                        + "separated by commas",
                assertThrows(IllegalArgumentException.class, () -> ProgramBook.Rules.parse("10", "3,3", "0", "0", "0")).getMessage());
        assertEquals("milestones: '1' is not allowed; allowed: none (a card of 1 stamp has no milestones)",
                assertThrows(IllegalArgumentException.class, () -> ProgramBook.Rules.parse("1", "1", "0", "0", "0")).getMessage());
        assertEquals("cooldown: '86401' is not allowed; allowed: a whole number from 0 to 86400",
                assertThrows(IllegalArgumentException.class, () -> ProgramBook.Rules.parse("10", "", "86401", "0", "0")).getMessage());
        assertEquals("dailyCap: '' is not allowed; allowed: a whole number from 0 to 100",
                assertThrows(IllegalArgumentException.class, () -> ProgramBook.Rules.parse("10", "", "0", null, "0")).getMessage());
        assertEquals("stampExpiry: '1.5' is not allowed; allowed: a whole number from 0 to 3650",
                assertThrows(IllegalArgumentException.class, () -> ProgramBook.Rules.parse("10", "", "0", "0", "1.5")).getMessage());
    }
}
