package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The outbox's H2 as {@link OutboxSchema} opens it: what its settings do to memory and to the replay's look-ups. */
class OutboxSchemaTest {
    /** An event's payload as long as a real one (about 400 bytes of JSON). */
    private static final String PAYLOAD = "{\"v\":1,\"kind\":\"STAMP\",\"payload\":\"" + "x".repeat(360) + "\"}";
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
                db.insert.setString(3, PAYLOAD);
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
            // as the uplink reads it (in sequence order, a window at a time) and the acks find it (by event id)
            long after = 0;
            int read = 0;
            while (true) {
                db.selectPending.setLong(1, after);
                db.selectPending.setInt(2, 100);
                int batch = 0;
                try (ResultSet rs = db.selectPending.executeQuery()) {
                    while (rs.next()) {
                        after = rs.getLong(1);
                        batch++;
                    }
                }
                if (batch == 0) {
                    break;
                }
                read += batch;
            }
            assertEquals(rows, read);
            try (PreparedStatement byId = db.connection.prepareStatement(OutboxRedo.EVENT_BY_ID)) {
                for (int i = 1; i <= rows; i += 7) {
                    byId.setString(1, "event-" + i);
                    try (ResultSet rs = byId.executeQuery()) {
                        assertTrue(rs.next());
                    }
                }
            }
            Map<String, String> settings = settings(db);
            int usedMb = Integer.parseInt(settings.get("info.CACHE_SIZE"));
            int limitMb = OutboxSchema.H2_CACHE_KB / 1024;
            assertTrue(usedMb <= limitMb, "H2's cache holds " + usedMb + " MB, more than " + limitMb + " MB");
            assertEquals(String.valueOf(OutboxSchema.H2_CACHE_KB), settings.get("CACHE_SIZE"));
            assertEquals(String.valueOf(limitMb), settings.get("info.CACHE_MAX_SIZE"));
        } finally {
            db.connection.close();
        }
    }

    /**
     * The replay after every open and compaction looks up each logged row: on an index, or it walks the whole
     * backlog once per row (H2 uses no index for {@code seq = ? OR event_id = ?}).
     */
    @Test
    void theReplaysLookUpsOfALoggedRowUseAnIndex() throws Exception {
        OutboxSchema db = OutboxSchema.connect(OutboxSchema.url(Outbox.Storage.FILES, dir.resolve("outbox")), false);
        try {
            for (String query : new String[] {OutboxRedo.EVENT_AT_SEQ, OutboxRedo.EVENT_BY_ID}) {
                String plan = plan(db, query);
                assertTrue(INDEX_LOOKUP.matcher(plan).find(), "no index look-up in the plan of " + query + ": " + plan);
            }
            // the pattern tells a look-up from a scan
            assertFalse(INDEX_LOOKUP.matcher(plan(db, "SELECT event_id FROM outbox WHERE seq = ? OR event_id = ?")).find());
        } finally {
            db.connection.close();
        }
    }

    private static String plan(OutboxSchema db, String query) throws SQLException {
        try (PreparedStatement explain = db.connection.prepareStatement("EXPLAIN " + query)) {
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
