package app.sevenstamp.autopilot.gateway.outbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import org.tinylog.Logger;

/**
 * What happens to an H2 file that cannot be opened: {@link #probe} finds out without writing to it, and
 * {@link #salvage} moves it aside (never deletes it), reads what H2's Recover tool can get out of it, and
 * stores that again in a fresh file with the same event ids and sequence numbers. Runs on the outbox
 * thread, at open only.
 */
final class OutboxSalvage {
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
            .withZone(ZoneOffset.UTC);

    /** Opens the fresh file once the damaged one is out of the way. */
    @FunctionalInterface
    interface Connector {
        OutboxSchema connect() throws SQLException;
    }

    private OutboxSalvage() {
    }

    /**
     * What {@link #probe} found.
     *
     * @param damage       why the file is unusable; null when it is fine
     * @param unsyncedRows how many of its rows carry an unsynchronised clock (0 when damaged)
     * @param rows         the rows it read, for the redo log's replay; null when damaged or past
     *                     {@link ProbedRows#MAX_ROWS}
     */
    record Probe(SQLException damage, long unsyncedRows, ProbedRows rows) {
        /** No file yet: nothing to probe. */
        static final Probe NEW_FILE = new Probe(null, 0, null);

        static Probe damaged(SQLException damage) {
            return new Probe(damage, 0, null);
        }
    }

    /**
     * Opens the existing file read-only and checks that it has the outbox table: a damaged file must be
     * moved aside exactly as it is, and a read-write open writes to the file even when it only closes it.
     * Reads every row, and keeps their numbers and ids for the replay ({@link ProbedRows}) and counts those
     * with an unsynchronised clock on the way (the first release's table has no such column: none). A file in
     * use by another process throws.
     */
    static Probe probe(Outbox.Storage storage, Path file) throws SQLException {
        // LAZY_QUERY_EXECUTION: the rows are read in one query (readRows), which must not build its result first
        String url = "jdbc:h2:" + storage.h2Prefix() + file + ";ACCESS_MODE_DATA=r;LAZY_QUERY_EXECUTION=TRUE"
                + ";DB_CLOSE_ON_EXIT=FALSE" + storage.h2Settings();
        try (Connection c = DriverManager.getConnection(url, "sa", "");
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(OutboxSchema.HAS_OUTBOX_TABLE)) {
            rs.next();
            if (rs.getLong(1) == 0) {
                // Measured: garbage in the block holding H2's metadata makes it open the file as an EMPTY
                // database, without an error.
                return Probe.damaged(OutboxSchema.emptyDatabase());
            }
            return readRows(st, ProbedRows.MAX_ROWS);
        } catch (SQLException e) {
            if (Outbox.inUse(e)) {
                throw e;
            }
            return Probe.damaged(e);
        }
    }

    /**
     * Reads every row of the outbox table once (a damaged data page shows here, before anything writes to the
     * file), keeping the numbers and ids of at most {@code maxRows}. In one query: on a connection without
     * {@code LAZY_QUERY_EXECUTION} (the probe's has it) H2 holds the whole result on the heap.
     */
    static Probe readRows(Statement st, int maxRows) throws SQLException {
        boolean clockColumn;
        try (ResultSet column = st.executeQuery(OutboxSchema.HAS_CLOCK_SYNCED_COLUMN)) {
            column.next();
            clockColumn = column.getLong(1) > 0;
        }
        long count = OutboxSchema.countRows(st);
        // past maxRows none are kept (capacity 0: the first row overflows it)
        ProbedRows.Builder kept = new ProbedRows.Builder(count > maxRows ? 0 : (int) count);
        long unsynced = 0;
        // One query, lazily (the probe's connection sets LAZY_QUERY_EXECUTION): H2 then reads the rows off the primary
        // key as they are fetched. Without it H2 builds a query's whole result on the heap first (100,000 rows lifted the
        // box's heap from 11 to 30 MB at the start, and the drain's VmRSS peak 75 -> 92 MB). Read 1,000 rows a query
        // instead (until 7 Dec), the 100,000 took a third longer (516 against 373 ms, the box's flags). LENGTH(payload):
        // the whole row is read, not only the primary key's part of it.
        try (ResultSet rows = st.executeQuery("SELECT seq, event_id, " + (clockColumn ? "clock_synced" : "TRUE")
                + ", LENGTH(payload) FROM outbox ORDER BY seq")) {
            while (rows.next()) {
                kept.add(rows.getLong(1), rows.getString(2));
                if (!rows.getBoolean(3)) {
                    unsynced++;
                }
            }
        }
        return new Probe(null, unsynced, kept.build());
    }

