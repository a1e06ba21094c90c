package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.WireCodec;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import org.h2.engine.SessionLocal;
import org.h2.jdbc.JdbcConnection;

/**
 * The outbox's H2 tables and the statements the outbox runs against them: one open connection. Created
 * at every open of H2 (start, reopen after a write error, after a compaction); owned by the outbox thread
 * (during a compaction, by the compaction's thread: the outbox thread does not touch H2 then).
 *
 * <p>Tables: {@code outbox} (the backlog), {@code outbox_seq} (one row, the next sequence number, kept
 * apart from the rows so a purge never rewinds it) and {@code counter_history} (the counter rules' memory
 * of this counter's stamps, written with the stamp and kept after the ack).
 */
final class OutboxSchema {
    /** H2's page split size in bytes: see {@link #connect}. */
    static final int H2_PAGE_SIZE = 4096;
    /** How long H2 keeps committed changes in memory before its writer thread writes them: see {@link #url}. */
    static final int H2_WRITE_DELAY_MS = 1000;
    /** H2's page cache in KB, on the heap (H2's default is 16 MB): see {@link #url}. */
    static final int H2_CACHE_KB = 2048;
    /** A row as the box stores it: bound by {@link #bindRow}. */
    static final String INSERT = "INSERT INTO outbox (seq, event_id, payload, created_at, boot_id, mono_nanos, "
            + "clock_synced) VALUES (?, ?, ?, ?, ?, ?, ?)";
    /** An acknowledged event's row, by its primary key; the id only makes sure it is that event's row. */
    static final String DELETE_ACKED = "DELETE FROM outbox WHERE seq = ? AND event_id = ?";
    static final String HAS_OUTBOX_TABLE = "SELECT COUNT(*) FROM INFORMATION_SCHEMA.TABLES "
            + "WHERE TABLE_SCHEMA = 'PUBLIC' AND TABLE_NAME = 'OUTBOX'";
    static final String HAS_CLOCK_SYNCED_COLUMN = "SELECT COUNT(*) FROM INFORMATION_SCHEMA.COLUMNS "
            + "WHERE TABLE_SCHEMA = 'PUBLIC' AND TABLE_NAME = 'OUTBOX' AND COLUMN_NAME = 'CLOCK_SYNCED'";

    /** The payload column: the event's UTF-8 JSON as bytes; see {@link #binaryPayloadWhenEmpty}. */
    static final String PAYLOAD_TYPE = "VARBINARY(" + WireCodec.MAX_PAYLOAD_BYTES + ")";

    final Connection connection;
    final Statement misc;
    final PreparedStatement nextSeq;
    final PreparedStatement bumpSeq;
    final PreparedStatement insert;
    final PreparedStatement selectPending;
    final PreparedStatement deleteAcked;
    /** Whether the payload column is binary: a new file's, or an earlier file's once found empty. */
    final boolean binaryPayload;
    /** Rows in {@code outbox} at connect. */
    final long rows;

    private OutboxSchema(Connection connection, Statement misc, boolean binaryPayload, long rows) throws SQLException {
        this.connection = connection;
        this.misc = misc;
        this.binaryPayload = binaryPayload;
        this.rows = rows;
        nextSeq = connection.prepareStatement("SELECT next_seq FROM outbox_seq WHERE id = 1");
        bumpSeq = connection.prepareStatement("UPDATE outbox_seq SET next_seq = ? WHERE id = 1");
        insert = connection.prepareStatement(INSERT);
        selectPending = connection.prepareStatement(
                "SELECT seq, event_id, payload, created_at, boot_id, mono_nanos FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?");
        deleteAcked = connection.prepareStatement(DELETE_ACKED);
    }

    /**
     * Closes an H2 that failed as a power cut would: its store closed where it stands, nothing tidied or written.
     * H2's ordinary close first tidies its LOB map, and after a failed write (a full disk) that looped for good
     * in {@code MVStore.registerVersionUsage} (the outbox thread at 100 % CPU, no scan answered:
     * NetworkAndDiskFaultIT, 2 runs in 4 beside OutboxWeekIT; 0 in 8 since). What H2 had not written is in the redo
     * log, which the reopen replays. Not quite "where it stands": H2 still waits for its background writer to stop.
     */
    void closeAbruptly() throws SQLException {
        try {
            if (connection.unwrap(JdbcConnection.class).getSession() instanceof SessionLocal session
                    && session.getDatabase() != null) {
                session.getDatabase().shutdownImmediately();
            }
        } finally {
            connection.close();
        }
    }

