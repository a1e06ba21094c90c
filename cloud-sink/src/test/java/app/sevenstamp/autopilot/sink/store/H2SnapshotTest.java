package app.sevenstamp.autopilot.sink.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.support.RedoLog;
import app.sevenstamp.autopilot.sink.testing.FullDiskFs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The single-box sink's own snapshot of its H2 store: what a rebuild from it gets back. */
class H2SnapshotTest {
    @TempDir
    Path dir;

    /**
     * The snapshot is taken while the sink runs: the POS route, redemptions and the console write their own
     * transactions meanwhile. A rebuild from it must hold each such transaction whole or not at all. SCRIPT in
     * REPEATABLE READ reads each table as of the moment it reaches it (H2 takes a table's snapshot at its first
     * read), so an event committed between the events table and the ledger came back without its row in one of them.
     */
    @Test
    void aSnapshotTakenWhileOthersCommitHoldsEachTransactionWholeOrNotAtAll() throws Exception {
        Path file = dir.resolve("sink");
        SinkStore.open(file).close(); // the schema
        H2Database db = H2Database.open(file, 4);
        try {
            // rows the script reads between the events table and the ledger (dead letters are created between them),
            // so that it takes long enough for many commits to fall inside it
            try (Connection c = db.connection(); Statement st = c.createStatement()) {
                st.execute("INSERT INTO dead_letters (received_at, topic, kind, detail, payload_size, payload) "
                        + "SELECT CURRENT_TIMESTAMP, 't', 'json', 'filler', 4096, CAST(REPEAT('ab', 2048) AS VARBINARY) "
                        + "FROM SYSTEM_RANGE(1, 5000)");
            }
            AtomicBoolean stop = new AtomicBoolean();
            AtomicInteger committed = new AtomicInteger();
            AtomicReference<Throwable> failed = new AtomicReference<>();
            H2Database store = db;
            Thread writer = new Thread(() -> {
                try (Connection w = store.connection();
                     PreparedStatement event = w.prepareStatement("INSERT INTO events (event_id, device_id, seq, card_id, "
                             + "program_id, kind, device_time, received_at, clock_synced, outcome) VALUES (?, 'pos', ?, 'CARD', "
                             + "'coffee', 'STAMP', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, TRUE, 'ACCEPTED')");
                     PreparedStatement line = w.prepareStatement("INSERT INTO ledger (card_id, program_id, entry_type, "
                             + "stamps_delta, rewards_delta, earned_delta, event_id, occurred_at, recorded_at, actor) VALUES "
                             + "('CARD', 'coffee', 'STAMP', 1, 0, 0, ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 'pos')")) {
                    w.setAutoCommit(false);
                    for (int i = 1; !stop.get(); i++) {
                        String id = "pos-" + i;
                        event.setString(1, id);
                        event.setLong(2, i);
                        event.executeUpdate();
                        line.setString(1, id);
                        line.executeUpdate();
                        w.commit();
                        committed.set(i);
                    }
                } catch (SQLException | RuntimeException e) {
                    failed.set(e);
                }
            }, "test-pos-writer");
            writer.start();
            while (committed.get() < 10 && writer.isAlive()) {
                Thread.onSpinWait();
            }
            int before = committed.get();
            long bytes = H2Snapshot.write(db, 1, RedoLog.FILES);
            int after = committed.get();
            // what the ingest redo log's next checkpoint is measured by (IngestRedo.checkpointBytes)
            assertEquals(bytes, H2Snapshot.size(file), "the snapshot's size as written and as read from its file");
            assertTrue(bytes > 0);
            stop.set(true);
            writer.join();
            assertEquals(null, failed.get(), "the writer failed");
            assertTrue(after > before, "no commit fell inside the snapshot (" + before + " before, " + after
                    + " after): the test shows nothing");
        } finally {
            db.close();
        }

        H2Snapshot.restore(file, "the test's rebuild");
        try (SinkStore rebuilt = SinkStore.open(file); Connection c = rebuilt.connection(); Statement st = c.createStatement()) {
            Set<String> events = ids(st, "SELECT event_id FROM events WHERE device_id = 'pos'");
            Set<String> lines = ids(st, "SELECT event_id FROM ledger WHERE actor = 'pos'");
            assertTrue(!events.isEmpty(), "the snapshot holds none of the writer's commits");
            Set<String> eventOnly = new HashSet<>(events);
            eventOnly.removeAll(lines);
            Set<String> lineOnly = new HashSet<>(lines);
            lineOnly.removeAll(events);
            assertTrue(eventOnly.isEmpty(), eventOnly.size() + " of " + events.size() + " events without their ledger line in "
                    + "the rebuilt store, e.g. " + eventOnly.stream().sorted().limit(3).toList());
            assertTrue(lineOnly.isEmpty(), lineOnly.size() + " of " + lines.size() + " ledger lines without their event in "
                    + "the rebuilt store, e.g. " + lineOnly.stream().sorted().limit(3).toList());
        }
    }

