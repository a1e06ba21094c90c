package app.sevenstamp.autopilot.sink.voucher;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.card.CardVerifier;
import app.sevenstamp.autopilot.protocol.testing.MutableClock;
import app.sevenstamp.autopilot.sink.store.LedgerHook;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.testing.Backend;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The till-code file read again when it changes, on H2 and PostgreSQL: new codes join the pool without a
 * restart, a bad version of the file is reported once and loses none of the codes imported before, and the
 * low-pool warning comes once per refill. The file is a real one in the test's directory.
 */
@ParameterizedClass
@EnumSource(Backend.class)
class PosCodeRefreshTest {
    private static final Instant T0 = Instant.parse("2026-11-23T08:00:00Z");

    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private SinkStore store;
    private Path file;
    private final MutableClock clock = new MutableClock(T0);
    private final VoucherMetrics metrics = new VoucherMetrics();
    private PosCodePool pool;
    private VoucherIssuer issuer;

    @BeforeEach
    void open() throws Exception {
        store = backend.fixture(dir).open();
        file = dir.resolve("till-codes.txt");
        write("# batch 1\nA-001\nA-002\nA-003\n", T0.minusSeconds(60));
        pool = new PosCodePool(store, file, 2, metrics);
        issuer = new VoucherIssuer(store, pool, Map.of(), metrics, clock, new SecureRandom(), new CardVerifier(Map.of()), Set.of(), LedgerHook.NONE);
        assertEquals(3, pool.importFile(clock.instant()));
    }

    @AfterEach
    void close() {
        store.close();
    }

    /** Writes the file and sets its modification time, as the shop's editor or script would leave it. */
    private void write(String text, Instant modified) throws Exception {
        Files.writeString(file, text, StandardCharsets.UTF_8);
        Files.setLastModifiedTime(file, FileTime.from(modified));
    }

    private void append(String text, Instant modified) throws Exception {
        Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        Files.setLastModifiedTime(file, FileTime.from(modified));
    }

    private String issue() {
        return issuer.goodwill(new VoucherIssuer.Goodwill("Cake", null, Duration.ofDays(1), null, null, "sorry", "ann"))
                .posCode();
    }

    @Test
    void codesAddedToTheFileJoinThePoolOnceTheFileIsQuietAndAnUnchangedFileIsNotReadAgain() throws Exception {
        assertEquals(PosCodePool.Refresh.UNCHANGED, pool.refresh(clock.instant()));

        // Just written: maybe not finished yet. The next check sees it unchanged and reads it.
        append("A-004\nA-005\n", clock.instant());
        assertEquals(PosCodePool.Refresh.SETTLING, pool.refresh(clock.instant()));
        assertEquals(3, pool.free());
        clock.advance(Duration.ofSeconds(30));
        assertEquals(PosCodePool.Refresh.IMPORTED, pool.refresh(clock.instant()));
        assertEquals(5, pool.free());
        assertEquals(5, metrics.posCodesAdded());
        assertEquals(5, metrics.posCodesFree());
        assertEquals(PosCodePool.Refresh.UNCHANGED, pool.refresh(clock.instant()));

        // Written a while before the check: read at once. Codes already in the pool (used or not) stay as they are.
        assertEquals("A-001", issue());
        write("A-001\nA-002\nA-003\nA-004\nA-005\nB-001\n", clock.instant().minusSeconds(10));
        assertEquals(PosCodePool.Refresh.IMPORTED, pool.refresh(clock.instant()));
        assertEquals(5, pool.free(), "one taken, one added");
        assertEquals(6, metrics.posCodesAdded());

        // A last line without its line end may be cut short ("B-00" of "B-002"): it waits one check.
        append("B-00", clock.instant().minusSeconds(10));
        assertEquals(PosCodePool.Refresh.SETTLING, pool.refresh(clock.instant()));
        append("2\n", clock.instant().minusSeconds(10));
        assertEquals(PosCodePool.Refresh.IMPORTED, pool.refresh(clock.instant()));
        assertEquals(6, pool.free(), "B-002 added, no B-00");
        assertEquals(7, metrics.posCodesAdded());

        // A batch that replaces the file: the codes gone from it stay in the pool, with their vouchers or free.
        write("C-001\n", clock.instant().minusSeconds(10));
        assertEquals(PosCodePool.Refresh.IMPORTED, pool.refresh(clock.instant()));
        assertEquals(7, pool.free());
        assertEquals(0, metrics.posCodesFileErrors());
    }

