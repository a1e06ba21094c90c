package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The outbox's H2 as {@link OutboxSchema} opens it: what its settings do to memory, and how rows are found. */
class OutboxSchemaTest {
    /** An event's payload as long as a real one (about 400 bytes of JSON). */
    private static final String PAYLOAD = "{\"v\":1,\"kind\":\"STAMP\",\"payload\":\"" + "x".repeat(360) + "\"}";
    /** The payload with a character UTF-8 writes in two bytes: text and bytes differ in length. */
    private static final String NON_ASCII = PAYLOAD.replace("xxx", "caf\u00e9");
    /** In an H2 plan, an index used with a condition ("PUBLIC.PRIMARY_KEY_8: SEQ = ?1"), not a scan of it. */
    private static final Pattern INDEX_LOOKUP = Pattern.compile("/\\* PUBLIC\\.\\w+: ");

    @TempDir
    Path dir;

    /**
     * H2's page cache is on the heap and, at its default of 16 MB, filled up with the backlog during a drain
     * (docs/performance.md, "Box memory"): reading a backlog several times the cache must leave it at its size.
     */
    @Test
    void h2sPageCacheStaysWithinItsSizeWhileABacklogSeveralTimesLargerIsRead() throws Exception {
        Path file = dir.resolve("outbox");
        String url = OutboxSchema.url(Outbox.Storage.FILES, file);
        int rows = 20_000;
        OutboxSchema db = OutboxSchema.connect(url, false);
        try {
            for (int i = 1; i <= rows; i++) {
                db.insert.setLong(1, i);
                db.insert.setString(2, "event-" + i);
                db.insert.setBytes(3, PAYLOAD.getBytes(StandardCharsets.UTF_8));
                db.insert.setObject(4, OffsetDateTime.of(2026, 12, 4, 9, 0, 0, 0, ZoneOffset.UTC));
                db.insert.setString(5, "boot-1");
                db.insert.setLong(6, i);
                db.insert.setBoolean(7, true);
                db.insert.addBatch();
                if (i % 1000 == 0) {
                    db.insert.executeBatch();
                }
            }
            db.connection.commit();
            db.misc.execute("SHUTDOWN");
        } finally {
            db.connection.close();
        }
        long fileBytes = Files.size(dir.resolve("outbox.mv.db"));
        assertTrue(fileBytes > 3L * OutboxSchema.H2_CACHE_KB * 1024,
                "the backlog (" + fileBytes / 1024 + " KB) must not fit in the cache, or this proves nothing");

        db = OutboxSchema.connect(url, true);
        try {
            // as the uplink drains it: a window of 100 in sequence order, the window before it acknowledged meanwhile and
            // deleted by seq. Not all of it read first and deleted afterwards: H2's cache (CacheLongKeyLIRS) keeps the
            // pages it let go on weak references, and makes such a page resident again when it is touched, without
            // evicting anything until it reads a page from the file. With two stamps a page (binary payloads) a second
            // pass over a backlog read that way left 8-10 MB counted in 3 of 3 runs, against 2 MB with one stamp a page;
            // the drain reads every page once and deletes one window behind.
            long after = 0;
            int read = 0;
            List<Long> acked = List.of();
            for (int window = 1; ; window++) {
                db.selectPending.setLong(1, after);
                db.selectPending.setInt(2, 100);
                List<Long> got = new java.util.ArrayList<>();
                try (ResultSet rs = db.selectPending.executeQuery()) {
                    while (rs.next()) {
                        after = rs.getLong(1);
                        got.add(after);
                    }
                }
                for (long seq : acked) {
                    db.deleteAcked.setLong(1, seq);
                    db.deleteAcked.setString(2, "event-" + seq);
                    assertEquals(1, db.deleteAcked.executeUpdate());
                }
                db.connection.commit();
                if (window % 20 == 0) {
                    assertCacheWithinItsSize(db);
                }
                if (got.isEmpty()) {
                    break;
                }
                read += got.size();
                acked = got;
            }
            assertEquals(rows, read);
            assertEquals(0, OutboxSchema.countRows(db.misc));
            Map<String, String> settings = assertCacheWithinItsSize(db);
            assertEquals(String.valueOf(OutboxSchema.H2_CACHE_KB), settings.get("CACHE_SIZE"));
            assertEquals(String.valueOf(OutboxSchema.H2_CACHE_KB / 1024), settings.get("info.CACHE_MAX_SIZE"));
        } finally {
            db.connection.close();
        }
    }

