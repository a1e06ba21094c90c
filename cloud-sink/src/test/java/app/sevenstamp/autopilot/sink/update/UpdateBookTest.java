package app.sevenstamp.autopilot.sink.update;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import app.sevenstamp.autopilot.sink.update.UpdateBook.Release;
import app.sevenstamp.autopilot.sink.update.UpdateBook.Row;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The rollout's SQL (migration 18) on both databases, and the stages' choice of boxes. */
@ParameterizedClass
@EnumSource(Backend.class)
class UpdateBookTest {
    private static final Instant T0 = Instant.parse("2026-12-03T22:00:00.123456Z");
    private static final String SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private SinkStore store;
    private UpdateBook book;

    @BeforeEach
    void open() {
        store = backend.fixture(dir).open();
        book = new UpdateBook(store);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void aVersionIsPublishedOnceAndABoxKeepsItsStateWhenAWiderStageComes() {
        Release r = new Release("0.2.0", "https://u.example/gw.deb", SHA, 100, T0);
        assertTrue(book.publish(r));
        assertFalse(book.publish(new Release("0.2.0", "https://u.example/other.deb", SHA, 100, T0)), "a version is published once");
        assertEquals(List.of(r), book.releases());

        assertTrue(book.enrol("box-1", "0.2.0", "one:box-1", T0));
        book.sent("box-1", "0.2.0", T0.plusSeconds(1));
        assertTrue(book.report("box-1", "0.2.0", "rolled-back", "not healthy within 120 s", T0.plusSeconds(200)));
        assertFalse(book.report("box-1", "0.2.0", "rolled-back", "not healthy within 120 s", T0.plusSeconds(260)), "no change");
        assertFalse(book.enrol("box-1", "0.2.0", "all", T0.plusSeconds(300)), "in the rollout already: its state stays");
        assertTrue(book.enrol("box-2", "0.2.0", "all", T0.plusSeconds(300)));
        assertFalse(book.report("box-3", "0.2.0", "healthy", null, T0), "a box not in the rollout moves nothing");

        assertEquals(List.of(
                new Row("box-1", "0.2.0", "one:box-1", "rolled-back", "not healthy within 120 s", T0.plusSeconds(1), T0.plusSeconds(200)),
                new Row("box-2", "0.2.0", "all", "pending", null, null, T0.plusSeconds(300))), book.rows());
    }

    @Test
    void percentageStagesTakeTheSameBoxesEveryTimeAndAWiderOneTakesTheNarrowersBoxes() {
        List<String> ids = IntStream.range(0, 1000).mapToObj(i -> "shop-" + (i % 7) + "-" + Integer.toHexString(i * 7919)).toList();
        Set<String> ten = new HashSet<>();
        Set<String> fifty = new HashSet<>();
        for (String id : ids) {
            int b = UpdateService.bucket(id);
            assertTrue(b >= 0 && b < 100, id + " " + b);
            assertEquals(b, UpdateService.bucket(id));
            if (b < 10) {
                ten.add(id);
            }
            if (b < 50) {
                fifty.add(id);
            }
        }
        assertTrue(fifty.containsAll(ten));
        // roughly the share asked for: 1000 boxes, 10 % within 50 of 100
        assertTrue(ten.size() > 50 && ten.size() < 150, "10 % of 1000: " + ten.size());
        assertTrue(fifty.size() > 400 && fifty.size() < 600, "50 % of 1000: " + fifty.size());
    }
}