    @Test
    void aChangedFileThatCannotBeUsedIsReportedOnceAndTheCodesImportedBeforeStay() throws Exception {
        write("A-001\nA-002\nA-003\nA-004\nnot a code\n", clock.instant().minusSeconds(10));
        assertEquals(PosCodePool.Refresh.FAILED, pool.refresh(clock.instant()));
        assertEquals(1, metrics.posCodesFileErrors());
        assertEquals(3, pool.free(), "nothing of the bad version, nothing lost");
        clock.advance(Duration.ofSeconds(30));
        assertEquals(PosCodePool.Refresh.FAILED, pool.refresh(clock.instant()));
        assertEquals(1, metrics.posCodesFileErrors(), "the same bad version is reported once");
        assertEquals("A-001", issue(), "vouchers go on taking the codes imported before");

        write("A-001\nA-002\nA-003\nA-004\n", clock.instant().minusSeconds(10));
        assertEquals(PosCodePool.Refresh.IMPORTED, pool.refresh(clock.instant()));
        assertEquals(3, pool.free());

        Files.delete(file);
        assertEquals(PosCodePool.Refresh.SETTLING, pool.refresh(clock.instant()), "an editor may be writing it anew");
        assertEquals(1, metrics.posCodesFileErrors());
        assertEquals(PosCodePool.Refresh.FAILED, pool.refresh(clock.instant()), "missing at two checks in a row");
        assertEquals(PosCodePool.Refresh.FAILED, pool.refresh(clock.instant()));
        assertEquals(2, metrics.posCodesFileErrors());
        assertEquals(3, pool.free());
        write("A-004\nA-005\n", clock.instant().minusSeconds(10));
        assertEquals(PosCodePool.Refresh.IMPORTED, pool.refresh(clock.instant()));
        assertEquals(4, pool.free());
    }

    @Test
    void theLowPoolWarningComesOnceAndAgainOnlyAfterARefillAboveTheThreshold() throws Exception {
        assertEquals(0, metrics.posCodesLowWarnings());
        issue();
        assertEquals(1, metrics.posCodesLowWarnings(), "2 left, at the threshold");
        issue();
        assertEquals(1, metrics.posCodesLowWarnings(), "once while it stays low");

        // A refill that stays at the threshold is no refill: still no second warning.
        append("A-004\n", clock.instant().minusSeconds(10));
        assertEquals(PosCodePool.Refresh.IMPORTED, pool.refresh(clock.instant()));
        assertEquals(2, pool.free());
        issue();
        assertEquals(1, metrics.posCodesLowWarnings());

        append("A-005\nA-006\nA-007\n", clock.instant().minusSeconds(5));
        assertEquals(PosCodePool.Refresh.IMPORTED, pool.refresh(clock.instant()));
        assertEquals(4, pool.free());
        issue();
        assertEquals(1, metrics.posCodesLowWarnings(), "3 left, above the threshold");
        issue();
        assertEquals(2, metrics.posCodesLowWarnings(), "low again after the refill: warned again");
        issue();
        issue();
        assertNull(issue(), "empty: issued without a till code");
        assertEquals(0, metrics.posCodesFree());
    }

    @Test
    void theWatcherThreadReadsTheChangedFileWhenTheClockSaysACheckIsDue() throws Exception {
        try (PosCodeWatcher watcher = PosCodeWatcher.start(pool, clock, PosCodeWatcher.CHECK_EVERY, Duration.ofMillis(10))) {
            assertTrue(Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals("pos-codes")));
            append("D-001\nD-002\n", clock.instant().minusSeconds(10));
            clock.advance(PosCodeWatcher.CHECK_EVERY);
            await().atMost(Duration.ofSeconds(10)).until(() -> metrics.posCodesFree() == 5);
            assertEquals(5, pool.free());

            write("garbage line with spaces\n", clock.instant().minusSeconds(10));
            clock.advance(PosCodeWatcher.CHECK_EVERY);
            await().atMost(Duration.ofSeconds(10)).until(() -> metrics.posCodesFileErrors() == 1);
            assertEquals(5, pool.free());

            // the clock is set back an hour (NTP): checks go on every CHECK_EVERY from the new time
            clock.set(clock.instant().minus(Duration.ofHours(1)));
            write("E-001\n", clock.instant().minusSeconds(10));
            clock.advance(PosCodeWatcher.CHECK_EVERY);
            await().atMost(Duration.ofSeconds(10)).until(() -> metrics.posCodesFree() == 6);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().equals("pos-codes") && t.isAlive()));
    }
}