    /**
     * Every look-up of a row by the box goes by its sequence number, the primary key: the ack's delete, the
     * replay's look-up of logged rows (every row of the backlog, after every open and compaction: in runs, a range
     * each, and one by one where a run's numbers are far apart) and its clock corrections. A scan instead would walk
     * the whole backlog each time.
     */
    @Test
    void everyLookUpOfARowUsesThePrimaryKey() throws Exception {
        OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")), false);
        try {
            for (String query : new String[] {OutboxSchema.DELETE_ACKED, OutboxRedo.EVENT_AT_SEQ, OutboxRedo.EVENTS_IN_RANGE,
                OutboxRedo.CORRECT_AT_SEQ}) {
                String plan = plan(db, query);
                assertTrue(INDEX_LOOKUP.matcher(plan).find(), "no index look-up in the plan of " + query + ": " + plan);
            }
            // the pattern tells a look-up from a scan, and event ids have no index
            assertFalse(INDEX_LOOKUP.matcher(plan(db, "SELECT seq FROM outbox WHERE event_id = ?")).find());
        } finally {
            db.connection.close();
        }
    }

    /**
     * Files of earlier releases have a unique index on {@code event_id}, which cost more than half of each
     * delete: the first open drops it and keeps every row.
     */
    @Test
    void aFileOfAnEarlierReleaseLosesItsEventIdIndexAndKeepsItsRows() throws Exception {
        String url = earlierFile(", clock_synced BOOLEAN DEFAULT TRUE NOT NULL", earlierRow(1, ", TRUE"),
                earlierRow(2, ", FALSE"));
        OutboxSalvage.Probe probe = OutboxSalvage.probe(Outbox.Storage.FILES, dir.resolve("outbox"));
        assertEquals(null, probe.damage());
        assertEquals(1, probe.unsyncedRows(), "the probe's scan counts the rows with an unsynchronised clock");
        OutboxSchema db = OutboxSchema.connect(url, true);
        try {
            assertEquals(2, db.rows);
            assertFalse(INDEX_LOOKUP.matcher(plan(db, "SELECT seq FROM outbox WHERE event_id = ?")).find());
            db.deleteAcked.setLong(1, 2);
            db.deleteAcked.setString(2, "event-1");
            assertEquals(0, db.deleteAcked.executeUpdate(), "seq 2 is not event-1's row");
            db.deleteAcked.setString(2, "event-2");
            assertEquals(1, db.deleteAcked.executeUpdate());
            db.connection.commit();
        } finally {
            db.connection.close();
        }
        db = OutboxSchema.connect(url, true);
        try {
            assertEquals(1, db.rows, "the next open finds the table as it was left");
        } finally {
            db.connection.close();
        }
    }

