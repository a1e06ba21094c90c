package app.sevenstamp.autopilot.sink.store;

import app.sevenstamp.autopilot.protocol.AckOutcome;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The rows of {@code events}: every decided event, its primary key the duplicate check.
 * {@link SinkStore} and {@link SinkStore.Tx} delegate here; each method runs on the connection it
 * is given (the caller's transaction, or a pooled read).
 */
final class EventRows {
    private EventRows() {}

    /** The stored events among these ids, by id: one round trip for the duplicate check of a whole batch. */
    static Map<String, StoredEvent> read(Connection c, Collection<String> eventIds) throws SQLException {
        List<String> ids = new ArrayList<>(new TreeSet<>(eventIds));
        Map<String, StoredEvent> out = new HashMap<>();
        if (ids.isEmpty()) {
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement(EVENT_COLUMNS + " WHERE event_id IN (" + Rows.marks(ids.size()) + ")")) {
            for (int i = 0; i < ids.size(); i++) {
                ps.setString(i + 1, ids.get(i));
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    StoredEvent e = eventRow(rs);
                    out.put(e.eventId(), e);
                }
            }
        }
        return out;
    }

    static Optional<StoredEvent> read(Connection c, String eventId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(EVENT_COLUMNS + " WHERE event_id = ?")) {
            ps.setString(1, eventId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(eventRow(rs)) : Optional.empty();
            }
        }
    }

    /**
     * Inserts the event. False when an event with this id is already stored: the primary key
     * decides, so a concurrent writer of the same id cannot slip past.
     */
    static boolean insert(Connection c, Database db, StoredEvent e) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(insertSql(db))) {
            bindEvent(ps, e);
            return ps.executeUpdate() == 1;
        } catch (SQLException ex) {
            if (SinkStore.DUPLICATE_KEY.equals(ex.getSQLState())) {
                return false;
            }
            throw ex;
        }
    }

    /**
     * Inserts new events in one JDBC batch. The caller checked that none of them is stored
     * ({@link #read(Connection, Collection)}); one that another writer stored since (a concurrent
     * instance, the POS route) is a {@link SinkStore.Tx.Conflict}: the whole transaction runs again
     * and finds it stored then, so the primary key still decides and no event counts twice.
     */
    static void insertAll(Connection c, Database db, List<StoredEvent> events) throws SQLException {
        if (events.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = c.prepareStatement(insertSql(db))) {
            for (StoredEvent e : events) {
                bindEvent(ps, e);
                ps.addBatch();
            }
            int[] counts = ps.executeBatch();
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] == 0) {
                    throw new SinkStore.Tx.Conflict(events.get(i).eventId(), null);
                }
                if (counts[i] != 1) {
                    throw new SQLException("inserting event " + events.get(i).eventId() + " reported " + counts[i]
                            + " rows (a JDBC batch option that hides the row counts?)");
                }
            }
        } catch (SQLException ex) {
            if (Rows.isDuplicateKey(ex)) {
                throw new SinkStore.Tx.Conflict("of a batch of events", ex);
            }
            throw ex;
        }
    }

    private static String insertSql(Database db) {
        return db.insertIgnoringDuplicate("INSERT INTO events (event_id, device_id, seq, card_id, program_id, kind, "
                + "device_time, received_at, clock_synced, outcome, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "event_id");
    }

    private static void bindEvent(PreparedStatement ps, StoredEvent e) throws SQLException {
        ps.setString(1, e.eventId());
        ps.setString(2, e.deviceId());
        ps.setLong(3, e.seq());
        ps.setString(4, Rows.clip(e.cardId(), 160));
        ps.setString(5, Rows.clip(e.programId(), 160));
        ps.setString(6, e.kind());
        ps.setObject(7, Rows.utc(e.deviceTime()));
        ps.setObject(8, Rows.utc(e.receivedAt()));
        ps.setBoolean(9, e.clockSynced());
        ps.setString(10, e.outcome().name());
        ps.setString(11, e.reason());
    }

    private static final String EVENT_COLUMNS = "SELECT event_id, device_id, seq, card_id, program_id, kind, "
            + "device_time, received_at, clock_synced, outcome, reason FROM events";

    private static StoredEvent eventRow(ResultSet rs) throws SQLException {
        return new StoredEvent(rs.getString(1), rs.getString(2), rs.getLong(3), rs.getString(4), rs.getString(5),
                rs.getString(6), Rows.instant(rs, 7), Rows.instant(rs, 8), rs.getBoolean(9), AckOutcome.valueOf(rs.getString(10)),
                rs.getString(11));
    }
}
