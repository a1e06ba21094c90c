package app.sevenstamp.autopilot.sink.store;

import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
import app.sevenstamp.autopilot.sink.loyalty.LedgerType;
import app.sevenstamp.autopilot.sink.loyalty.StampDecision.LastStamp;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The append-only ledger: every stamp, reward, expiry, redemption, rule rejection, adjustment and
 * undo, one line each, written in the same transaction as the card row it explains. Lines are
 * never updated or deleted; an undo is a new line with the opposite deltas. The {@code cards}
 * table is a projection of the ledger that {@link #derive} recomputes.
 *
 * <p>Thread-safe: statements run on the connection of the caller's transaction, or their own.
 */
public final class Ledger {
    private static final String COLUMNS = "id, card_id, program_id, entry_type, stamps_delta, rewards_delta, earned_delta, "
            + "event_id, location, occurred_at, recorded_at, reason, note, actor, flag, undoes";

    private final SinkStore store;

    public Ledger(SinkStore store) {
        this.store = store;
    }

    /** Appends one line inside the caller's transaction. */
    public static void append(SinkStore.Tx tx, LedgerEntry e) throws SQLException {
        try (PreparedStatement ps = tx.connection().prepareStatement(INSERT)) {
            bind(ps, e);
            ps.executeUpdate();
        }
    }

    /** Appends lines in one JDBC batch, in the given order (their ids follow it), inside the caller's transaction. */
    public static void appendAll(SinkStore.Tx tx, List<LedgerEntry> lines) throws SQLException {
        if (lines.isEmpty()) {
            return;
        }
        try (PreparedStatement ps = tx.connection().prepareStatement(INSERT)) {
            for (LedgerEntry e : lines) {
                bind(ps, e);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }

    private static final String INSERT = "INSERT INTO ledger (card_id, program_id, entry_type, stamps_delta, "
            + "rewards_delta, earned_delta, event_id, location, occurred_at, recorded_at, reason, note, actor, flag, undoes) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

    private static void bind(PreparedStatement ps, LedgerEntry e) throws SQLException {
        ps.setString(1, e.cardId());
        ps.setString(2, e.programId());
        ps.setString(3, e.type().name());
        ps.setInt(4, e.stamps());
        ps.setInt(5, e.rewards());
        ps.setInt(6, e.earned());
        ps.setString(7, e.eventId());
        ps.setString(8, clip(e.location(), 64));
        ps.setObject(9, e.occurredAt().atOffset(ZoneOffset.UTC));
        ps.setObject(10, e.recordedAt().atOffset(ZoneOffset.UTC));
        ps.setString(11, clip(e.reason(), 32));
        ps.setString(12, clip(e.note(), 500));
        ps.setString(13, clip(e.actor(), 64));
        ps.setString(14, e.flag());
        if (e.undoes() == null) {
            ps.setNull(15, Types.BIGINT);
        } else {
            ps.setLong(15, e.undoes());
        }
    }

    /** The card's last stamp that was not undone: where and when, for the travel check. */
    public static Optional<LastStamp> lastStamp(SinkStore.Tx tx, String cardId) throws SQLException {
        return lastStampLine(tx.connection(), cardId).map(e -> new LastStamp(e.location(), e.occurredAt()));
    }

    /** Stamps (minus undone ones) of the card that happened in {@code [from, to)}. */
    public static int stampsBetween(SinkStore.Tx tx, String cardId, Instant from, Instant to) throws SQLException {
        try (PreparedStatement ps = tx.connection().prepareStatement("SELECT COALESCE(SUM(CASE entry_type WHEN 'STAMP' "
                + "THEN 1 ELSE -1 END), 0) FROM ledger WHERE card_id = ? AND entry_type IN ('STAMP', 'UNDO') "
                + "AND occurred_at >= ? AND occurred_at < ?")) {
            ps.setString(1, cardId);
            ps.setObject(2, from.atOffset(ZoneOffset.UTC));
            ps.setObject(3, to.atOffset(ZoneOffset.UTC));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** The last STAMP line that has no UNDO, or empty. */
    static Optional<LedgerEntry> lastStampLine(Connection c, String cardId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM ledger l WHERE card_id = ? AND "
                + "entry_type = 'STAMP' AND NOT EXISTS (SELECT 1 FROM ledger u WHERE u.undoes = l.id) "
                + "ORDER BY id DESC FETCH FIRST 1 ROWS ONLY")) {
            ps.setString(1, cardId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(row(rs)) : Optional.empty();
            }
        }
    }

    /** The lines one event wrote (its STAMP and what that stamp earned or lapsed). */
    static List<LedgerEntry> linesOfEvent(Connection c, String cardId, String eventId) throws SQLException {
        List<LedgerEntry> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM ledger WHERE card_id = ? AND "
                + "event_id = ? ORDER BY id")) {
            ps.setString(1, cardId);
            ps.setString(2, eventId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(row(rs));
                }
            }
        }
        return out;
    }

    /** Every line of the card, oldest first. */
    public List<LedgerEntry> entries(String cardId) {
        return store.transaction(tx -> {
            List<LedgerEntry> out = new ArrayList<>();
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT " + COLUMNS
                    + " FROM ledger WHERE card_id = ? ORDER BY id")) {
                ps.setString(1, cardId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(row(rs));
                    }
                }
            }
            return out;
        });
    }

    /** Every card's balance recomputed from the ledger alone: the sum of its lines' deltas. */
    public Map<String, CardBalance> derive() {
        return store.transaction(tx -> {
            Map<String, CardBalance> out = new TreeMap<>();
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT card_id, SUM(stamps_delta), "
                    + "SUM(rewards_delta), SUM(earned_delta) FROM ledger WHERE card_id IS NOT NULL GROUP BY card_id"); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), new CardBalance(rs.getInt(2), rs.getInt(3), rs.getInt(4)));
                }
            }
            return out;
        });
    }

    /** Every card's balance as the {@code cards} table holds it, to compare with {@link #derive}. */
    public Map<String, CardBalance> projected() {
        return store.transaction(tx -> {
            Map<String, CardBalance> out = new TreeMap<>();
            try (PreparedStatement ps = tx.connection().prepareStatement(
                    "SELECT card_id, stamps, rewards_available, rewards_earned_total FROM cards"); ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.put(rs.getString(1), new CardBalance(rs.getInt(2), rs.getInt(3), rs.getInt(4)));
                }
            }
            return out;
        });
    }

    private static LedgerEntry row(ResultSet rs) throws SQLException {
        long undoes = rs.getLong(16);
        Long undone = rs.wasNull() ? null : undoes;
        return new LedgerEntry(rs.getLong(1), rs.getString(2), rs.getString(3), LedgerType.valueOf(rs.getString(4)),
                rs.getInt(5), rs.getInt(6), rs.getInt(7), rs.getString(8), rs.getString(9),
                rs.getObject(10, OffsetDateTime.class).toInstant(), rs.getObject(11, OffsetDateTime.class).toInstant(),
                rs.getString(12), rs.getString(13), rs.getString(14), rs.getString(15), undone);
    }

    private static String clip(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max);
    }
}