    /**
     * Earlier releases stored the payload as text. Such a file holding rows keeps its column (H2 would copy the table
     * to change it), and its payloads come back as the same UTF-8 bytes the box publishes, the new rows bound as bytes
     * too; the first open that finds it empty makes the column binary, still NOT NULL.
     */
    @Test
    void aTextPayloadOfAnEarlierReleaseIsReadAsItsBytesAndTurnsBinaryOnceTheTableIsEmpty() throws Exception {
        String url = earlierFile(", clock_synced BOOLEAN DEFAULT TRUE NOT NULL",
                earlierRow(1, ", TRUE").replace(PAYLOAD, NON_ASCII));
        OutboxSchema db = OutboxSchema.connect(url, true);
        try {
            assertEquals("CHARACTER VARYING", payloadColumn(db).get(0), "a table with rows keeps its column");
            OutboxSchema.bindRow(db.insert, new OutboxRedo.Stored(2, "event-2", NON_ASCII.getBytes(StandardCharsets.UTF_8),
                    Instant.parse("2026-12-04T09:00:01Z"), "boot-1", 2, true));
            db.insert.executeUpdate();
            db.connection.commit();
            db.selectPending.setLong(1, 0);
            db.selectPending.setInt(2, 10);
            try (ResultSet rs = db.selectPending.executeQuery()) {
                for (int seq = 1; seq <= 2; seq++) {
                    assertTrue(rs.next());
                    assertArrayEquals(NON_ASCII.getBytes(StandardCharsets.UTF_8), rs.getBytes(3), "seq " + seq);
                    assertEquals(NON_ASCII, rs.getString(3), "seq " + seq + ": stored as the text it was");
                }
            }
            db.misc.execute("DELETE FROM outbox");
            db.connection.commit();
        } finally {
            db.connection.close();
        }
        db = OutboxSchema.connect(url, true);
        try {
            assertEquals(List.of("BINARY VARYING", "NO"), payloadColumn(db), "an empty table's column turns binary");
        } finally {
            db.connection.close();
        }
    }

    private static Map<String, String> assertCacheWithinItsSize(OutboxSchema db) throws SQLException {
        Map<String, String> settings = settings(db);
        int usedMb = Integer.parseInt(settings.get("info.CACHE_SIZE"));
        int limitMb = OutboxSchema.H2_CACHE_KB / 1024;
        assertTrue(usedMb <= limitMb, "H2's cache holds " + usedMb + " MB, more than " + limitMb + " MB");
        return settings;
    }

    /** A new file's payload column: binary, not null. */
    @Test
    void aNewFileStoresThePayloadAsBytes() throws Exception {
        OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")), false);
        try {
            assertEquals(List.of("BINARY VARYING", "NO"), payloadColumn(db));
        } finally {
            db.connection.close();
        }
    }

    /**
     * A box put back on an earlier release (an update rolled back) finds a binary column, and that release binds and
     * reads the payload as text: H2 stores a text's UTF-8 bytes and gives bytes back as their UTF-8 text.
     */
    @Test
    void anEarlierReleaseReadsAndWritesABinaryPayloadAsText() throws Exception {
        OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")), false);
        try {
            OutboxSchema.bindRow(db.insert, new OutboxRedo.Stored(1, "event-1", NON_ASCII.getBytes(StandardCharsets.UTF_8),
                    Instant.parse("2026-12-04T09:00:00Z"), "boot-1", 1, true));
            db.insert.executeUpdate();
            OutboxSchema.bindRow(db.insert, new OutboxRedo.Stored(2, "event-2", new byte[0],
                    Instant.parse("2026-12-04T09:00:01Z"), "boot-1", 2, true));
            db.insert.setString(3, NON_ASCII); // as the earlier release binds it
            db.insert.executeUpdate();
            db.connection.commit();
            try (ResultSet rs = db.misc.executeQuery("SELECT payload FROM outbox ORDER BY seq")) {
                for (int seq = 1; seq <= 2; seq++) {
                    assertTrue(rs.next());
                    assertEquals(NON_ASCII, rs.getString(1), "seq " + seq + " read as text");
                    assertArrayEquals(NON_ASCII.getBytes(StandardCharsets.UTF_8), rs.getBytes(1), "seq " + seq + " as bytes");
                }
            }
        } finally {
            db.connection.close();
        }
    }

