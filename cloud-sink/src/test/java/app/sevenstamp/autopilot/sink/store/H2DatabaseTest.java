package app.sevenstamp.autopilot.sink.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What only the H2 file has: a file that can be corrupt, a directory, a restart on the same file. */
class H2DatabaseTest {
    @TempDir
    Path dir;

    @Test
    void aCorruptFileStopsTheSinkWithAnExplanationAndIsLeftInPlace() throws Exception {
        Path file = dir.resolve("sink.mv.db");
        byte[] garbage = new byte[8192];
        new java.util.Random(1).nextBytes(garbage);
        Files.write(file, garbage);
        StoreException e = assertThrows(StoreException.class, () -> SinkStore.open(dir.resolve("sink")));
        assertTrue(e.getMessage().startsWith("store " + file + " cannot be opened: "), e.getMessage());
        assertTrue(e.getMessage().endsWith("; the sink does not start on a store it cannot read: restore a backup, "
                + "or move the file aside to start with an empty store"), e.getMessage());
        assertTrue(java.util.Arrays.equals(garbage, Files.readAllBytes(file)), "the file is never deleted or rewritten");
    }

    @Test
    void aStoreDirectoryThatCannotBeCreatedIsNamed() throws Exception {
        Path blocker = dir.resolve("not-a-dir");
        Files.writeString(blocker, "x");
        StoreException e = assertThrows(StoreException.class, () -> SinkStore.open(blocker.resolve("sink")));
        assertTrue(e.getMessage().startsWith("store directory " + blocker + " cannot be created: "), e.getMessage());
    }

    @Test
    void theDatabaseIsAFileThatOutlivesTheProcessesStore() {
        try (SinkStore store = SinkStore.open(dir.resolve("sink"))) {
            assertEquals(0, store.countEvents());
        }
        assertTrue(Files.exists(dir.resolve("sink.mv.db")));
    }

    /** H2 writes and stores its sequence each time the cache runs out; the ledger's must not do that every 32 lines. */
    @Test
    void ledgerIdsComeFromACacheOfAThousandAndStillRiseAcrossARestart() throws Exception {
        long before;
        try (SinkStore store = SinkStore.open(dir.resolve("sink")); Connection c = store.connection();
                Statement st = c.createStatement()) {
            try (java.sql.ResultSet rs = st.executeQuery("SELECT IDENTITY_CACHE FROM INFORMATION_SCHEMA.COLUMNS "
                    + "WHERE TABLE_NAME = 'LEDGER' AND COLUMN_NAME = 'ID'")) {
                rs.next();
                assertEquals(1000, rs.getLong(1));
            }
            before = insertLedgerLine(st);
        }
        try (SinkStore store = SinkStore.open(dir.resolve("sink")); Connection c = store.connection();
                Statement st = c.createStatement()) {
            long after = insertLedgerLine(st);
            assertTrue(after > before, "ids rise across a restart: " + before + " then " + after);
        }
    }

    private static long insertLedgerLine(Statement st) throws Exception {
        st.executeUpdate("INSERT INTO ledger (card_id, program_id, entry_type, stamps_delta, rewards_delta, earned_delta, "
                + "occurred_at, recorded_at, actor) VALUES ('C', 'coffee', 'STAMP', 1, 0, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'test')",
                Statement.RETURN_GENERATED_KEYS);
        try (java.sql.ResultSet keys = st.getGeneratedKeys()) {
            keys.next();
            return keys.getLong(1);
        }
    }

    @Test
    void aFileOfTheFirstReleaseWithoutVersionTableIsAdoptedAsVersionOne() throws Exception {
        // The first release created these tables itself, with no schema_version.
        try (H2Database db = H2Database.open(dir.resolve("sink"), 2); Connection c = db.connection();
                Statement st = c.createStatement()) {
            for (String ddl : Migrations.ALL.get(0).statements()) {
                st.execute(ddl);
            }
            st.execute("INSERT INTO devices VALUES ('counter-1', 41, CURRENT_TIMESTAMP)");
        }
        try (SinkStore store = SinkStore.open(dir.resolve("sink"))) {
            assertEquals(java.util.OptionalLong.of(41), store.lastSeq("counter-1"), "the old rows are kept");
        }
    }
}
