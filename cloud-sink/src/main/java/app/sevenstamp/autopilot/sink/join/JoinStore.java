package app.sevenstamp.autopilot.sink.join;

import app.sevenstamp.autopilot.sink.store.SinkStore;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Optional;

/**
 * The {@code joined_cards} table (migration 13): one row per card issued on the join page. The card
 * itself needs no row (its code is self-authenticating and it gets its {@code cards} row with its
 * first stamp); this row is what lets the joiner open the web card again, and holds the contact
 * details the customer chose to give, if the program asked. Thread-safe (each call is one transaction).
 */
public final class JoinStore {
    private final SinkStore store;

    public JoinStore(SinkStore store) {
        this.store = store;
    }

    /**
     * Stores a new card with the hash of its link token, and forces it to the disk: the link was handed
     * out, so it must survive a crash.
     */
    public void insert(JoinedCard card, String linkHash) {
        store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement("INSERT INTO joined_cards (card_id, program_id, "
                    + "card_code, link_hash, joined_at, name, email, consent_text, consent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                ps.setString(1, card.cardId());
                ps.setString(2, card.programId());
                ps.setString(3, card.cardCode());
                ps.setString(4, linkHash);
                ps.setObject(5, utc(card.joinedAt()));
                ps.setString(6, card.name());
                ps.setString(7, card.email());
                ps.setString(8, card.consentText());
                ps.setObject(9, card.consentAt() == null ? null : utc(card.consentAt()));
                ps.executeUpdate();
            }
            return null;
        });
        store.sync();
    }

    /** The card, only when {@code token} is its link token: a card id alone gets nothing. */
    public Optional<JoinedCard> withLink(String cardId, String token) {
        return store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT card_id, program_id, card_code, joined_at, "
                    + "name, email, consent_text, consent_at, link_hash FROM joined_cards WHERE card_id = ?")) {
                ps.setString(1, cardId);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next() || !CardLinks.matches(token, rs.getString(9))) {
                        return Optional.empty();
                    }
                    OffsetDateTime consent = rs.getObject(8, OffsetDateTime.class);
                    return Optional.of(new JoinedCard(rs.getString(1), rs.getString(2), rs.getString(3),
                            rs.getObject(4, OffsetDateTime.class).toInstant(), rs.getString(5), rs.getString(6),
                            rs.getString(7), consent == null ? null : consent.toInstant()));
                }
            }
        });
    }

    /** Cards issued on the join page for a program. */
    public long count(String programId) {
        return store.transaction(tx -> {
            try (PreparedStatement ps = tx.connection().prepareStatement("SELECT COUNT(*) FROM joined_cards WHERE program_id = ?")) {
                ps.setString(1, programId);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }

    private static OffsetDateTime utc(Instant at) {
        return at.atOffset(ZoneOffset.UTC);
    }
}