    /** The payload column's type and whether it takes NULL, as H2's information schema says. */
    private static List<String> payloadColumn(OutboxSchema db) throws SQLException {
        try (ResultSet rs = db.misc.executeQuery("SELECT DATA_TYPE, IS_NULLABLE FROM INFORMATION_SCHEMA.COLUMNS "
                + "WHERE TABLE_SCHEMA = 'PUBLIC' AND TABLE_NAME = 'OUTBOX' AND COLUMN_NAME = 'PAYLOAD'")) {
            assertTrue(rs.next());
            return List.of(rs.getString(1), rs.getString(2));
        }
    }

    /**
     * The first release's table has no {@code clock_synced} column: the probe finds the file sound (no salvage),
     * counts none of its rows as unsynchronised, and the open adds the column, the rows taken as synchronised.
     */
    @Test
    void aFileOfTheFirstReleaseIsNeitherSalvagedNorCountedAsUnsynchronised() throws Exception {
        String url = earlierFile("", earlierRow(1, ""));
        OutboxSalvage.Probe probe = OutboxSalvage.probe(Outbox.Storage.FILES, dir.resolve("outbox"));
        assertEquals(null, probe.damage(), "the first release's file is sound");
        assertEquals(0, probe.unsyncedRows());
        OutboxSchema db = OutboxSchema.connect(url, true);
        try {
            assertEquals(1, db.rows);
            try (ResultSet rs = db.misc.executeQuery("SELECT COUNT(*) FROM outbox WHERE clock_synced")) {
                rs.next();
                assertEquals(1, rs.getLong(1), "its row is taken as synchronised");
            }
        } finally {
            db.connection.close();
        }
    }

    /**
     * An outbox file with the table as earlier releases created it (a unique index on event ids, and
     * {@code moreColumns}) holding {@code rows}; its URL.
     */
    private String earlierFile(String moreColumns, String... rows) throws SQLException {
        String url = OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox"));
        try (Connection c = DriverManager.getConnection(url, "sa", ""); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE outbox (seq BIGINT PRIMARY KEY, event_id VARCHAR(64) NOT NULL UNIQUE, "
                    + "payload VARCHAR(4096) NOT NULL, created_at TIMESTAMP(3) WITH TIME ZONE NOT NULL, "
                    + "boot_id VARCHAR(64) NOT NULL, mono_nanos BIGINT NOT NULL" + moreColumns + ")");
            st.execute("INSERT INTO outbox VALUES " + String.join(", ", rows));
            assertTrue(INDEX_LOOKUP.matcher(plan(c, "SELECT seq FROM outbox WHERE event_id = ?")).find(),
                    "the old table has its index, or this proves nothing");
        }
        return url;
    }

    /** Row {@code seq} of {@link #earlierFile} ({@code event-<seq>}, stored at 09:00:0(seq - 1)), then {@code more}. */
    private static String earlierRow(int seq, String more) {
        return "(" + seq + ", 'event-" + seq + "', '" + PAYLOAD + "', TIMESTAMP WITH TIME ZONE '2026-12-04 09:00:0" + (seq - 1)
                + "+00', 'boot-1', " + seq + more + ")";
    }

    private static String plan(OutboxSchema db, String query) throws SQLException {
        return plan(db.connection, query);
    }

    private static String plan(Connection c, String query) throws SQLException {
        try (PreparedStatement explain = c.prepareStatement("EXPLAIN " + query)) {
            for (int i = 1; i <= explain.getParameterMetaData().getParameterCount(); i++) {
                explain.setString(i, "1");
            }
            try (ResultSet rs = explain.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    private static Map<String, String> settings(OutboxSchema db) throws SQLException {
        Map<String, String> out = new HashMap<>();
        try (ResultSet rs = db.misc.executeQuery("SELECT SETTING_NAME, SETTING_VALUE FROM INFORMATION_SCHEMA.SETTINGS")) {
            while (rs.next()) {
                out.put(rs.getString(1), rs.getString(2));
            }
        }
        return out;
    }
}
