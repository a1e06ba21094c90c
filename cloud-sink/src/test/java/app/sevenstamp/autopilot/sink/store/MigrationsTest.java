package app.sevenstamp.autopilot.sink.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.sink.store.Migrations.Migration;
import app.sevenstamp.autopilot.sink.testing.Backend;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass
@EnumSource(Backend.class)
class MigrationsTest {
    @Parameter
    Backend backend;

    @TempDir
    Path dir;
    private Backend.Fixture fixture;

    @BeforeEach
    void database() {
        fixture = backend.fixture(dir);
    }

    private static int versions(Database db) throws Exception {
        try (Connection c = db.connection(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM schema_version")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Test
    void aNewDatabaseGetsEveryMigrationOnceAndAReopenAppliesNothing() throws Exception {
        try (Database db = fixture.database()) {
            assertEquals(Migrations.latest(), Migrations.migrate(db, Migrations.ALL));
            assertEquals(Migrations.ALL.size(), versions(db));
            assertEquals(Migrations.latest(), Migrations.migrate(db, Migrations.ALL));
            assertEquals(Migrations.ALL.size(), versions(db));
        }
    }

    /** The index of events by card, which no query read and every event wrote, goes at migration 19. */
    @Test
    void theEventsIndexByCardIsDroppedFromADatabaseThatHasIt() throws Exception {
        try (Database db = fixture.database()) {
            Migrations.migrate(db, Migrations.ALL.subList(0, Migrations.ALL.size() - 1)); // up to 18
            List<String> before = indexesOfEvents(db);
            assertTrue(before.contains("events_by_card"), "version 18 has it, or this proves nothing: " + before);
            Migrations.migrate(db, Migrations.ALL);
            List<String> left = indexesOfEvents(db);
            assertFalse(left.contains("events_by_card"), left.toString());
            assertEquals(1, left.size(), "the primary key only: " + left);
        }
    }

    private static List<String> indexesOfEvents(Database db) throws Exception {
        List<String> names = new ArrayList<>();
        try (Connection c = db.connection()) {
            for (String table : new String[] {"events", "EVENTS"}) { // PostgreSQL folds names to lower case, H2 to upper
                try (ResultSet rs = c.getMetaData().getIndexInfo(null, null, table, false, false)) {
                    while (rs.next()) {
                        String name = rs.getString("INDEX_NAME");
                        if (name != null && !names.contains(name.toLowerCase(Locale.ROOT))) {
                            names.add(name.toLowerCase(Locale.ROOT));
                        }
                    }
                }
            }
        }
        return names;
    }

    /**
     * A power cut in the middle of a migration on H2 (which commits each DDL statement on its own)
     * leaves its tables and no version row; H2 may also lose the version rows it committed last. Every
     * migration must then run again over what it already did, adding nothing twice.
     */
    @Test
    void migrationsRunAgainOverTheirOwnWorkWhenTheVersionRowsWereLost() throws Exception {
        try (Database db = fixture.database()) {
            Migrations.migrate(db, Migrations.ALL.subList(0, 2));
            try (Connection c = db.connection(); Statement st = c.createStatement()) {
                st.execute("INSERT INTO cards (card_id, program_id, stamps, rewards_available, rewards_earned_total, "
                        + "first_seen_at) VALUES ('AAAAAAAAAAAAAAAA', 'coffee', 3, 0, 0, CURRENT_TIMESTAMP)");
            }
            Migrations.migrate(db, Migrations.ALL);
            try (Connection c = db.connection(); Statement st = c.createStatement()) {
                st.execute("DELETE FROM schema_version WHERE version >= 2");
            }
            assertEquals(Migrations.latest(), Migrations.migrate(db, Migrations.ALL));
            assertEquals(Migrations.ALL.size(), versions(db));
            try (Connection c = db.connection(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM ledger WHERE entry_type = 'OPENING'")) {
                rs.next();
                assertEquals(1, rs.getInt(1), "the card's opening line, once");
            }
            try (Connection c = db.connection(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM webhook_cursor")) {
                rs.next();
                assertEquals(1, rs.getInt(1));
            }
        }
    }

    @Test
    void aDatabaseWrittenByANewerSinkIsRefusedWithAnExplanation() {
        List<Migration> newer = new ArrayList<>(Migrations.ALL);
        newer.add(new Migration(Migrations.latest() + 1, "from the future", List.of("CREATE TABLE future_t (x INT)")));
        try (Database db = fixture.database()) {
            Migrations.migrate(db, newer);
            StoreException e = assertThrows(StoreException.class, () -> Migrations.migrate(db, Migrations.ALL));
            assertEquals(db.describe() + " has schema version " + (Migrations.latest() + 1) + ", but this sink knows "
                    + "versions up to " + Migrations.latest() + "; it was written by a newer sink: run that version, "
                    + "or restore a backup made before the upgrade", e.getMessage());
        }
    }
}