    /**
     * Moves the unreadable {@code dbFile} aside, reads what can be read, opens the fresh file through
     * {@code connector} and stores the rows there, committed. The report's {@code salvaged} is the backlog.
     */
    static SalvageReport salvage(Path dir, Path dbFile, Clock clock, SQLException problem, Connector connector)
            throws SQLException, IOException {
        String stamp = STAMP.format(clock.instant());
        String movedName = "outbox.corrupt-" + stamp;
        Path moved = dir.resolve(movedName + ".mv.db");
        for (int i = 1; Files.exists(moved); i++) {
            movedName = "outbox.corrupt-" + stamp + "-" + i;
            moved = dir.resolve(movedName + ".mv.db");
        }
        Files.move(dbFile, moved);
        Outbox.syncDirectory(dir);
        String why = Outbox.firstLine(problem.getMessage());
        Logger.error("ALARM: the outbox {} cannot be opened ({}); moved it to {} and starting a fresh one; salvaging what "
                + "can be read", dbFile, why, moved);
        List<OutboxRedo.Stored> rows = new ArrayList<>();
        long recoveredNext = 0;
        Path script = dir.resolve(movedName + ".h2.sql");
        try {
            org.h2.tools.Recover.execute(dir.toString(), movedName);
            if (Files.exists(script)) {
                String memUrl = "jdbc:h2:mem:salvage-" + System.nanoTime();
                try (Connection mem = DriverManager.getConnection(memUrl, "sa", "");
                     Statement st = mem.createStatement()) {
                    st.execute("RUNSCRIPT FROM '" + script.toString().replace("'", "''") + "'");
                    recoveredNext = readSalvagedSeq(st);
                    readSalvagedRows(st, rows);
                }
            }
        } catch (SQLException | RuntimeException | AssertionError | OutOfMemoryError e) {
            // AssertionError: H2's Recover asserts on some damage when the JVM runs with -ea. OutOfMemoryError:
            // its dump allocates a chunk's length as read from the damaged file (seen: garbage over a chunk
            // header); the failed allocation is all there was, the heap is as before. Under the unit's
            // -XX:+ExitOnOutOfMemoryError the gateway exits here instead and comes back with a fresh outbox;
            // the damaged file is kept either way (moved aside above, before any reading).
            Logger.error("ALARM: salvage of {} read {} event(s) before failing: {}; the file is kept for a manual recovery",
                    moved, rows.size(), Outbox.firstLine(e.getMessage()));
        }
        OutboxSchema db = connector.connect();
        long maxSeq = rows.stream().mapToLong(OutboxRedo.Stored::seq).max().orElse(0);
        long next = Math.max(Math.max(recoveredNext, maxSeq + 1), 1);
        int stored = 0;
        for (OutboxRedo.Stored r : rows) {
            try {
                OutboxSchema.bindRow(db.insert, r);
                db.insert.executeUpdate();
                stored++;
            } catch (SQLException e) {
                Logger.warn("salvaged event seq={} id={} cannot be stored again: {}", r.seq(), r.eventId(),
                        Outbox.firstLine(e.getMessage()));
            }
        }
        db.bumpSeq.setLong(1, next);
        db.bumpSeq.executeUpdate();
        db.connection.commit();
        Logger.error("ALARM: outbox salvage done: {} event(s) read back from {} and queued for sending; numbering continues "
                + "at seq {}{}", stored, moved, next, recoveredNext == 0 && maxSeq == 0
                        ? " (the sequence counter could not be read: the sink may see repeated numbers)" : "");
        return new SalvageReport(moved, stored, next, why);
    }

    private static long readSalvagedSeq(Statement st) {
        try (ResultSet rs = st.executeQuery("SELECT next_seq FROM outbox_seq WHERE id = 1")) {
            return rs.next() ? rs.getLong(1) : 0;
        } catch (SQLException e) {
            Logger.warn("the sequence counter could not be salvaged: {}", Outbox.firstLine(e.getMessage()));
            return 0;
        }
    }

    private static void readSalvagedRows(Statement st, List<OutboxRedo.Stored> rows) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT seq, event_id, payload, created_at, boot_id, mono_nanos, "
                + "clock_synced FROM outbox ORDER BY seq")) {
            while (rs.next()) {
                rows.add(new OutboxRedo.Stored(rs.getLong(1), rs.getString(2), rs.getBytes(3),
                        rs.getObject(4, OffsetDateTime.class).toInstant(), rs.getString(5), rs.getLong(6), rs.getBoolean(7)));
            }
        }
    }
}
