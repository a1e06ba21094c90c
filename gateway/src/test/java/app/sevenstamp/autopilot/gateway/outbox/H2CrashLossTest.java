package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.gateway.support.Ticker;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.EventKind;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The root cause of issue 11, kept as the smallest reproductions: H2 2.5.252 (MVStore) does not keep
 * what it committed and synced, and the outbox does not rely on it (docs/durability.md).
 *
 * <p>"Killed" here means: the database file copied while H2 still has it open, which is exactly what
 * kill -9 leaves on the disk (every write reached the page cache; nothing closed the file). If one of
 * the H2 tests starts failing after an H2 upgrade, H2 has changed: read docs/durability.md again before
 * trusting H2 with anything.
 */
class H2CrashLossTest {
    @TempDir
    Path dir;

    /**
     * Freed space is reused after RETENTION_TIME (45 s by default; 1 s here). The first chunk written into
     * it after an idle period is not where the previous chunk's "next" guess points, the store header
     * written with it names that previous chunk, and recovery after a crash follows the header and the
     * guesses: it never finds the new chunks. Three commits, each followed by CHECKPOINT SYNC, all gone.
     */
    @Test
    void h2LosesSyncedCommitsWrittenAfterAnIdlePeriodBeyondRetentionTime() throws Exception {
        Path live = dir.resolve("live");
        try (Connection c = DriverManager.getConnection("jdbc:h2:file:" + live.resolve("db")
                + ";WRITE_DELAY=0;RETENTION_TIME=1000", "sa", "")) {
            c.setAutoCommit(false);
            Statement st = c.createStatement();
            st.execute("CREATE TABLE stamps (id INT PRIMARY KEY)");
            c.commit();
            st.execute("CHECKPOINT SYNC");
            Thread.sleep(1500); // idle past RETENTION_TIME: the space of the chunks the commit freed is reusable
            for (int id = 1; id <= 3; id++) {
                st.execute("INSERT INTO stamps VALUES (" + id + ")");
                c.commit();
                st.execute("CHECKPOINT SYNC");
            }
            assertEquals(3, count(c, "stamps"));
            Path killed = Files.createDirectory(dir.resolve("killed"));
            Files.copy(live.resolve("db.mv.db"), killed.resolve("db.mv.db"));
            try (Connection after = DriverManager.getConnection("jdbc:h2:file:" + killed.resolve("db"), "sa", "")) {
                assertEquals(0, count(after, "stamps"), "H2 kept its synced commits: it no longer has this bug");
            }
        }
    }

    /**
     * A file left by a power cut in {@link OutboxPowerCutTest} (seed 869680450419, cut after op 391): the
     * first open after the crash shows the outbox at seq 26-34; a clean close, and every later open shows
     * seq 11-25, an older state. Whatever the outbox learns from H2 after a crash, H2 may take back.
     */
    @Test
    void h2RollsBackToAnOlderStateAtTheCleanCloseThatFollowsACrash() throws Exception {
        Path file = dir.resolve("outbox.mv.db");
        try (InputStream in = getClass().getResourceAsStream("/h2-evidence/rollback-after-recovery.mv.db")) {
            Files.copy(in, file);
        }
        String url = "jdbc:h2:file:" + dir.resolve("outbox");
        List<Long> first;
        try (Connection c = DriverManager.getConnection(url, "sa", "")) {
            first = seqs(c);
        }
        List<Long> second;
        try (Connection c = DriverManager.getConnection(url, "sa", "")) {
            second = seqs(c);
        }
        assertEquals(List.of(26L, 27L, 28L, 29L, 30L, 31L, 32L, 33L, 34L), first);
        assertEquals(List.of(11L, 12L, 13L, 14L, 15L, 16L, 17L, 18L, 19L, 20L, 21L, 22L, 23L, 24L, 25L), second,
                "H2 kept the state it recovered: it no longer has this bug");
    }

    /** The first case, through the outbox: H2 loses the three stamps, the redo log puts them back. */
    @Test
    void theOutboxKeepsTheStampsH2Loses() throws Exception {
        Path live = dir.resolve("live");
        Outbox.Storage storage = new Outbox.Storage("file:", ";RETENTION_TIME=1000",
                app.sevenstamp.autopilot.protocol.support.RedoLog.FILES, Outbox.REDO_REWRITE_BYTES);
        Outbox outbox = Outbox.open(live, Clock.systemUTC(), Ticker.SYSTEM, OutboxLimits.DEFAULT, storage);
        Set<String> confirmed = new HashSet<>();
        Path killed = Files.createDirectory(dir.resolve("killed"));
        try {
            Thread.sleep(1500); // idle past RETENTION_TIME (1 s), as in the first case: the appends go into reused space
            for (int i = 0; i < 3; i++) {
                confirmed.add(outbox.append(draft(i)).get().eventId());
            }
            try (Stream<Path> files = Files.list(live)) {
                for (Path f : files.toList()) {
                    Files.copy(f, killed.resolve(f.getFileName()));
                }
            }
        } finally {
            outbox.close(Duration.ofSeconds(5));
        }
        Outbox recovered = Outbox.open(killed, Clock.systemUTC());
        try {
            Set<String> present = new HashSet<>();
            for (StoredEvent e : recovered.pending(0, 100).get()) {
                present.add(e.eventId());
            }
            assertEquals(confirmed, present);
            assertEquals(3, recovered.lastReplay().orElseThrow().restored(), "H2 itself lost the three stamps");
            assertFalse(recovered.lastReplay().orElseThrow().probeDisagreed(),
                    "the replay found them missing from the rows the damage probe read, and H2 agreed");
            assertEquals(4, recovered.append(draft(9)).get().seq(), "numbering goes on after the restored stamps");
        } finally {
            recovered.close(Duration.ofSeconds(5));
        }
    }

    private static StampDraft draft(int i) {
        Instant now = Instant.now();
        return new StampDraft(EventIds.next(now.toEpochMilli()), "counter-1", "7S1.k1.coffee.CARD" + i + ".sig", "coffee",
                "CARD" + i, "shop-12", now, System.nanoTime(), "boot-1", true, EventKind.STAMP);
    }

    private static long count(Connection c, String table) throws Exception {
        try (ResultSet rs = c.createStatement().executeQuery("SELECT COUNT(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static List<Long> seqs(Connection c) throws Exception {
        List<Long> out = new ArrayList<>();
        try (ResultSet rs = c.createStatement().executeQuery("SELECT seq FROM outbox ORDER BY seq")) {
            while (rs.next()) {
                out.add(rs.getLong(1));
            }
        }
        return out;
    }
}
