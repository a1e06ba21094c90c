package app.sevenstamp.autopilot.sink.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Objects;

/**
 * Which request each till's Idempotency-Key was first used for ({@code pos_requests}): a hash of
 * the route and the request's fields. The POS route answers a key only for that request, as the
 * IETF Idempotency-Key draft and Stripe do; before, a reused key with another card was answered
 * with the first card's stamp. Thread-safe; the database orders two instances binding one key.
 */
public final class PosRequests {
    private final SinkStore store;

    public PosRequests(SinkStore store) {
        this.store = Objects.requireNonNull(store, "store");
    }

    /**
     * Binds the key to {@code requestHash} if it is new; returns the hash it is bound to now: the
     * given one, or the first request's when the key was used before.
     *
     * @throws StoreException when the database fails
     */
    public String bind(String location, String idempotencyKey, String requestHash, Instant at) {
        return store.transaction(tx -> {
            Connection c = tx.connection();
            String bound = read(c, location, idempotencyKey);
            if (bound != null) {
                return bound;
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO pos_requests (location, idempotency_key, "
                    + "request_hash, created_at) VALUES (?, ?, ?, ?)")) {
                ps.setString(1, location);
                ps.setString(2, idempotencyKey);
                ps.setString(3, requestHash);
                ps.setObject(4, at.atOffset(ZoneOffset.UTC));
                ps.executeUpdate();
            } catch (SQLException e) {
                if (SinkStore.DUPLICATE_KEY.equals(e.getSQLState())) {
                    // another instance bound the key meanwhile: run again from the start, and read its hash
                    throw new SinkStore.Tx.Conflict("pos_requests " + location + "/" + idempotencyKey, e);
                }
                throw e;
            }
            return requestHash;
        });
    }

    private static String read(Connection c, String location, String idempotencyKey) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT request_hash FROM pos_requests WHERE location = ? AND idempotency_key = ?")) {
            ps.setString(1, location);
            ps.setString(2, idempotencyKey);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }
}
