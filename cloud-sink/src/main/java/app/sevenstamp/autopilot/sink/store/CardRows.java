package app.sevenstamp.autopilot.sink.store;

import app.sevenstamp.autopilot.sink.loyalty.CardBalance;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The rows of {@code cards}: each card's balance. {@link SinkStore} and {@link SinkStore.Tx}
 * delegate here; each method runs on the connection it is given (the caller's transaction, or a
 * pooled read). Locks are taken in card id order, as before the split.
 */
final class CardRows {
    private CardRows() {}

    /**
     * Locks the existing rows of these cards, in card id order, until the end of the transaction,
     * and returns them (by card id; a card without a row is absent): one round trip for the locks
     * and the reads of a whole batch. A batch takes its card locks up front in one global order,
     * so two instances whose batches share cards wait for each other instead of deadlocking. Rows
     * that do not exist yet are created later in the batch; a race over one of those is a
     * {@link SinkStore.Tx.Conflict} or a deadlock the store retries.
     */
    static Map<String, StoredCard> lockAndRead(Connection c, Collection<String> cardIds) throws SQLException {
        List<String> sorted = new ArrayList<>(new TreeSet<>(cardIds));
        Map<String, StoredCard> out = new HashMap<>();
        if (sorted.isEmpty()) {
            return out;
        }
        try (PreparedStatement ps = c.prepareStatement(CARD_COLUMNS + " WHERE card_id IN (" + Rows.marks(sorted.size())
                + ") ORDER BY card_id FOR UPDATE")) {
            for (int i = 0; i < sorted.size(); i++) {
                ps.setString(i + 1, sorted.get(i));
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    StoredCard card = cardRow(rs);
                    out.put(card.cardId(), card);
                }
            }
        }
        return out;
    }

    static Optional<StoredCard> read(Connection c, String cardId, boolean forUpdate) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(CARD_COLUMNS + " WHERE card_id = ?"
                + (forUpdate ? " FOR UPDATE" : ""))) {
            ps.setString(1, cardId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(cardRow(rs)) : Optional.empty();
            }
        }
    }

    /** Inserts a new card or updates an existing one; {@code isNew} says which. */
    static void save(Connection c, StoredCard card, boolean isNew) throws SQLException {
        if (isNew) {
            try (PreparedStatement ps = c.prepareStatement(INSERT_CARD)) {
                bindNewCard(ps, card);
                ps.executeUpdate();
            } catch (SQLException ex) {
                if (SinkStore.DUPLICATE_KEY.equals(ex.getSQLState())) {
                    throw new SinkStore.Tx.Conflict(card.cardId(), ex);
                }
                throw ex;
            }
            return;
        }
        try (PreparedStatement ps = c.prepareStatement(UPDATE_CARD)) {
            bindCardUpdate(ps, card);
            if (ps.executeUpdate() != 1) {
                throw new SQLException("card " + card.cardId() + " vanished during its own transaction");
            }
        }
    }

    /**
     * Saves cards in two JDBC batches, inserts then updates, each in card id order: {@code isNew}
     * says which rows do not exist yet. Like {@link #save}: a new row another writer created
     * first is a {@link SinkStore.Tx.Conflict}, an existing row that is gone is an error.
     */
    static void saveAll(Connection c, Collection<StoredCard> cards, Predicate<String> isNew) throws SQLException {
        List<StoredCard> inserts = new ArrayList<>();
        List<StoredCard> updates = new ArrayList<>();
        TreeMap<String, StoredCard> byId = new TreeMap<>();
        for (StoredCard card : cards) {
            byId.put(card.cardId(), card);
        }
        for (StoredCard card : byId.values()) {
            (isNew.test(card.cardId()) ? inserts : updates).add(card);
        }
        if (!inserts.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(INSERT_CARD)) {
                for (StoredCard card : inserts) {
                    bindNewCard(ps, card);
                    ps.addBatch();
                }
                ps.executeBatch();
            } catch (SQLException ex) {
                if (Rows.isDuplicateKey(ex)) {
                    throw new SinkStore.Tx.Conflict("of a batch of new cards", ex);
                }
                throw ex;
            }
        }
        if (!updates.isEmpty()) {
            try (PreparedStatement ps = c.prepareStatement(UPDATE_CARD)) {
                for (StoredCard card : updates) {
                    bindCardUpdate(ps, card);
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                for (int i = 0; i < counts.length; i++) {
                    if (counts[i] != 1 && counts[i] != Statement.SUCCESS_NO_INFO) {
                        throw new SQLException("card " + updates.get(i).cardId() + " vanished during its own transaction");
                    }
                }
            }
        }
    }

    private static final String INSERT_CARD = "INSERT INTO cards (card_id, program_id, stamps, rewards_available, "
            + "rewards_earned_total, last_stamp_at, first_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)";
    private static final String UPDATE_CARD = "UPDATE cards SET stamps = ?, rewards_available = ?, "
            + "rewards_earned_total = ?, last_stamp_at = ? WHERE card_id = ?";

    private static void bindNewCard(PreparedStatement ps, StoredCard card) throws SQLException {
        ps.setString(1, card.cardId());
        ps.setString(2, card.programId());
        ps.setInt(3, card.balance().stamps());
        ps.setInt(4, card.balance().rewardsAvailable());
        ps.setInt(5, card.balance().rewardsEarnedTotal());
        ps.setObject(6, Rows.utc(card.lastStampAt()));
        ps.setObject(7, Rows.utc(card.firstSeenAt()));
    }

    private static void bindCardUpdate(PreparedStatement ps, StoredCard card) throws SQLException {
        ps.setInt(1, card.balance().stamps());
        ps.setInt(2, card.balance().rewardsAvailable());
        ps.setInt(3, card.balance().rewardsEarnedTotal());
        ps.setObject(4, Rows.utc(card.lastStampAt()));
        ps.setString(5, card.cardId());
    }

    private static final String CARD_COLUMNS = "SELECT card_id, program_id, stamps, rewards_available, "
            + "rewards_earned_total, last_stamp_at, first_seen_at FROM cards";

    private static StoredCard cardRow(ResultSet rs) throws SQLException {
        return new StoredCard(rs.getString(1), rs.getString(2), new CardBalance(rs.getInt(3), rs.getInt(4), rs.getInt(5)),
                Rows.instant(rs, 6), Rows.instant(rs, 7));
    }
}
