package app.sevenstamp.autopilot.sink.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Objects;
import org.tinylog.Logger;

/**
 * The schema, as an ordered list of migrations, and the runner that brings a database up to date.
 * {@code schema_version} holds one row per applied migration. A migration is never edited once
 * released: a change is a new migration at the end.
 *
 * <p>Why not Flyway: it is not in the build's repository mirror, and what the sink needs is fifty
 * lines: ordered DDL, a version table, and a lock so that two instances starting at once against
 * one PostgreSQL do not both migrate (PostgreSQL runs them under an advisory lock in one
 * transaction; DDL there is transactional, so a failed migration leaves nothing behind).
 *
 * <p>Version 1 is the schema of the first release, which created its tables with
 * {@code IF NOT EXISTS} and had no version table: it is written the same way, so an existing H2
 * file is adopted as version 1 without change.
 */
public final class Migrations {
    /** One schema step. Statements use {@code TIMESTAMP(9)}, which {@link Database#ddl} adapts. */
    public record Migration(int version, String description, List<String> statements) {
        public Migration {
            Objects.requireNonNull(description, "description");
            statements = List.copyOf(statements);
        }
    }

    static final List<Migration> ALL = List.of(
            new Migration(1, "cards, events, devices", List.of(
                    """
                    CREATE TABLE IF NOT EXISTS cards (
                        card_id VARCHAR(26) PRIMARY KEY,
                        program_id VARCHAR(24) NOT NULL,
                        stamps INT NOT NULL,
                        rewards_available INT NOT NULL,
                        rewards_earned_total INT NOT NULL,
                        last_stamp_at TIMESTAMP(9) WITH TIME ZONE,
                        first_seen_at TIMESTAMP(9) WITH TIME ZONE NOT NULL)""",
                    """
                    CREATE TABLE IF NOT EXISTS events (
                        event_id VARCHAR(64) PRIMARY KEY,
                        device_id VARCHAR(64) NOT NULL,
                        seq BIGINT NOT NULL,
                        card_id VARCHAR(160),
                        program_id VARCHAR(160),
                        kind VARCHAR(16) NOT NULL,
                        device_time TIMESTAMP(9) WITH TIME ZONE NOT NULL,
                        received_at TIMESTAMP(9) WITH TIME ZONE NOT NULL,
                        clock_synced BOOLEAN NOT NULL,
                        outcome VARCHAR(16) NOT NULL,
                        reason VARCHAR(32))""",
                    "CREATE INDEX IF NOT EXISTS events_by_card ON events(card_id)",
                    """
                    CREATE TABLE IF NOT EXISTS devices (
                        device_id VARCHAR(64) PRIMARY KEY,
                        last_seq BIGINT NOT NULL,
                        last_event_at TIMESTAMP(9) WITH TIME ZONE NOT NULL)""")));

    private Migrations() {
    }

    /** The version this code's schema has. */
    public static int latest() {
        return ALL.get(ALL.size() - 1).version();
    }

    /**
     * Applies every migration the database lacks, in order; returns the version it is at now.
     *
     * @throws StoreException when the database is newer than this code (a downgrade), or a migration fails
     */
    static int migrate(Database db, List<Migration> migrations) {
        try (Connection c = db.connection()) {
            c.setAutoCommit(false);
            try {
                // Locked first: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a concurrent one.
                db.lockForMigration(c);
                try (Statement st = c.createStatement()) {
                    st.execute(db.ddl("CREATE TABLE IF NOT EXISTS schema_version (version INT PRIMARY KEY, "
                            + "description VARCHAR(200) NOT NULL, applied_at TIMESTAMP(9) WITH TIME ZONE NOT NULL)"));
                }
                int current = current(c);
                int newest = migrations.get(migrations.size() - 1).version();
                if (current > newest) {
                    throw new StoreException(db.describe() + " has schema version " + current + ", but this sink knows "
                            + "versions up to " + newest + "; it was written by a newer sink: run that version, or "
                            + "restore a backup made before the upgrade", null);
                }
                for (Migration m : migrations) {
                    if (m.version() <= current) {
                        continue;
                    }
                    try (Statement st = c.createStatement()) {
                        for (String sql : m.statements()) {
                            st.execute(db.ddl(sql));
                        }
                    }
                    try (PreparedStatement ps = c.prepareStatement(
                            "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)")) {
                        ps.setInt(1, m.version());
                        ps.setString(2, m.description());
                        ps.setObject(3, Instant.now().atOffset(ZoneOffset.UTC));
                        ps.executeUpdate();
                    }
                    Logger.info("{}: schema migrated to version {} ({})", db.describe(), m.version(), m.description());
                    current = m.version();
                }
                c.commit();
                return current;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new StoreException(db.describe() + ": schema migration failed: " + SinkStore.firstLine(e.getMessage()), e);
        }
    }

    private static int current(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT MAX(version) FROM schema_version")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