    /**
     * Files of earlier releases have a unique index on {@code event_id}. Every row goes by its sequence number
     * (the uplink knows it for every event it sent; the replay and the clock corrections too), and keeping that
     * second B-tree of random ids cost more than half of each delete in a drain: 28.5 against 11.8 us of CPU and
     * 8.7 against 5.5 KB allocated per row in the unit's JVM (docs/perf/drain-and-writes.md, "The event id index").
     * Event ids are unique by construction (time and randomness); the sink counts each once whatever the box does.
     */
    private static void dropEventIdIndex(Statement misc) throws SQLException {
        String constraint = null;
        try (ResultSet rs = misc.executeQuery("SELECT CONSTRAINT_NAME FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS "
                + "WHERE TABLE_SCHEMA = 'PUBLIC' AND TABLE_NAME = 'OUTBOX' AND CONSTRAINT_TYPE = 'UNIQUE'")) {
            if (rs.next()) {
                constraint = rs.getString(1);
            }
        }
        if (constraint != null) {
            misc.execute("ALTER TABLE outbox DROP CONSTRAINT \"" + constraint.replace("\"", "\"\"") + "\"");
        }
    }

    /**
     * Files of earlier releases keep the payload as text ({@code VARCHAR}). H2 decodes a text value it reads into a
     * {@code char[]} and then a {@code String}: 38 % of what the open's damage probe allocated over 100,000 stamps,
     * and the uplink's reads decode the same, only for the box to turn the text back into the bytes it publishes.
     * As bytes, the probe read 100,000 rows in 0.84-0.88 s against 1.38-1.50 s (docs/performance.md). H2 converts
     * between the two as UTF-8 either way, so the box binds and reads bytes whatever the column is; an earlier
     * file's column changes when it holds no row, which takes no time. With rows H2 would copy the table in one
     * transaction, a whole backlog on the box's 64 MB heap: such a file keeps its text column until an open finds
     * it empty (a box that drains opens empty at its next start). Returns whether the column is binary now.
     */
    private static boolean binaryPayloadWhenEmpty(Statement misc) throws SQLException {
        try (ResultSet rs = misc.executeQuery("SELECT DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS "
                + "WHERE TABLE_SCHEMA = 'PUBLIC' AND TABLE_NAME = 'OUTBOX' AND COLUMN_NAME = 'PAYLOAD'")) {
            rs.next();
            if ("BINARY VARYING".equals(rs.getString(1))) {
                return true;
            }
        }
        if (countRows(misc) > 0) {
            return false;
        }
        misc.execute("ALTER TABLE outbox ALTER COLUMN payload SET DATA TYPE " + PAYLOAD_TYPE);
        return true;
    }

    /** Binds the row's fields to {@link #INSERT}'s parameters. */
    static void bindRow(PreparedStatement insert, OutboxRedo.Stored row) throws SQLException {
        insert.setLong(1, row.seq());
        insert.setString(2, row.eventId());
        insert.setBytes(3, row.payload());
        insert.setObject(4, OffsetDateTime.ofInstant(row.createdAt(), ZoneOffset.UTC));
        insert.setString(5, row.bootId());
        insert.setLong(6, row.mono());
        insert.setBoolean(7, row.clockSynced());
    }

    /** The URL of the outbox's H2 file {@code file} (without H2's extension), with its settings. */
    /**
     * The outbox table's rows. A bare {@code COUNT(*)}: H2 answers it from the table's own count; anything more
     * reads every row (the probe, OutboxSalvage, does that once at start).
     */
    static long countRows(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM outbox")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static String url(Outbox.Storage storage, java.nio.file.Path file) {
        // DB_CLOSE_ON_EXIT=FALSE: H2's own shutdown hook must not close the store before our ordered
        // shutdown has drained the pipeline; close() runs SHUTDOWN itself.
        // PAGE_SIZE: H2 splits a B-tree page past this size (16 KB otherwise) and rewrites every page a commit
        // touched, so smaller pages write less per commit: 21.6 -> 13.9 KB per stamp, an append and its
        // delete at one scan per 100 ms (OutboxWriteBench, docs/perf/drain-and-writes.md). Not stored in
        // the file: existing outboxes open as before and split their pages smaller from then on.
        // WRITE_DELAY: H2 writes what was committed once a second (its "MVStore background writer" thread),
        // not a chunk per commit: 13.9 -> 4.9 KB per stamp. H2 is only an index: the redo log is synced
        // before a stamp is confirmed and replayed into H2 at every open, and H2 is synced before the log
        // drops anything (OutboxRedo.rewrite), so what H2 had not written yet is never needed from it.
        // CACHE_SIZE: H2's page cache is on the heap, and at its default (16 MB) a drain filled it with the
        // backlog's pages: with 2 MB the box's VmRSS after 10,000 scans was 3-4 MB lower and at the peak of a
        // 100,000-stamp drain 8-12 MB lower, the drain as fast within noise (scripts/bench, docs/performance.md,
        // "Box memory"). The uplink reads the backlog in order and deletes what the sink acknowledged, so a
        // page is rarely needed twice.
        // MAX_COMPACT_TIME=0: SHUTDOWN only closes. H2 would otherwise move live pages inside the file for up to
        // 200 ms (in practice 0.7-0.9 s with 60,000 rows, and up to 16 MB of writes on the heap); the outbox
        // rewrites the file itself when it is worth it (H2FileRewrite).
        return "jdbc:h2:" + storage.h2Prefix() + file + ";WRITE_DELAY=" + H2_WRITE_DELAY_MS + ";PAGE_SIZE=" + H2_PAGE_SIZE
                + ";CACHE_SIZE=" + H2_CACHE_KB + ";MAX_COMPACT_TIME=0;DB_CLOSE_ON_EXIT=FALSE" + storage.h2Settings();
    }

