package app.sevenstamp.autopilot.gateway.outbox;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The outbox's H2 as {@link OutboxSchema} opens it: the replay's look-ups. */
class OutboxSchemaTest {
    /** In an H2 plan, an index used with a condition ("PUBLIC.PRIMARY_KEY_8: SEQ = ?1"), not a scan of it. */
    private static final Pattern INDEX_LOOKUP = Pattern.compile("/\\* PUBLIC\\.\\w+: ");

    @TempDir
    Path dir;

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
}
