package app.sevenstamp.autopilot.gateway.outbox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import app.sevenstamp.autopilot.protocol.support.NamedThreads;
import org.tinylog.Logger;

/**
 * What happens to an H2 file that cannot be opened: {@link #probe} finds out without writing to it, and
 * {@link #salvage} moves it aside (never deletes it), reads what H2's Recover tool can get out of it, and
 * stores that again in a fresh file with the same event ids and sequence numbers. Runs on the outbox
 * thread, at open only.
 */
final class OutboxSalvage {
    /** Rows the probe reads a query (about 0.2 MB of H2's result). */
    static final int PROBE_BATCH = 1_000;
    /**
     * From this many rows on the probe reads on two threads: 100,000 rows in 1.13-1.38 s against 1.57-1.77 s on one,
     * a fresh JVM with the unit's flags on 2 CPUs (docs/performance.md, "A start with a backlog reads H2 once").
     */
    static final int SPLIT_FROM = 20_000;
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
        String url = "jdbc:h2:" + storage.h2Prefix() + file + ";ACCESS_MODE_DATA=r;DB_CLOSE_ON_EXIT=FALSE"
                + storage.h2Settings();
        try (Connection c = DriverManager.getConnection(url, "sa", "");
             Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(OutboxSchema.HAS_OUTBOX_TABLE)) {
            rs.next();
            if (rs.getLong(1) == 0) {
                // Measured: garbage in the block holding H2's metadata makes it open the file as an EMPTY
                // database, without an error.
                return Probe.damaged(OutboxSchema.emptyDatabase());
            }
            return readRows(st, ProbedRows.MAX_ROWS, SPLIT_FROM, () -> DriverManager.getConnection(url, "sa", ""));
        } catch (SQLException e) {
            if (Outbox.inUse(e)) {
                throw e;
            }
            return Probe.damaged(e);
        }
    }

    /** Opens another connection to the database being probed, for the second reader. */
    @FunctionalInterface
    interface Opener {
        Connection open() throws SQLException;
    }

    /**
     * Reads every row of the outbox table once (a damaged data page shows here, before anything writes to the
     * file), keeping the numbers and ids of at most {@code maxRows}. From {@code splitFrom} rows on, and given a
     * {@code second} connection, the upper half of the numbers is read on a thread of its own ({@code outbox-probe}):
     * the read is H2 decoding rows, on one core.
     */
    static Probe readRows(Statement st, int maxRows, int splitFrom, Opener second) throws SQLException {
        boolean clockColumn;
        try (ResultSet column = st.executeQuery(OutboxSchema.HAS_CLOCK_SYNCED_COLUMN)) {
            column.next();
            clockColumn = column.getLong(1) > 0;
        }
        long count;
        long low;
        long high;
        try (ResultSet rs = st.executeQuery("SELECT COUNT(*), MIN(seq), MAX(seq) FROM outbox")) {
            rs.next();
            count = rs.getLong(1);
            low = rs.getLong(2);
            high = rs.getLong(3);
        }
        // past maxRows none are kept (room for none: the first row overflows it)
        int keep = count > maxRows ? 0 : maxRows;
        // In batches: H2 builds a query's whole result on the heap before the first row; read at once, 100,000 rows
        // lifted the box's heap from 11 to 30 MB at the start, and it stayed there through the drain (VmRSS peak
        // 75 -> 92 MB). LENGTH(payload): the whole row is read, not only the primary key's part of it.
        String select = "SELECT seq, event_id, " + (clockColumn ? "clock_synced" : "TRUE")
                + ", LENGTH(payload) FROM outbox WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT " + PROBE_BATCH;
        if (count == 0) {
            return new Probe(null, 0, ProbedRows.of(List.of(), maxRows));
        }
        if (second == null || count < splitFrom) {
            Scan all = Scan.of(st.getConnection(), select, low - 1, high, new ProbedRows.Builder((int) count, keep));
            return new Probe(null, all.unsynced, ProbedRows.of(List.of(all.rows), maxRows));
        }
        long middle = low + (high - low) / 2;
        int half = (int) (count / 2);
        FutureTask<Scan> upper = new FutureTask<>(() -> {
            try (Connection c = second.open()) {
                return Scan.of(c, select, middle, high, new ProbedRows.Builder(half, keep));
            }
        });
        NamedThreads.daemon("outbox-probe").newThread(upper).start();
        Scan lower;
        try {
            lower = Scan.of(st.getConnection(), select, low - 1, middle, new ProbedRows.Builder(half, keep));
        } finally {
            // the other reader is done with the file before anyone moves it aside or opens it to write
            Scan.await(upper);
        }
        Scan up = Scan.await(upper);
        return new Probe(null, lower.unsynced + up.unsynced, ProbedRows.of(List.of(lower.rows, up.rows), maxRows));
    }

    /** One reader's rows: those numbered above {@code after} up to {@code last}, in batches. */
    private record Scan(ProbedRows.Builder rows, long unsynced) {
        static Scan of(Connection c, String select, long after, long last, ProbedRows.Builder rows) throws SQLException {
            long unsynced = 0;
            try (PreparedStatement batch = c.prepareStatement(select)) {
                batch.setLong(2, last);
                for (int read = PROBE_BATCH; read == PROBE_BATCH; ) {
                    read = 0;
                    batch.setLong(1, after);
                    try (ResultSet rs = batch.executeQuery()) {
                        while (rs.next()) {
                            after = rs.getLong(1);
                            rows.add(after, rs.getString(2));
                            if (!rs.getBoolean(3)) {
                                unsynced++;
                            }
                            read++;
                        }
                    }
                }
            }
            return new Scan(rows, unsynced);
        }

        /** The other reader's scan; what it threw, thrown here (a damaged page is an SQLException). */
        static Scan await(FutureTask<Scan> task) throws SQLException {
            boolean interrupted = false;
            try {
                while (true) {
                    try {
                        return task.get();
                    } catch (InterruptedException e) {
                        interrupted = true; // the reader holds the file: wait for it all the same
                    }
                }
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof SQLException sql) {
                    throw sql;
                }
                if (cause instanceof RuntimeException runtime) {
                    throw runtime;
                }
                if (cause instanceof Error error) {
                    throw error;
                }
                throw new SQLException(cause);
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
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
                rows.add(new OutboxRedo.Stored(rs.getLong(1), rs.getString(2), rs.getString(3),
                        rs.getObject(4, OffsetDateTime.class).toInstant(), rs.getString(5), rs.getLong(6), rs.getBoolean(7)));
            }
        }
    }
}