    /**
     * A disk that fills while the snapshot is written: the write fails, the part written is deleted (on a full disk
     * the store and the redo log need that room to go on), the previous snapshot is kept whole, and the next try,
     * with room again, succeeds.
     */
    @Test
    void aSnapshotThatFillsTheDiskLeavesNoPartAndThePreviousOneWhole() throws Exception {
        Path file = dir.resolve("sink");
        SinkStore.open(file).close(); // the schema
        FullDiskFs.makeRoom();
        H2Database db = H2Database.open(file, 4, FullDiskFs.h2Prefix(), "");
        Path snapshot = H2Snapshot.fileOf(file);
        Path part = Path.of(snapshot + ".new");
        try {
            H2Snapshot.write(db, 1, RedoLog.FILES);
            byte[] first = Files.readAllBytes(snapshot);
            FullDiskFs.fillAfter(".snapshot.new", 1024);
            IOException full = assertThrows(IOException.class, () -> H2Snapshot.write(db, 2, RedoLog.FILES));
            assertFalse(Files.exists(part), "the failed snapshot's part is left on the full disk");
            assertTrue(full.getMessage().contains("its part deleted"), full.getMessage());
            assertArrayEquals(first, Files.readAllBytes(snapshot), "the previous snapshot changed");
            FullDiskFs.makeRoom();
            assertTrue(H2Snapshot.write(db, 3, RedoLog.FILES) > 0);
            assertFalse(Files.exists(part));
        } finally {
            FullDiskFs.makeRoom();
            db.close();
        }
    }

    /**
     * H2 writes every exception it throws into {@code sink.trace.db}, where an operator looks for what went wrong. A
     * first start and a stop, and a second of each, are no errors: they must leave nothing there.
     */
    @Test
    void startsAndStopsLeaveNothingInH2sTraceFile() throws Exception {
        Path file = dir.resolve("sink");
        for (int start = 1; start <= 2; start++) {
            H2Snapshot.Opened opened = H2Snapshot.openTrusted(file, () -> H2Database.open(file, 4), 0, start == 1);
            opened.store().close();
        }
        Path trace = Path.of(file + ".trace.db");
        assertFalse(Files.exists(trace), () -> "H2's trace file after two starts and stops:\n" + read(trace));
    }

    /** A first start: the room is looked for on the disk the store's directory will be on, then it is made. */
    @Test
    void aStoreDirectoryNotMadeYetHasTheRoomOfItsParentsDiskAndIsMade() {
        Path file = dir.resolve("not").resolve("made").resolve("sink");
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> H2Snapshot.awaitRoom(file), "waited for room");
        assertTrue(Files.isDirectory(file.getParent()));
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static Set<String> ids(Statement st, String sql) throws SQLException {
        Set<String> ids = new HashSet<>();
        try (ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                ids.add(rs.getString(1));
            }
        }
        return ids;
    }
}