    /** Measured: garbage in the block holding H2's metadata makes it open the file as an EMPTY database. */
    static SQLException emptyDatabase() {
        return new SQLException("the file exists but H2 reads it as an empty database (its metadata is "
                + "damaged)", "XX000", org.h2.api.ErrorCode.FILE_CORRUPTED_1);
    }

    /**
     * Opens H2 at {@code url}, creates or upgrades the tables, prepares the statements; the connection is
     * closed again when any of it fails.
     *
     * @param mustExist the file existed before: refuse it when it has no outbox table
     */
    static OutboxSchema connect(String url, boolean mustExist) throws SQLException {
        Connection connection = DriverManager.getConnection(url, "sa", "");
        try {
            connection.setAutoCommit(false);
            Statement misc = connection.createStatement();
            try (ResultSet rs = misc.executeQuery(HAS_OUTBOX_TABLE)) {
                rs.next();
                if (mustExist && rs.getLong(1) == 0) {
                    // Measured: garbage in the block holding H2's metadata makes it open the file as an EMPTY
                    // database, without an error. CREATE TABLE IF NOT EXISTS would then quietly start over
                    // inside the damaged file (and reuse its space); treat it as the corrupt file it is,
                    // before writing anything.
                    throw emptyDatabase();
                }
            }
            misc.execute("CREATE TABLE IF NOT EXISTS outbox ("
                    + "seq BIGINT PRIMARY KEY, "
                    + "event_id VARCHAR(64) NOT NULL, "
                    + "payload " + PAYLOAD_TYPE + " NOT NULL, "
                    + "created_at TIMESTAMP(3) WITH TIME ZONE NOT NULL, "
                    + "boot_id VARCHAR(64) NOT NULL, "
                    + "mono_nanos BIGINT NOT NULL)");
            // whether the payload's wall time came from a synchronised clock; false rows of this boot are
            // corrected once the clock synchronises (rows of the first release are all taken as synced)
            misc.execute("ALTER TABLE outbox ADD COLUMN IF NOT EXISTS clock_synced BOOLEAN DEFAULT TRUE NOT NULL");
            dropEventIdIndex(misc);
            boolean binaryPayload = binaryPayloadWhenEmpty(misc);
            // one row: the next sequence number, kept apart from the rows so a purge never rewinds it
            misc.execute("CREATE TABLE IF NOT EXISTS outbox_seq (id INT PRIMARY KEY CHECK (id = 1), next_seq BIGINT NOT NULL)");
            misc.execute("INSERT INTO outbox_seq (id, next_seq) SELECT 1, 1 WHERE NOT EXISTS (SELECT 1 FROM outbox_seq)");
            connection.commit();
            misc.execute("CHECKPOINT SYNC");
            // the counter rules' memory of this counter's stamps: written with the stamp, kept after the ack
            misc.execute("CREATE TABLE IF NOT EXISTS counter_history (program_id VARCHAR(64) NOT NULL, "
                    + "card_id VARCHAR(64) NOT NULL, stamped_at " + CounterHistory.STAMPED_AT_TYPE + " NOT NULL)");
            misc.execute("CREATE INDEX IF NOT EXISTS counter_history_at ON counter_history(stamped_at)");
            connection.commit();
            long rows = countRows(misc);
            connection.commit();
            return new OutboxSchema(connection, misc, binaryPayload, rows);
        } catch (SQLException | RuntimeException e) {
            try {
                connection.close();
            } catch (SQLException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }
}
